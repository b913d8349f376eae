// Plain HTTP for the live pages' tests: a request with its whole reply, and the events of a page's event stream.
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { within } from './wait-until.js';

export interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

export function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export interface PageEvent {
  event: string;
  data: any;
}

/**
 * Reads a page's event stream until `done` says it has enough; returns the events seen. Rejects, rather than
 * waiting for the test's own timeout, on a reply that is not a 200 event stream (a 503 for one page too many), on
 * the stream's end before `done` (the server stopped), and after `timeoutMs`; `done` is asked after each chunk.
 */
export function readEvents(port: number, done: (events: PageEvent[]) => boolean, timeoutMs = 20_000): Promise<PageEvent[]> {
  const events: PageEvent[] = [];
  let req: ClientRequest | undefined;
  const reading = new Promise<PageEvent[]>((resolve, reject) => {
    req = request({ host: '127.0.0.1', port, path: '/events' }, (res) => {
      const type = res.headers['content-type'] ?? '';
      if (res.statusCode !== 200 || !/^text\/event-stream/.test(type)) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => reject(new Error(`/events answered ${res.statusCode} (${type || 'no content-type'}), not an event stream: ${body.slice(0, 300)}`)));
        res.on('error', reject);
        return;
      }
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        try {
          buffer += d;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (event && data) events.push({ event, data: JSON.parse(data) });
          }
          if (done(events)) resolve(events);
        } catch (err) {
          reject(err as Error);
        }
      });
      res.on('end', () => reject(new Error(`/events: stream ended after ${events.length} events, before the reader had enough`)));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  return within(reading, timeoutMs, `the events on port ${port}`)
    .catch((err: Error) => {
      throw err.message.startsWith('timed out') ? new Error(`${err.message} (${events.length} events so far)`) : err;
    })
    .finally(() => req?.destroy());
}
