// The HTTP endpoint of `schedule` and `local`: GET /status returns the launcher's view as JSON (tasks, states,
// agents, where the servers are), the topology page answers GET / (and its files and events); with --container
// fetch, GET /artifacts/<name> serves the bundle to the agents' fetchers. Read-only; anything else is 404/405.
import http from 'node:http';
import os from 'node:os';
import { hostPort, listenOn } from '../listen-address.js';
import type { PageHandler } from '../web/live-page.js';

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

/** --advertise-url: an http(s) URL without query or fragment, returned without a trailing slash. */
export function parseAdvertiseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`--advertise-url must be an http(s) URL like http://scheduler.example:8090, got '${value}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--advertise-url must use http or https, got '${value}'`);
  if (url.search || url.hash) throw new Error(`--advertise-url takes no query or fragment, got '${value}'`);
  return url.toString().replace(/\/+$/, '');
}

/**
 * The URL others reach the endpoint at when --advertise-url is not given: the --http host when it is a specific
 * address, else this machine's hostname (as Mesos agents name themselves), with the port it listens on.
 */
export function defaultAdvertiseUrl(listen: { host: string }, port: number, hostname = os.hostname()): string {
  const wildcard = listen.host === '0.0.0.0' || listen.host === '::' || listen.host === '';
  const host = wildcard ? hostname : listen.host;
  return `http://${hostPort(host, port)}`;
}

const ARTIFACT_PREFIX = '/artifacts/';

export async function startStatusServer(
  listen: { host: string; port: number },
  snapshot: () => unknown,
  artifacts: ReadonlyMap<string, Buffer> = new Map(),
  pages?: PageHandler,
): Promise<StatusServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (pages?.handle(path, req, res)) return;
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
    const artifact = path.startsWith(ARTIFACT_PREFIX) ? artifacts.get(path.slice(ARTIFACT_PREFIX.length)) : undefined;
    if (artifact) {
      // The fetcher asks for the size first (HEAD) to reserve room in its cache. The name is content-addressed,
      // so a copy never goes stale.
      res.writeHead(200, {
        'content-type': 'application/gzip', 'content-length': artifact.length, 'cache-control': 'public, max-age=31536000, immutable',
      }).end(req.method === 'HEAD' ? undefined : artifact);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /status\n');
  });
  const { port } = await listenOn(server, listen, '--http');
  return {
    port,
    close: () => new Promise<void>((done) => {
      server.closeAllConnections();
      server.close(() => done());
    }),
  };
}
