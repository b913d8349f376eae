import { describe, expect, it } from 'vitest';
import { StratumProtocolError } from '../src/stratum/errors.js';
import {
  configureParams,
  notifyParams,
  parseConfigureResult,
  parseNotifyParams,
  parseReconnectParams,
  parseSetDifficultyParams,
  parseSetExtranonceParams,
  parseSetVersionMaskParams,
  parseSubmitParams,
  parseSubscribeResult,
  submitParams,
} from '../src/stratum/messages.js';

// A real mining.notify shape (values from block 125552's header: version 1, nbits 1a44b9f2, ntime 4dd7f5c7).
const NOTIFY = [
  'bf',
  '81cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000',
  '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff08',
  '072f736c7573682fffffffff0100f2052a010000001976a914aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa88ac00000000',
  ['cc'.repeat(32), 'DD'.repeat(32)],
  '00000001',
  '1a44b9f2',
  '4dd7f5c7',
  true,
];

describe('mining.notify', () => {
  it('parses every field, keeps hex as received (lower-cased) and decodes the uint32s', () => {
    const job = parseNotifyParams(NOTIFY);
    expect(job).toMatchObject({ jobId: 'bf', version: 1, nbits: 0x1a44b9f2, ntime: 0x4dd7f5c7, ntimeHex: '4dd7f5c7', cleanJobs: true });
    expect(job.merkleBranch).toEqual(['cc'.repeat(32), 'dd'.repeat(32)]);
    expect(notifyParams(job)).toEqual([...NOTIFY.slice(0, 4), ['cc'.repeat(32), 'dd'.repeat(32)], ...NOTIFY.slice(5)]);
  });

  it.each([
    ['too few params', NOTIFY.slice(0, 8), /at least 9 params/],
    ['empty job id', ['', ...NOTIFY.slice(1)], /job_id/],
    ['short prevhash', [NOTIFY[0], 'abcd', ...NOTIFY.slice(2)], /prevhash must be 32 bytes/],
    ['odd coinb1', [NOTIFY[0], NOTIFY[1], 'abc', ...NOTIFY.slice(3)], /coinb1 must be an even-length hex/],
    ['branch not an array', [...NOTIFY.slice(0, 4), 'cc', ...NOTIFY.slice(5)], /merkle_branch must be an array/],
    ['bad branch entry', [...NOTIFY.slice(0, 4), ['zz'], ...NOTIFY.slice(5)], /merkle_branch\[0\]/],
    ['bad version', [...NOTIFY.slice(0, 5), 1, ...NOTIFY.slice(6)], /version must be/],
    ['clean not boolean', [...NOTIFY.slice(0, 8), 'yes'], /clean_jobs must be a boolean/],
    ['not an array', { a: 1 }, /params must be an array/],
  ])('%s -> bad-params error naming the field', (_name, params, re) => {
    let err: unknown;
    try {
      parseNotifyParams(params);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StratumProtocolError);
    expect((err as StratumProtocolError).kind).toBe('bad-params');
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message).toMatch(/^mining\.notify: /);
  });
});

describe('mining.subscribe result', () => {
  it('reads the list-of-pairs form and takes the notify subscription id as the session id', () => {
    const r = parseSubscribeResult([[['mining.set_difficulty', 'd1'], ['mining.notify', 'ae6812eb4cd7735a302a8a9dd95cf71f']], '08000002', 4]);
    expect(r).toEqual({
      subscriptions: [['mining.set_difficulty', 'd1'], ['mining.notify', 'ae6812eb4cd7735a302a8a9dd95cf71f']],
      sessionId: 'ae6812eb4cd7735a302a8a9dd95cf71f',
      extranonce1: '08000002',
      extranonce2Size: 4,
    });
  });

  it('reads the single-pair and null forms', () => {
    expect(parseSubscribeResult([['mining.notify', 'abc'], 'ff', 8]).sessionId).toBe('abc');
    expect(parseSubscribeResult([null, 'ff', 8]).sessionId).toBeUndefined();
  });

  it.each([
    [[[], 'xyz', 4], /extranonce1/],
    [[[], 'ff', 0], /extranonce2_size/],
    [[[], 'ff', 17], /extranonce2_size/],
    [[[], 'ff'], /at least 3/],
    [true, /params must be an array/],
  ])('%j -> clear error', (result, re) => {
    expect(() => parseSubscribeResult(result)).toThrow(re);
  });
});

describe('set_difficulty / set_extranonce / set_version_mask / configure / reconnect', () => {
  it('accepts positive finite difficulties, including fractional and numeric strings', () => {
    expect(parseSetDifficultyParams([1024])).toBe(1024);
    expect(parseSetDifficultyParams([2 ** -16])).toBe(2 ** -16);
    expect(parseSetDifficultyParams(['512'])).toBe(512);
  });

  it.each([[[-1]], [[0]], [[null]], [['abc']], [[Infinity]], [[]], [['']]])('difficulty %j -> error', (params) => {
    expect(() => parseSetDifficultyParams(params)).toThrow(/mining.set_difficulty: (difficulty must be a positive finite number|expected at least 1)/);
  });

  it('set_extranonce', () => {
    expect(parseSetExtranonceParams(['AABBCCDD', 4])).toEqual({ extranonce1: 'aabbccdd', extranonce2Size: 4 });
    expect(() => parseSetExtranonceParams(['aabb', -1])).toThrow(/extranonce2_size/);
  });

  it('configure: request shape, granted mask ANDed with ours, refusals', () => {
    expect(configureParams()).toEqual([['version-rolling'], { 'version-rolling.mask': '1fffe000', 'version-rolling.min-bit-count': 2 }]);
    expect(parseConfigureResult({ 'version-rolling': true, 'version-rolling.mask': 'ffffffff' })).toEqual({ versionRolling: true, versionMask: 0x1fffe000 });
    expect(parseConfigureResult({ 'version-rolling': true, 'version-rolling.mask': '00ffe000' })).toEqual({ versionRolling: true, versionMask: 0x00ffe000 });
    expect(parseConfigureResult({ 'version-rolling': false })).toEqual({ versionRolling: false, versionMask: 0 });
    expect(parseConfigureResult({ 'version-rolling': true, 'version-rolling.mask': 'e0000000' })).toEqual({ versionRolling: false, versionMask: 0 });
    expect(() => parseConfigureResult({ 'version-rolling': true, 'version-rolling.mask': 'xyz' })).toThrow(/version mask/);
    expect(() => parseConfigureResult('yes')).toThrow(/result must be an object/);
    expect(parseSetVersionMaskParams(['1fffe000'])).toBe(0x1fffe000);
  });

  it('client.reconnect: all optional, validated when present', () => {
    expect(parseReconnectParams([])).toEqual({ waitSeconds: 0 });
    expect(parseReconnectParams(['pool.example.com', '3334', 5])).toEqual({ host: 'pool.example.com', port: 3334, waitSeconds: 5 });
    expect(() => parseReconnectParams(['evil host', 1])).toThrow(/host/);
    expect(() => parseReconnectParams(['h', 70000])).toThrow(/port/);
    expect(() => parseReconnectParams(['h', 1, 99999])).toThrow(/wait/);
  });
});

describe('mining.submit', () => {
  it('round-trips params (with and without version bits) and validates on the server side', () => {
    const share = { jobId: 'bf', extranonce2: '00000001', ntime: '4dd7f5c7', nonce: '9546a142' };
    expect(submitParams('wallet.w1', share)).toEqual(['wallet.w1', 'bf', '00000001', '4dd7f5c7', '9546a142']);
    expect(parseSubmitParams(submitParams('wallet.w1', { ...share, versionBits: '00002000' }))).toEqual({
      user: 'wallet.w1',
      share: { ...share, versionBits: '00002000' },
    });
    expect(() => parseSubmitParams(['u', 'bf', '00000001', '4dd7f5c7', '12'])).toThrow(/nonce must be 4 bytes/);
    expect(() => parseSubmitParams(['u', '', '00', '4dd7f5c7', '9546a142'])).toThrow(/job_id/);
  });
});
