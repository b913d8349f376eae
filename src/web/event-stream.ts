// Server-Sent Events to the open live pages: one serialised message written to every client. Bounded: at most
// `maxClients` pages at once (503 beyond), and a page that does not read (its unsent output over `maxBufferedBytes`)
// is dropped rather than buffered without end. EventSource reconnects by itself after `retryMs`.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface EventStreamOptions {
  maxClients?: number;
  maxBufferedBytes?: number;
  retryMs?: number;
}

/** One SSE message; `data` is JSON without newlines (JSON.stringify without indentation). */
export function sseMessage(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`;
}

export class EventStream {
  private readonly clients = new Set<ServerResponse>();
  private readonly maxClients: number;
  private readonly maxBufferedBytes: number;
  private readonly retryMs: number;

  constructor(options: EventStreamOptions = {}) {
    this.maxClients = options.maxClients ?? 32;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 8 << 20;
    this.retryMs = options.retryMs ?? 3000;
  }

  get size(): number {
    return this.clients.size;
  }

  /** Starts a stream; `first` is written before anything else (the page's initial state). */
  open(req: IncomingMessage, res: ServerResponse, first: () => string): void {
    if (this.clients.size >= this.maxClients) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '10' });
      res.end(`too many live pages open (${this.maxClients})\n`);
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no', // a reverse proxy must not hold the stream back
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.write(`retry: ${this.retryMs}\n\n`);
    res.write(first());
    this.clients.add(res);
    const drop = () => this.clients.delete(res);
    req.on('close', drop);
    res.on('close', drop);
    res.on('error', drop);
  }

  broadcast(message: string): void {
    for (const res of this.clients) {
      if (res.writableLength > this.maxBufferedBytes) {
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(message);
    }
  }

  closeAll(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
