// The pieces that keep a flood of shares bounded, on a fake clock: the token bucket, the miner's submit queue (rate,
// shares in flight, a bounded queue that keeps the best shares), the cap on repeated log lines and the share log.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/log.js';
import { ShareLog } from '../src/miner/share-log.js';
import { ShareStats } from '../src/miner/share-stats.js';
import { SubmitQueue, type QueuedShare } from '../src/miner/submit-queue.js';
import { TokenBucket } from '../src/token-bucket.js';

afterEach(() => {
  vi.useRealTimers();
});

/** Log lines written to a stream, parsed. */
function recordedLogger(options: Parameters<typeof createLogger>[0] = {}) {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { log: createLogger({ format: 'json', destination, ...options }), lines };
}

describe('TokenBucket', () => {
  it('starts full, refills at its rate, never holds more than its burst', () => {
    const b = new TokenBucket(10, 3, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.waitMs(0)).toBe(100);
    expect(b.take(100)).toBe(true);
    expect(b.take(100)).toBe(false);
    // A long pause refills only up to the burst.
    expect([b.take(10_000), b.take(10_000), b.take(10_000), b.take(10_000)]).toEqual([true, true, true, false]);
    expect(() => new TokenBucket(0, 1, 0)).toThrow(/positive/);
    expect(() => new TokenBucket(1, 0, 0)).toThrow(/>= 1/);
  });
});

describe('SubmitQueue', () => {
  interface S extends QueuedShare {
    id: number;
  }
  function setup(opts: { rate?: number; inFlight?: number; queued?: number } = {}) {
    vi.useFakeTimers();
    const sent: S[] = [];
    const answers: (() => void)[] = [];
    const dropped: S[] = [];
    const queue = new SubmitQueue<S>({
      ratePerSecond: opts.rate ?? 1000,
      maxInFlight: opts.inFlight ?? 100,
      maxQueued: opts.queued ?? 100,
      send: (s) => {
        sent.push(s);
        return new Promise<void>((resolve) => answers.push(resolve));
      },
      dropped: (s) => dropped.push(s),
      now: () => Date.now(),
    });
    const share = (id: number, hashValue = BigInt(id), cleanEpoch = 0): S => ({ id, hashValue, cleanEpoch });
    const answerAll = async () => {
      for (const a of answers.splice(0)) a();
      await vi.advanceTimersByTimeAsync(0);
    };
    return { queue, sent, dropped, share, answerAll };
  }

  it('sends at most maxInFlight unanswered shares; the next go out as answers come back', async () => {
    const { queue, sent, share, answerAll } = setup({ inFlight: 3 });
    for (let i = 0; i < 10; i++) queue.offer(share(i));
    expect(sent.map((s) => s.id)).toEqual([0, 1, 2]);
    expect([queue.sending, queue.queued]).toEqual([3, 7]);
    await answerAll();
    expect(sent.map((s) => s.id)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('paces sends at the rate (bursts of one second worth)', async () => {
    const { queue, sent, share, answerAll } = setup({ rate: 4 });
    for (let i = 0; i < 20; i++) queue.offer(share(i));
    expect(sent).toHaveLength(4);
    await answerAll();
    expect(sent).toHaveLength(4);
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent).toHaveLength(8);
    await vi.advanceTimersByTimeAsync(2000);
    expect(sent).toHaveLength(16);
    // Emptied (at shutdown): no timer is left waiting for the next token.
    expect(queue.removeAll()).toHaveLength(4);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('when full, drops the worst share (highest hash), the new one if it is the worst; admissionTarget asks for better', () => {
    const { queue, sent, dropped, share } = setup({ inFlight: 1, queued: 3 });
    queue.offer(share(1, 50n)); // sent at once
    queue.offer(share(2, 40n));
    queue.offer(share(3, 90n));
    expect(queue.admissionTarget).toBeUndefined();
    queue.offer(share(4, 70n));
    expect(queue.admissionTarget).toBe(89n);
    queue.offer(share(5, 95n)); // worse than all queued: dropped itself
    queue.offer(share(6, 10n)); // better: the worst queued (3, hash 90) goes
    expect(dropped.map((s) => s.id)).toEqual([5, 3]);
    expect(queue.admissionTarget).toBe(69n);
    expect(sent.map((s) => s.id)).toEqual([1]);
    expect(queue.queued).toBe(3);
  });

  it('removeStale takes out the shares of earlier clean epochs; idle() waits for the queue and the answers', async () => {
    const { queue, sent, share, answerAll } = setup({ inFlight: 1 });
    queue.offer(share(1, 1n, 0));
    queue.offer(share(2, 2n, 0));
    queue.offer(share(3, 3n, 1));
    expect(queue.removeStale(1).map((s) => s.id)).toEqual([2]);
    let idle = false;
    void queue.idle().then(() => (idle = true));
    await answerAll();
    expect(sent.map((s) => s.id)).toEqual([1, 3]);
    expect(idle).toBe(false);
    await answerAll();
    expect(idle).toBe(true);
    expect(queue.removeAll()).toEqual([]);
  });
});

describe('repeated log lines', () => {
  it('the same message more than N times a second is left out and reported once a second; others are untouched', async () => {
    vi.useFakeTimers();
    const { log, lines } = recordedLogger({ repeatsPerSecond: 5 });
    for (let i = 0; i < 1000; i++) log.info({ i }, 'block found');
    log.warn('something else');
    expect(lines.filter((l) => l.msg === 'block found')).toHaveLength(5);
    expect(lines.filter((l) => l.msg === 'something else')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    const report = lines.find((l) => l.msg.startsWith('log lines left out'));
    expect(report).toMatchObject({ level: 30, suppressed: 995, message: 'block found' });
    // A second later the message has its budget back.
    for (let i = 0; i < 10; i++) log.info('block found');
    expect(lines.filter((l) => l.msg === 'block found')).toHaveLength(10);
  });

  it('flushing the log (as shutdown does before exit) reports the lines held back at once', () => {
    const { log, lines } = recordedLogger({ repeatsPerSecond: 2 });
    for (let i = 0; i < 50; i++) log.info('share not forwarded');
    log.flush();
    expect(lines.find((l) => l.msg.startsWith('log lines left out'))).toMatchObject({ suppressed: 48, message: 'share not forwarded' });
  });

  it('Infinity turns the limit off', () => {
    const { log, lines } = recordedLogger({ repeatsPerSecond: Infinity });
    for (let i = 0; i < 100; i++) log.info('same');
    expect(lines).toHaveLength(100);
  });
});

describe('ShareStats', () => {
  it('keeps a bounded number of distinct rejection reasons (pools put job ids in them)', () => {
    const stats = new ShareStats();
    for (let job = 0; job < 1000; job++) {
      stats.submitted();
      stats.outcome({ status: 'rejected', error: { code: 21, message: `Stale job: ${job}` } });
    }
    const { rejected, rejectedByReason } = stats.snapshot();
    expect(rejected).toBe(1000);
    expect(Object.keys(rejectedByReason)).toHaveLength(21);
    expect(rejectedByReason['other reasons']).toBe(980);
  });
});

describe('ShareLog', () => {
  it('one line per share up to its rate, then only counts, summarised once a second', async () => {
    vi.useFakeTimers();
    const { log, lines } = recordedLogger({ repeatsPerSecond: Infinity });
    const shareLog = new ShareLog(log, 2, () => Date.now());
    const totals = new ShareStats().snapshot();
    const line = { outcome: 'accepted' as const, jobId: 'a1', nonce: '00000001', hashDifficulty: 1e-9, difficulty: 1e-10 };
    for (let i = 0; i < 50; i++) shareLog.share(line, totals);
    shareLog.share({ ...line, outcome: 'rejected', reason: '23 Low difficulty share' }, totals);
    shareLog.count('dropped', 700);
    shareLog.count('stale', 3);
    expect(lines.filter((l) => l.msg.startsWith('share accepted: '))).toHaveLength(4); // a burst of twice the rate
    await vi.advanceTimersByTimeAsync(1000);
    const summary = lines.filter((l) => l.msg.startsWith('shares without a line of their own'));
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({ level: 40, unlogged: { accepted: 46, rejected: 1, stale: 3, dropped: 700, unanswered: 0 } });
    expect(summary[0]!.msg).toMatch(/46 accepted, 1 rejected, 3 stale, 700 dropped/);
    shareLog.flush(); // nothing new: no line
    expect(lines.filter((l) => l.msg.startsWith('shares without'))).toHaveLength(1);
  });
});
