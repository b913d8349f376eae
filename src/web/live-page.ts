// A live page: one HTML page and its files, a ring of samples for its charts, and the open pages kept current over
// Server-Sent Events. Every tick a sample may go into the ring (whether or not a page is open, so the charts have
// hours of history when one opens), and the open pages get it with the current view: one message built per tick for
// all of them, none while no page is open. What is sampled and shown is the subclass's (serve's page, the topology
// page of schedule/local); this class knows nothing about mining.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebAssets } from './assets.js';
import { EventStream, sseMessage } from './event-stream.js';
import { SampleRing } from './sample-ring.js';

/** What an HTTP endpoint hands its requests to first: true when the page answered. */
export interface PageHandler {
  handle(path: string, req: IncomingMessage, res: ServerResponse): boolean;
}

/** One point of the charts: `t` in seconds since the epoch. */
export interface Sample {
  t: number;
  values: Record<string, number>;
}

export interface LivePageOptions {
  /** The page answered for GET / (a file of the assets, e.g. serve.html). */
  page: string;
  /** How often the pages are updated (and a sample may be taken). */
  tickMs: number;
  /** How far apart samples are (the ring's capacity is historySeconds / sampleSeconds). */
  sampleSeconds: number;
  historySeconds: number;
  /** Pages open at once at most (each holds an event stream). */
  maxPages: number;
  assets?: WebAssets;
}

export abstract class LivePage implements PageHandler {
  protected readonly ring: SampleRing;
  protected readonly stream: EventStream;
  private readonly assets: WebAssets;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: LivePageOptions) {
    this.ring = new SampleRing(Math.max(1, Math.round(options.historySeconds / options.sampleSeconds)));
    this.stream = new EventStream({ maxClients: options.maxPages });
    this.assets = options.assets ?? new WebAssets();
  }

  /** The sample to chart at this tick, or none. */
  protected abstract sample(now: number): Sample | undefined;

  /** What the page shows besides the charts. `init`: for a page that has just connected (it has nothing yet). */
  abstract view(now: number, kind: 'init' | 'update'): unknown;

  start(): void {
    this.timer ??= setInterval(() => this.tick(Date.now()), this.options.tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stream.closeAll();
  }

  /** GET /, /assets/*, /events; false for any other path. */
  handle(path: string, req: IncomingMessage, res: ServerResponse): boolean {
    if (path === '/') this.assets.page(req, res, this.options.page);
    else if (path === '/events') this.stream.open(req, res, () => this.initMessage(Date.now()));
    else return this.assets.serve(req, res, path);
    return true;
  }

  /** Takes this tick's sample; pushes it with the current view to the open pages. Public for tests (no timers). */
  tick(now: number): void {
    const sample = this.sample(now);
    if (sample) this.ring.push(sample.t, sample.values);
    if (this.stream.size > 0) this.stream.broadcast(sseMessage('update', JSON.stringify({ ...(sample ? { sample } : {}), view: this.view(now, 'update') })));
  }

  private initMessage(now: number): string {
    const history = { intervalSeconds: this.options.sampleSeconds, capacity: this.ring.capacity, ...this.ring.toJSON() };
    return sseMessage('init', JSON.stringify({ history, view: this.view(now, 'init') }));
  }
}
