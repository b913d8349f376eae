// Payout addresses -> output scripts (P2PKH, P2SH, P2WPKH, P2WSH, P2TR and any future witness version).
import { base58CheckDecode } from './base58.js';
import { decodeSegwitAddress } from './bech32.js';

export type NetworkName = 'mainnet' | 'testnet' | 'signet' | 'regtest';

interface NetworkPrefixes {
  pubkeyHash: number;
  scriptHash: number;
  bech32: string;
}

export const NETWORKS: Record<NetworkName, NetworkPrefixes> = {
  mainnet: { pubkeyHash: 0x00, scriptHash: 0x05, bech32: 'bc' },
  testnet: { pubkeyHash: 0x6f, scriptHash: 0xc4, bech32: 'tb' },
  signet: { pubkeyHash: 0x6f, scriptHash: 0xc4, bech32: 'tb' },
  regtest: { pubkeyHash: 0x6f, scriptHash: 0xc4, bech32: 'bcrt' },
};

const OP_DUP = 0x76;
const OP_HASH160 = 0xa9;
const OP_EQUAL = 0x87;
const OP_EQUALVERIFY = 0x88;
const OP_CHECKSIG = 0xac;

export function addressToScript(address: string, network: NetworkName = 'mainnet'): Buffer {
  const prefixes = NETWORKS[network];
  if (!prefixes) throw new Error(`unknown network ${JSON.stringify(network)}`);
  if (typeof address !== 'string' || address.length === 0) throw new Error('address: empty');
  try {
    const lower = address.toLowerCase();
    if (lower.startsWith(prefixes.bech32 + '1')) {
      const { version, program } = decodeSegwitAddress(address, prefixes.bech32);
      // OP_0 is 0x00; OP_1..OP_16 are 0x51..0x60.
      const versionOp = version === 0 ? 0x00 : 0x50 + version;
      return Buffer.concat([Buffer.from([versionOp, program.length]), program]);
    }
    const { version, payload } = base58CheckDecode(address);
    if (payload.length !== 20) throw new Error(`payload of ${payload.length} bytes (want 20)`);
    if (version === prefixes.pubkeyHash) {
      return Buffer.concat([Buffer.from([OP_DUP, OP_HASH160, 20]), payload, Buffer.from([OP_EQUALVERIFY, OP_CHECKSIG])]);
    }
    if (version === prefixes.scriptHash) {
      return Buffer.concat([Buffer.from([OP_HASH160, 20]), payload, Buffer.from([OP_EQUAL])]);
    }
    throw new Error(`version byte 0x${version.toString(16).padStart(2, '0')} is not a ${network} address`);
  } catch (err) {
    throw new Error(`invalid ${network} address ${JSON.stringify(address)}: ${(err as Error).message}`);
  }
}
