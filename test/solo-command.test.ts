// `serve --bitcoind ... --payout ...`: flag validation, credentials kept out of argv/logs/status, and the real
// process finding a block against the fake node.
import type { ChildProcess } from 'node:child_process';
import { Block, networks, payments } from 'bitcoinjs-lib';
import { afterEach, describe, expect, it } from 'vitest';
import { describeServeConfig, resolveServeConfig } from '../src/server/config.js';
import { FakeBitcoind } from './support/fake-bitcoind.js';
import { spawnCli } from './support/processes.js';
import { TestMiner } from './support/server-miner.js';
import { waitUntil } from './support/wait-until.js';

const REGTEST_ADDR = payments.p2wpkh({ hash: Buffer.alloc(20, 7), network: networks.regtest }).address!;
const MAINNET_ADDR = payments.p2wpkh({ hash: Buffer.alloc(20, 7), network: networks.bitcoin }).address!;
const noFile = (p: string): string => {
  throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
};

describe('serve solo configuration', () => {
  it('takes the node from --bitcoind and its credentials from the URL, the environment or a cookie file', () => {
    const inUrl = resolveServeConfig({ bitcoind: 'http://u:pw1@node:8332', payout: REGTEST_ADDR }, {}, noFile);
    expect(inUrl.solo).toEqual({ url: 'http://u:pw1@node:8332', payoutAddress: REGTEST_ADDR });
    expect(inUrl.pools).toEqual([]);
    const fromEnv = resolveServeConfig({ bitcoind: 'http://node:8332', payout: REGTEST_ADDR }, { MESOS_MINER_BITCOIND_URL: 'http://u:s3cr%40t@node:8332' }, noFile);
    expect(new URL(fromEnv.solo!.url).password).toBe('s3cr%40t');
    expect(new URL(fromEnv.solo!.url).host).toBe('node:8332');
    const envOnly = resolveServeConfig({ payout: REGTEST_ADDR }, { MESOS_MINER_BITCOIND_URL: 'http://u:envpw@10.0.0.5:18443' }, noFile);
    expect(envOnly.solo!.url).toBe('http://u:envpw@10.0.0.5:18443');
    const cookie = resolveServeConfig({ bitcoind: 'http://node:8332', bitcoindCookie: '/data/.cookie', payout: REGTEST_ADDR, coinbaseTag: '/me/' }, {}, noFile);
    expect(cookie.solo).toMatchObject({ cookieFile: '/data/.cookie', coinbaseTag: '/me/' });
    const shown = JSON.stringify(describeServeConfig(fromEnv));
    expect(shown).toContain('http://node:8332');
    expect(shown).not.toContain('s3cr');
  });

  it('rejects bad solo flags with a message naming the flag', () => {
    const bad = (flags: object, env: Record<string, string>, re: RegExp) => expect(() => resolveServeConfig(flags, env, noFile)).toThrow(re);
    bad({ bitcoind: 'http://u:p@n:1', payout: REGTEST_ADDR, pool: ['stratum+tcp://p:1'], user: 'u' }, {}, /mutually exclusive/);
    bad({ payout: REGTEST_ADDR }, {}, /solo mining needs --bitcoind/);
    bad({ bitcoind: 'http://u:p@n:1' }, {}, /needs --payout/);
    bad({ bitcoind: 'http://n:1', payout: REGTEST_ADDR }, {}, /has no credentials/);
    bad({ bitcoind: 'tcp://u:p@n:1', payout: REGTEST_ADDR }, {}, /must be http/);
    bad({ bitcoind: 'http://u:p@n:1', payout: '1BitcoinEaterAddressDontSendf59kuX' }, {}, /--payout .* is not a valid Bitcoin address/);
    bad({ bitcoind: 'http://u:p@n:1', payout: REGTEST_ADDR, coinbaseTag: 'x'.repeat(61) }, {}, /--coinbase-tag is 61 bytes/);
    bad({}, {}, /--pool/);
  });
});

describe('serve solo process', () => {
  let child: ChildProcess | undefined;
  let node: FakeBitcoind | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await node?.stop();
    node = undefined;
  });

  function serve(args: string[], env: Record<string, string> = {}) {
    const run = spawnCli(['serve', ...args], { env, fromSource: true });
    return { child: run.child, exited: run.exit.then((e) => e.code), logs: run.output };
  }

  it('mines a block through the node; RPC credentials never in logs or /status; SIGTERM exits 0', async () => {
    node = new FakeBitcoind({ transactions: [], height: 321 });
    await node.start();
    const p = serve(
      ['--bitcoind', node.endpoint, '--payout', REGTEST_ADDR, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--min-diff', '1/16777216', '--log-format', 'json'],
      { MESOS_MINER_BITCOIND_URL: node.url },
    );
    child = p.child;
    const lines = () => p.logs().split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return {}; } });
    const listen = await waitUntil(() => lines().find((l) => l.msg === 'miner server listening'), 'listening', 20_000);
    const httpLine = await waitUntil(() => lines().find((l) => l.msg === 'status and metrics over HTTP'), 'http', 5000);
    const m = await TestMiner.connect(Number(String(listen.address).split(':').pop()));
    try {
      await m.handshake('solo', 'x');
      expect(m.difficulty).toBe(2 ** -24); // --min-diff: regtest's network difficulty is far below it
      const share = m.find();
      expect((await m.submit(share.params)).result).toBe(true);
      await waitUntil(() => node!.submitted.length === 1, 'submitblock', 5000);
      expect(node.submitted[0]!.result).toBeNull();
      expect(Block.fromHex(node.submitted[0]!.hex).checkProofOfWork()).toBe(true);
      // The block counts once serve has asked the node whether it is on the best chain (after submitblock).
      const statusUrl = `http://127.0.0.1:${String(httpLine.address).split(':').pop()}/status`;
      const status = await waitUntil(async () => {
        const text = await (await fetch(statusUrl)).text();
        return JSON.parse(text).upstream.blocks === 1 && text;
      }, 'block counted in /status', 5000);
      expect(JSON.parse(status).upstream).toMatchObject({ kind: 'solo', blocks: 1, endpoint: node.endpoint });
      expect(status).not.toContain(node.password);
    } finally {
      m.close();
    }
    child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.logs()).toContain('block accepted by bitcoind');
    expect(p.logs()).not.toContain(node.password);
  });

  it('exits 2 on a bad payout address and 1 when the payout is for another network than the node', async () => {
    const bad = serve(['--bitcoind', 'http://u:p@127.0.0.1:1', '--payout', 'bc1qnotvalid', '--listen', '127.0.0.1:0']);
    expect(await bad.exited).toBe(2);
    expect(bad.logs()).toMatch(/--payout "bc1qnotvalid" is not a valid Bitcoin address/);

    node = new FakeBitcoind({ chain: 'regtest' });
    await node.start();
    const wrong = serve(['--bitcoind', node.url, '--payout', MAINNET_ADDR, '--listen', '127.0.0.1:0', '--log-format', 'json']);
    expect(await wrong.exited).toBe(1);
    expect(wrong.logs()).toMatch(/runs regtest: invalid regtest address/);
    expect(wrong.logs()).not.toContain(node.password);
  });
});
