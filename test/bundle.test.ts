// The deployment bundle (`mesos-miner bundle`, `schedule --container fetch`): a reproducible .tar.gz that runs with
// plain node wherever it is extracted, including to make the same bundle again (an installed copy), and a task
// that is not the bundle its scheduler expects stops at once.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, readBundle, type Bundle } from '../src/bundle/bundle.js';
import { productionPackages } from '../src/bundle/dependencies.js';
import { bundleMismatch, expectedBundle } from '../src/bundle/expect.js';
import { readTar, TAR_END, tarEntry } from '../src/bundle/tar.js';
import { runNode } from './support/processes.js';

const run = promisify(execFile);

/** The extracted bundle's CLI with plain node, in a clean environment (only PATH and `env`). */
const runBundled = (args: string[], options: { cwd: string; env?: Record<string, string> }) =>
  runNode(args, { cwd: options.cwd, env: { PATH: process.env.PATH ?? '', ...options.env } });

describe('tar', () => {
  it('writes ustar entries that tar lists and reads back, a PAX path record for long paths', async () => {
    const long = `top/${'deep/'.repeat(25)}file.js`;
    const entries = [
      { path: 'top/', type: 'dir' as const, mode: 0o755 },
      { path: 'top/a.txt', type: 'file' as const, mode: 0o644, data: Buffer.from('hello\n') },
      { path: long, type: 'file' as const, mode: 0o755, data: Buffer.alloc(513, 7) },
    ];
    const tar = Buffer.concat([...entries.flatMap(tarEntry), TAR_END]);
    const back = readTar(tar).entries;
    expect(back.map((e) => [e.path, e.type, e.mode, e.data?.length])).toEqual([['top/', 'dir', 0o755, undefined], ['top/a.txt', 'file', 0o644, 6], [long, 'file', 0o755, 513]]);
    const dir = mkdtempSync(join(tmpdir(), 'mm-tar-'));
    try {
      const file = join(dir, 'x.tar.gz');
      writeFileSync(file, gzipSync(tar));
      const { stdout } = await run('tar', ['-tvzf', file]);
      expect(stdout).toContain(long);
      expect(stdout).toMatch(/-rw-r--r-- 0\/0 +6 1970-01-01 00:00 top\/a\.txt/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('production dependencies', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'mm-deps-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function pkg(at: string, manifest: Record<string, unknown>): void {
    mkdirSync(at, { recursive: true });
    writeFileSync(join(at, 'package.json'), JSON.stringify(manifest));
  }

  it('follows dependencies as Node resolves them: nested copies stay nested, npm-hoisted ones join the bundle\'s node_modules', () => {
    // A project that installed mesos-miner as a dependency: most of its tree hoisted above it.
    const project = join(dir, 'project');
    const root = join(project, 'node_modules', 'mesos-miner');
    pkg(root, { name: 'mesos-miner', dependencies: { a: '1', '@s/b': '1' }, devDependencies: { dev: '1' } });
    pkg(join(project, 'node_modules', 'a'), { name: 'a', dependencies: { c: '2' }, optionalDependencies: { absent: '1' }, peerDependencies: { p: '1' } });
    pkg(join(project, 'node_modules', 'a', 'node_modules', 'c'), { name: 'c', version: '2' });
    pkg(join(project, 'node_modules', 'c'), { name: 'c', version: '1' });
    pkg(join(root, 'node_modules', '@s', 'b'), { name: '@s/b', dependencies: { c: '1' } });
    pkg(join(project, 'node_modules', 'p'), { name: 'p' });
    pkg(join(project, 'node_modules', 'dev'), { name: 'dev' });
    expect(productionPackages(root).map((p) => p.to)).toEqual([
      'node_modules/@s/b', 'node_modules/a', 'node_modules/a/node_modules/c', 'node_modules/c', 'node_modules/p',
    ]);
  });

  it('refuses a tree that cannot be laid out (two copies in one place), a missing dependency and a symlinked package', () => {
    const project = join(dir, 'clash');
    const root = join(project, 'node_modules', 'mesos-miner');
    pkg(root, { name: 'mesos-miner', dependencies: { a: '1', c: '1' } });
    pkg(join(root, 'node_modules', 'c'), { name: 'c', version: '1' });
    pkg(join(project, 'node_modules', 'a'), { name: 'a', dependencies: { c: '2' } });
    pkg(join(project, 'node_modules', 'c'), { name: 'c', version: '2' });
    expect(() => productionPackages(root)).toThrow(/two copies of c would both go to node_modules\/c/);

    const missing = join(dir, 'missing');
    pkg(missing, { name: 'mesos-miner', dependencies: { gone: '1' } });
    expect(() => productionPackages(missing)).toThrow(/gone, a dependency of mesos-miner, is not installed/);

    const linked = join(dir, 'linked');
    pkg(linked, { name: 'mesos-miner', dependencies: { l: '1' } });
    pkg(join(dir, 'elsewhere', 'l'), { name: 'l' });
    mkdirSync(join(linked, 'node_modules'));
    symlinkSync(join(dir, 'elsewhere', 'l'), join(linked, 'node_modules', 'l'));
    expect(() => productionPackages(linked)).toThrow(/is a symbolic link/);
  });
});

describe('the version check of a fetched task', () => {
  const manifest = { name: 'mesos-miner' as const, version: '0.1.0', digest: 'ab'.repeat(32) };
  it('passes the same version and contents, and says what differs otherwise', () => {
    expect(bundleMismatch(expectedBundle('0.1.0', manifest.digest), '0.1.0', manifest)).toBeUndefined();
    expect(bundleMismatch('0.1.0', '0.1.0', undefined)).toBeUndefined();
    expect(bundleMismatch('0.2.0', '0.1.0', manifest)).toBe('this is mesos-miner 0.1.0 (bundle abababababababab), the scheduler expects mesos-miner 0.2.0');
    expect(bundleMismatch('0.1.0+cdcdcdcdcdcdcdcd', '0.1.0', manifest)).toMatch(/expects mesos-miner 0\.1\.0 \(bundle cdcdcdcdcdcdcdcd\)/);
    expect(bundleMismatch('0.1.0+cdcdcdcdcdcdcdcd', '0.1.0', undefined)).toMatch(/this is mesos-miner 0\.1\.0 \(not from a bundle\)/);
  });
});

describe('the bundle', () => {
  let dir: string;
  let bundle: Bundle;
  let cli: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mm-bundle-'));
    bundle = buildBundle();
    writeFileSync(join(dir, bundle.fileName), bundle.bytes);
    await run('tar', ['-xzf', join(dir, bundle.fileName), '-C', dir]);
    cli = join(dir, 'mesos-miner', 'dist', 'cli.js');
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is reproducible: built twice, the same bytes; it reads back with its manifest and a content-addressed name', () => {
    const again = buildBundle();
    expect(again.sha256).toBe(bundle.sha256);
    expect(again.bytes.equals(bundle.bytes)).toBe(true);
    const back = readBundle(bundle.bytes);
    expect(back.manifest).toEqual(bundle.manifest);
    expect(bundle.manifest.version).toBe(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
    expect(bundle.fileName).toBe(`mesos-miner-${bundle.manifest.version}-${bundle.manifest.digest.slice(0, 16)}.tar.gz`);
    const paths = readTar(gunzipSync(bundle.bytes)).entries.map((e) => e.path);
    expect(paths[0]).toBe('mesos-miner/bundle.json');
    expect(paths).toEqual(expect.arrayContaining(['mesos-miner/dist/cli.js', 'mesos-miner/build/kernel-simd.wasm', 'mesos-miner/proto/mesos.proto', 'mesos-miner/node_modules/piscina/package.json']));
    // Production dependencies only, without what Node never loads (type declarations, source maps).
    expect(paths.filter((p) => /node_modules\/(vitest|typescript|assemblyscript)\//.test(p))).toEqual([]);
    expect(paths.filter((p) => /\.d\.[cm]?ts$|\.map$/.test(p))).toEqual([]);
  });

  it('refuses what is not a bundle, and a damaged one', () => {
    expect(() => readBundle(Buffer.from('nope'))).toThrow(/not a gzip file/);
    expect(() => readBundle(gzipSync(Buffer.concat([...tarEntry({ path: 'x', type: 'file', mode: 0o644, data: Buffer.from('x') }), TAR_END]))))
      .toThrow(/not a mesos-miner bundle/);
    const tar = gunzipSync(bundle.bytes);
    tar[readTar(tar).entries[0]!.end + 5] ^= 1; // a byte of the next entry's path
    expect(() => readBundle(gzipSync(tar))).toThrow(/damaged/);
  });

  it('runs with plain node where it is extracted: bench, mine --help', async () => {
    const help = await runBundled([cli, 'mine', '--help'], { cwd: dir });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: mesos-miner mine/);
    const bench = await runBundled([cli, 'bench', '--duration', '1', '--threads', '1', '--kernel', 'scalar', '--json'], { cwd: dir });
    expect(bench.code).toBe(0);
    const report = JSON.parse(bench.stdout) as { correctness: Array<{ found: string[]; expectedNonce: string }>; results: Array<{ hashes: number }> };
    for (const check of report.correctness) expect(check.found).toEqual([check.expectedNonce]);
    expect(report.results[0]!.hashes).toBeGreaterThan(0);
  }, 60_000);

  it('an extracted bundle (an installed copy without dev dependencies) makes the same bundle again', async () => {
    const out = join(dir, 'again');
    mkdirSync(out);
    const made = await runBundled([cli, 'bundle', '-o', out], { cwd: dir });
    expect(made.code).toBe(0);
    expect(made.stdout).toBe(`${bundle.sha256}  ${join(out, bundle.fileName)}\n`);
    expect(readFileSync(join(out, bundle.fileName)).equals(bundle.bytes)).toBe(true);
  }, 60_000);

  it('started as the expected bundle it runs; as another one it stops at once with both names (exit 1)', async () => {
    const digest = bundle.manifest.digest.slice(0, 16);
    const same = await runBundled([cli, 'mine', '--help'], { cwd: dir, env: { MESOS_MINER_EXPECT_BUNDLE: `${bundle.manifest.version}+${digest}` } });
    expect(same.code).toBe(0);
    const other = await runBundled([cli, 'mine', '--help'], { cwd: dir, env: { MESOS_MINER_EXPECT_BUNDLE: `${bundle.manifest.version}+0123456789abcdef` } });
    expect(other.code).toBe(1);
    expect(other.stdout).toBe('');
    expect(other.stderr).toBe(`error: MESOS_MINER_EXPECT_BUNDLE: this is mesos-miner ${bundle.manifest.version} (bundle ${digest}), the scheduler expects `
      + `mesos-miner ${bundle.manifest.version} (bundle 0123456789abcdef); the fetched bundle is not the scheduler's (check --bundle-uri)\n`);
  }, 60_000);

  it('bundle -o into a missing directory is a usage error (exit 2)', async () => {
    const bad = await runBundled([cli, 'bundle', '-o', join(dir, 'nowhere', 'b.tar.gz')], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--output: directory .*nowhere does not exist/);
  });
});
