import { describe, expect, it } from 'vitest';
import { HashrateMeter, formatHashrate } from '../src/kernel/hashrate.js';

describe('HashrateMeter', () => {
  it('gives the run average and decaying averages that converge to a steady rate', () => {
    let now = 0;
    const meter = new HashrateMeter(() => now);
    // 6 MH/s for 60 s, reported every 100 ms.
    for (let i = 0; i < 600; i++) {
      now += 100;
      meter.record(600_000);
    }
    const s = meter.snapshot();
    expect(s.total).toBe(360_000_000);
    expect(s.elapsedSeconds).toBe(60);
    expect(s.average).toBeCloseTo(6e6, 0);
    // Every window shows the steady rate, the long ones too although less than a window has passed
    // (bias-corrected: a fresh 15-minute average does not climb from zero).
    // (within 2%: a report adds its nonces at once, a small sawtooth on the 5 s window)
    for (const avg of [s.avg5s, s.avg1m, s.avg15m]) expect(Math.abs(avg / 6e6 - 1)).toBeLessThan(0.02);
  });

  it('shows the real rate seconds after a start on every window', () => {
    let now = 0;
    const meter = new HashrateMeter(() => now);
    for (let i = 0; i < 6; i++) { now += 500; meter.record(3_000_000); } // 6 MH/s for 3 s
    const s = meter.snapshot();
    for (const avg of [s.avg5s, s.avg1m, s.avg15m]) expect(avg / 6e6).toBeGreaterThan(0.8);
    for (const avg of [s.avg5s, s.avg1m, s.avg15m]) expect(avg / 6e6).toBeLessThan(1.25);
  });

  it('follows a rate change faster on the short window, and decays over silence', () => {
    let now = 0;
    const meter = new HashrateMeter(() => now);
    for (let i = 0; i < 300; i++) { now += 1000; meter.record(1_000_000); }
    for (let i = 0; i < 10; i++) { now += 1000; meter.record(0); }
    const after = meter.snapshot();
    expect(after.avg5s).toBeLessThan(0.2e6);
    expect(after.avg1m).toBeGreaterThan(0.8e6);
    now += 5000;
    expect(meter.snapshot().avg5s).toBeLessThan(after.avg5s);
  });

  it('handles records at the same instant and rejects bad input', () => {
    let now = 0;
    const meter = new HashrateMeter(() => now);
    meter.record(500);
    now = 1000;
    meter.record(500);
    expect(meter.snapshot().total).toBe(1000);
    expect(meter.snapshot().avg5s).toBeGreaterThan(0);
    expect(() => meter.record(-1)).toThrow(/non-negative/);
    expect(() => meter.record(1, 10)).toThrow(/before the previous/);
  });

  it('formats rates with units', () => {
    expect(formatHashrate(6_420_000)).toBe('6.42 MH/s');
    expect(formatHashrate(950)).toBe('950.00 H/s');
    expect(formatHashrate(2.5e12)).toBe('2.50 TH/s');
  });
});
