// The bench command as users run it: the built CLI in a child process.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI_PATH, runNode } from './support/processes.js';

const bench = (...args: string[]) => runNode([CLI_PATH, 'bench', ...args]);

describe('mesos-miner bench', () => {
  it('proves the kernel on a real block and reports one JSON document', async () => {
    const { code, stdout } = await bench('--threads', '1', '--kernel', 'all', '--duration', '0.3', '--json');
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.correctness.map((c: { kernel: string }) => c.kernel).sort()).toEqual([...report.machine.kernels].sort());
    for (const check of report.correctness) expect(check.found).toEqual([check.expectedNonce]);
    expect(report.results).toHaveLength(report.machine.kernels.length);
    for (const row of report.results) {
      expect(row.threads).toBe(1);
      expect(row.hashes).toBeGreaterThan(0);
      expect(row.mhs).toBeCloseTo(row.hashes / row.seconds / 1e6, 6);
    }
    expect(report.baseline.mhs).toBeGreaterThan(0);
    // The runtime and the CPU the figures belong to.
    expect(report.machine).toMatchObject({ node: process.version, v8: process.versions.v8, arch: process.arch });
    expect(report.machine.cpuVendor).toEqual(expect.any(String));
    expect(report.machine.kernels).toContain(report.machine.autoKernel);
    expect(report.machine.loadAverage.end).toHaveLength(3);
    expect(report.machine.otherCores).toBeGreaterThanOrEqual(0);
  });

  it.runIf(existsSync('/proc/stat'))('says how many cores other processes kept busy during the run, and that the figures are not comparable then', async () => {
    // Another process spinning for the whole run: at least a third of a core of it is seen, however busy the machine.
    const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    try {
      const { code, stdout } = await bench('--threads', '1', '--kernel', 'scalar', '--duration', '1');
      expect(code).toBe(0);
      const [, cores] = /other processes used (\d+\.\d+) cores during the run \(figures are not comparable\)/.exec(stdout) ?? [];
      expect(Number(cores)).toBeGreaterThan(0.33);
    } finally {
      hog.kill('SIGKILL');
    }
  });

  it.each([
    [['--threads', '0'], /--threads: threads must be an integer in 1\.\.256, got 0/],
    [['--threads', '1,x'], /"x" is not a whole number/],
    [['--threads', '100000'], /threads must be an integer in 1\.\.256/],
    [['--kernel', 'avx'], /--kernel must be auto, all, simd8, simd, scalar, got "avx"/],
    [['--duration', '-1'], /--duration must be a number of seconds/],
    [['--bogus'], /unknown option '--bogus'/],
    [['--threads'], /option '-t, --threads <list>' argument missing/],
    [['extra'], /too many arguments for 'bench'/],
  ])('rejects %j with a clear error and exit code 2 (usage)', async (args, message) => {
    const { code, stdout, stderr } = await bench(...args);
    expect(code).toBe(2);
    expect(stderr).toMatch(/\(add --help for usage\)/);
    expect(stderr).toMatch(message);
    expect(stdout).toBe('');
  });
});
