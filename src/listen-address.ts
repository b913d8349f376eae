// Where a new read-only listener binds: host:port, [v6]:port, or a port alone, which means 127.0.0.1. What a flag
// opens is reachable from this machine only unless its host says otherwise (0.0.0.0 for every interface).
import type { AddressInfo, Server } from 'node:net';

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListenAddress(flag: string, value: string): ListenAddress {
  const text = value.trim();
  const m = /^(\d{1,5})$/.exec(text) ?? /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) throw new Error(`${flag} must be a port (this machine only) or host:port (e.g. 0.0.0.0:4028 for every interface), got '${value}'`);
  const [host, port] = m.length === 2 ? ['127.0.0.1', Number(m[1])] : [m[1] ?? m[2]!, Number(m[3])];
  if (port > 65535) throw new Error(`${flag}: port ${port} out of range 0-65535`);
  return { host, port };
}

/** host:port as a URL's authority or a -o address: an IPv6 host in brackets. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Starts `server` listening; a failure (port in use) rejects with an error that says what could not listen where. */
export async function listenOn(server: Server, { host, port }: ListenAddress, what: string, backlog?: number): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(new Error(`cannot listen for ${what} on ${hostPort(host, port)}: ${err.message}`));
    server.once('error', onError);
    server.listen({ port, host, ...(backlog !== undefined ? { backlog } : {}) }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}
