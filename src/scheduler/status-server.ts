// The operators' HTTP endpoint of `schedule` and `local`: GET /status returns the launcher's view as JSON
// (tasks, states, agents, where the server is). Read-only; anything else is 404/405.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StatusServer {
  port: number;
  close(): Promise<void>;
}

export function parseHostPort(value: string, flag: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(value);
  const port = match ? Number(match[2]) : NaN;
  if (!match || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${flag} must be host:port with a port 0-65535, got '${value}'`);
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

export function startStatusServer(listen: { host: string; port: number }, snapshot: () => unknown): Promise<StatusServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/status') {
      let body: string;
      try {
        body = JSON.stringify(snapshot(), null, 2) + '\n';
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`status unavailable: ${(err as Error).message}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /status\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on ${listen.host}:${listen.port} for --http: ${err.message}`)));
    server.listen(listen.port, listen.host, () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        port,
        close: () => new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}
