// The stats endpoint: GET /status (JSON), GET /metrics (Prometheus text), GET /health (200, or 503 when the
// server is unhealthy: what the Mesos health check probes), and a live page when one is given. Read-only;
// anything else is 404/405.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { listenOn } from '../listen-address.js';
import { silentLogger, type Logger } from '../log.js';
import type { HealthReport } from './upstream-health.js';

export interface StatusHttpOptions {
  host: string;
  port: number;
  /** The /status document; `minerLimit` comes from ?miners=N (default 1000, "all" for no limit). */
  status: (minerLimit: number) => unknown;
  registry: Registry;
  /** The live page and its files (GET /, /assets/*, /events); answers true for the paths it serves. */
  pages?: { handle(path: string, req: IncomingMessage, res: ServerResponse): boolean };
  /** GET /health (and /healthz): 200 when healthy, 503 otherwise; always 200 without it. */
  health?: () => HealthReport;
  logger?: Logger;
}

export class StatusHttpServer {
  private readonly server: Server;
  private readonly log: Logger;

  constructor(private readonly options: StatusHttpOptions) {
    this.log = options.logger ?? silentLogger;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        this.log.error({ err: err.message, url: req.url }, 'status request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    this.server.keepAliveTimeout = 5000;
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 10_000;
  }

  listen(): Promise<AddressInfo> {
    return listenOn(this.server, this.options, 'HTTP');
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://status.local');
    const path = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('method not allowed\n');
      return;
    }
    if (this.options.pages?.handle(path, req, res)) return;
    if (path === '/status') {
      const raw = url.searchParams.get('miners') ?? '1000';
      const limit = raw === 'all' ? Infinity : Number(raw);
      if (!(limit >= 0) || (limit !== Infinity && !Number.isInteger(limit))) {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end(`bad ?miners=${raw.slice(0, 20)}: a whole number or "all"\n`);
        return;
      }
      const body = JSON.stringify(this.options.status(limit), null, 2) + '\n';
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (path === '/metrics') {
      const body = await this.options.registry.metrics();
      res.writeHead(200, { 'content-type': this.options.registry.contentType });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (path === '/health' || path === '/healthz') {
      const report = this.options.health?.() ?? { healthy: true };
      res.writeHead(report.healthy ? 200 : 503, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify(report) + '\n');
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok: see /status, /metrics and /health\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: try /status, /metrics or /health\n');
  }
}
