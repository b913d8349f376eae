import { randomBytes } from 'node:crypto';
import { address as bjsAddress, networks, script as bjsScript } from 'bitcoinjs-lib';
import { describe, expect, it } from 'vitest';
import { addressToScript } from '../src/bitcoin/address.js';
import { base58CheckDecode, base58CheckEncode, base58Decode, base58Encode } from '../src/bitcoin/base58.js';
import { bech32Decode } from '../src/bitcoin/bech32.js';
import { bip34HeightPush, pushData, scriptNumber } from '../src/bitcoin/script.js';
import { decodeVarint, encodeVarint } from '../src/bitcoin/varint.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('addresses -> output scripts', () => {
  // Public vectors: the genesis coinbase's address, BIP 13/16 style P2SH, BIP 173 and BIP 350 examples.
  const vectors: [string, 'mainnet' | 'testnet', string][] = [
    ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', 'mainnet', '76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac'],
    ['3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy', 'mainnet', 'a914b472a266d0bd89c13706a4132ccfb16f7c3b9fcb87'],
    ['BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', 'mainnet', '0014751e76e8199196d454941c45d1b3a323f1433bd6'],
    [
      'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7',
      'testnet',
      '00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262',
    ],
    [
      'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0',
      'mainnet',
      '512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798',
    ],
  ];

  it.each(vectors)('%s (%s)', (addr, network, scriptHex) => {
    expect(hex(addressToScript(addr, network))).toBe(scriptHex);
  });

  it('agrees with bitcoinjs-lib on random P2PKH, P2SH, P2WPKH, P2WSH addresses of every network', () => {
    const nets = { mainnet: networks.bitcoin, testnet: networks.testnet, regtest: networks.regtest } as const;
    for (const [name, net] of Object.entries(nets) as [keyof typeof nets, (typeof nets)[keyof typeof nets]][]) {
      for (let i = 0; i < 20; i++) {
        const h20 = randomBytes(20);
        const h32 = randomBytes(32);
        for (const addr of [
          bjsAddress.toBase58Check(h20, net.pubKeyHash),
          bjsAddress.toBase58Check(h20, net.scriptHash),
          bjsAddress.toBech32(h20, 0, net.bech32),
          bjsAddress.toBech32(h32, 0, net.bech32),
        ]) {
          expect(hex(addressToScript(addr, name)), addr).toBe(hex(bjsAddress.toOutputScript(addr, net)));
        }
      }
    }
  });

  it('decodes bitcoinjs-lib\'s bech32m (taproot) encodings', () => {
    for (let i = 0; i < 20; i++) {
      const key = randomBytes(32);
      const addr = bjsAddress.toBech32(key, 1, 'bc');
      expect(hex(addressToScript(addr))).toBe('5120' + hex(key));
    }
  });

  it('rejects broken, foreign and mis-encoded addresses with a clear message', () => {
    const cases: [string, RegExp][] = [
      ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb', /bad checksum/],
      ['1A1zP1eP5QGefi2DMPTfTL5SLmv7Div0Na', /invalid character/],
      ['mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn', /not a mainnet address/],
      ['tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7', /not a mainnet address|checksum|base58/],
      ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5', /bad checksum/],
      ['bc1qw508d6qejxtdg4Y5r3zarvary0c5xw7kv8f3t4', /mixed case/],
      // The same taproot program with a bech32 (not bech32m) checksum: valid checksum, wrong variant (BIP 350).
      ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd', /v1 must use bech32m/],
      ['', /empty/],
    ];
    for (const [addr, pattern] of cases) {
      expect(() => addressToScript(addr, 'mainnet'), addr).toThrow(pattern);
    }
    expect(() => addressToScript('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', 'moonnet' as never)).toThrow(/unknown network/);
  });
});

describe('base58 and bech32 primitives', () => {
  it('base58 round-trips with leading zeros and agrees with bitcoinjs-lib\'s base58check', () => {
    for (const data of [Buffer.alloc(0), Buffer.from([0, 0, 1]), randomBytes(25)]) {
      expect(hex(base58Decode(base58Encode(data)))).toBe(hex(data));
    }
    const h = randomBytes(20);
    const encoded = base58CheckEncode(0x05, h);
    expect(encoded).toBe(bjsAddress.toBase58Check(h, 0x05));
    expect(base58CheckDecode(encoded)).toEqual({ version: 0x05, payload: h });
  });

  it('bech32 reports which checksum variant it saw', () => {
    expect(bech32Decode('BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4').encoding).toBe('bech32');
    expect(bech32Decode('bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0').encoding).toBe('bech32m');
    expect(() => bech32Decode('x'.repeat(91))).toThrow(/too long/);
    expect(() => bech32Decode('bc1b')).toThrow(/separator or checksum/);
  });
});

describe('script numbers, pushes and BIP 34 heights', () => {
  it('height pushes equal bitcoinjs-lib\'s minimal compile of the script number', () => {
    for (const height of [0, 1, 16, 17, 127, 128, 255, 256, 32767, 32768, 100000, 227931, 881423, 2 ** 23, 2 ** 31 - 1]) {
      const expected = bjsScript.compile([bjsScript.number.encode(height)]);
      expect(hex(bip34HeightPush(height)), `height ${height}`).toBe(hex(expected));
    }
    // The real coinbase of block 881,423 starts with 03 0f730d.
    expect(hex(bip34HeightPush(881423))).toBe('030f730d');
    expect(() => bip34HeightPush(-1)).toThrow(/height/);
    expect(() => bip34HeightPush(1.5)).toThrow(/height/);
  });

  it('script numbers are minimal sign-magnitude, as bitcoinjs-lib encodes them', () => {
    for (const n of [0, 1, -1, 127, 128, -128, 255, -255, 256, 0x7fffffff, -0x7fffffff]) {
      expect(hex(scriptNumber(n)), `n=${n}`).toBe(hex(bjsScript.number.encode(n)));
    }
  });

  it('pushData picks the smallest push opcode', () => {
    expect(hex(pushData(Buffer.alloc(75, 1))).slice(0, 2)).toBe('4b');
    expect(hex(pushData(Buffer.alloc(76, 1))).slice(0, 4)).toBe('4c4c');
    expect(hex(pushData(Buffer.alloc(256, 1))).slice(0, 6)).toBe('4d0001');
    expect(() => pushData(Buffer.alloc(70000))).toThrow(/too large/);
  });
});

describe('varint (CompactSize)', () => {
  it('uses 1, 3, 5 or 9 bytes and decodes back', () => {
    const cases: [number | bigint, string][] = [
      [0, '00'],
      [0xfc, 'fc'],
      [0xfd, 'fdfd00'],
      [0xffff, 'fdffff'],
      [0x10000, 'fe00000100'],
      [0xffffffff, 'feffffffff'],
      [0x100000000n, 'ff0000000001000000'],
    ];
    for (const [value, encoded] of cases) {
      expect(hex(encodeVarint(value))).toBe(encoded);
      expect(decodeVarint(Buffer.from(encoded, 'hex'))).toEqual({ value: BigInt(value), size: encoded.length / 2 });
    }
  });

  it('rejects truncated, non-canonical and out-of-range values', () => {
    expect(() => decodeVarint(Buffer.from('fd01', 'hex'))).toThrow(/truncated/);
    expect(() => decodeVarint(Buffer.from('fd0100', 'hex'))).toThrow(/non-canonical/);
    expect(() => decodeVarint(Buffer.alloc(0))).toThrow(/no byte/);
    expect(() => encodeVarint(-1)).toThrow(/range/);
    expect(() => encodeVarint(2n ** 64n)).toThrow(/range/);
  });
});
