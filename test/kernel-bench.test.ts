import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatBenchTable, parseDuration, parseKernelSelection, parseThreadsList, runBench } from '../src/kernel/bench.js';
import type { BenchReport } from '../src/kernel/bench.js';
import type { KernelName } from '../src/kernel/types.js';

function collector() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('bench option parsing', () => {
  it('parses thread lists and auto', () => {
    expect(parseThreadsList('auto')).toBe('auto');
    expect(parseThreadsList('4,1,2,2')).toEqual([1, 2, 4]);
    expect(parseThreadsList(' 3 ')).toEqual([3]);
  });
  it.each(['', '0', '1,x', '2.5', '-1', '10000', '1,,2'])('rejects --threads "%s"', (value) => {
    expect(() => parseThreadsList(value)).toThrow(/--threads/);
  });
  it('parses kernel and duration', () => {
    for (const k of ['auto', 'all', 'simd8', 'simd', 'scalar']) expect(parseKernelSelection(k)).toBe(k);
    expect(() => parseKernelSelection('both')).toThrow(/--kernel must be auto, all, simd8, simd, scalar, got "both"/);
    expect(parseDuration('2.5')).toBe(2.5);
    for (const bad of ['0', '-1', 'abc', '', '99999']) expect(() => parseDuration(bad)).toThrow(/--duration/);
  });
});

describe('runBench', () => {
  it('proves the kernel, measures, and prints one JSON document', async () => {
    const out = collector();
    const progress = collector();
    const report = await runBench({
      threads: [2], kernel: 'scalar', duration: 0.4, json: true, out: out.stream, progress: progress.stream, baselineSeconds: 0.2,
    });
    const parsed = JSON.parse(out.text()) as BenchReport;
    expect(parsed).toEqual(JSON.parse(JSON.stringify(report)));
    expect(parsed.correctness).toEqual([expect.objectContaining({ kernel: 'scalar', block: 782571, found: [3072930924] })]);
    expect(parsed.baseline.mhs).toBeGreaterThan(0);
    expect(parsed.results.map((r) => [r.kernel, r.threads, r.requested])).toEqual([['scalar', 1, false], ['scalar', 2, true]]);
    for (const r of parsed.results) {
      expect(r.hashes).toBeGreaterThan(0);
      expect(r.mhs).toBeCloseTo(r.hashes / r.seconds / 1e6, 6);
      expect(r.vsBaseline).toBeCloseTo(r.mhs / parsed.baseline.mhs, 6);
    }
    expect(parsed.results[0].scalingEfficiency).toBe(1);
    expect(progress.text()).toBe(''); // json to a non-terminal: no progress noise
    const table = formatBenchTable(report);
    expect(table).toMatch(/kernel\s+threads\s+MH\/s\s+MH\/s\/thread\s+scaling\s+vs naive/);
    // The build the miner would pick here is marked: its rows are the figures a miner gets.
    const pickedHere = (autoKernel: KernelName) => formatBenchTable({ ...report, machine: { ...report.machine, autoKernel } });
    expect(pickedHere('scalar')).toMatch(/\nscalar \(auto\)\s+1\*\s+[\d.]+\s+[\d.]+\s+100%/);
    expect(pickedHere('simd')).toMatch(/\nscalar\s+1\*\s+[\d.]+\s+[\d.]+\s+100%/);
    expect(pickedHere('simd')).not.toContain('(auto)');
  });
});
