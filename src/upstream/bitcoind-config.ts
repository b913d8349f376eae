// `serve` flags for solo mining (--bitcoind, --bitcoind-cookie, --payout, --coinbase-tag) -> a validated
// configuration. RPC credentials can stay out of argv: --bitcoind http://host:8332 plus the full URL with
// user:pass in env MESOS_MINER_BITCOIND_URL, or the node's cookie file. They never appear in describeSoloConfig.
import { payoutNetworks } from './bitcoind.js';
import { parseRpcUrl } from './rpc.js';

export const ENV_BITCOIND_URL = 'MESOS_MINER_BITCOIND_URL';

export interface SoloFlags {
  bitcoind?: string;
  bitcoindCookie?: string;
  payout?: string;
  coinbaseTag?: string;
}

export interface SoloConfig {
  /** RPC URL, credentials included when they came from the URL or the environment. */
  url: string;
  cookieFile?: string;
  payoutAddress: string;
  coinbaseTag?: string;
}

/**
 * The solo configuration, or null when no solo flag is given (proxy mode). `poolCount` is the number of --pool
 * flags: the two modes exclude each other.
 */
export function resolveSoloConfig(flags: SoloFlags, poolCount: number, env: NodeJS.ProcessEnv = process.env): SoloConfig | null {
  const requested = flags.bitcoind !== undefined || flags.payout !== undefined || flags.bitcoindCookie !== undefined;
  if (!requested) return null;
  if (poolCount > 0) throw new Error('--bitcoind/--payout (solo mining) and --pool (proxy mode) are mutually exclusive');
  const envUrl = env[ENV_BITCOIND_URL] || undefined;
  const given = flags.bitcoind ?? envUrl;
  if (!given) throw new Error(`solo mining needs --bitcoind http://host:8332 (or env ${ENV_BITCOIND_URL})`);
  let url = given;
  const parsed = parseRpcUrl(given);
  if (!parsed.credentials && !flags.bitcoindCookie) {
    // Host from the flag, credentials from the environment.
    const fromEnv = envUrl ? parseRpcUrl(envUrl).credentials : null;
    if (!fromEnv) {
      throw new Error(
        `--bitcoind ${parsed.display} has no credentials: add user:pass to the URL in env ${ENV_BITCOIND_URL}, or give --bitcoind-cookie <file>`,
      );
    }
    const withAuth = new URL(parsed.url);
    withAuth.username = encodeURIComponent(fromEnv.user);
    withAuth.password = encodeURIComponent(fromEnv.password);
    url = withAuth.toString();
  }
  if (!flags.payout) throw new Error('solo mining needs --payout <address> (where block rewards go)');
  payoutNetworks(flags.payout); // a clear error now for an address that is valid nowhere
  if (flags.coinbaseTag !== undefined && Buffer.byteLength(flags.coinbaseTag) > 60) {
    throw new Error(`--coinbase-tag is ${Buffer.byteLength(flags.coinbaseTag)} bytes; at most 60 fit in the coinbase`);
  }
  return {
    url,
    ...(flags.bitcoindCookie ? { cookieFile: flags.bitcoindCookie } : {}),
    payoutAddress: flags.payout,
    ...(flags.coinbaseTag !== undefined ? { coinbaseTag: flags.coinbaseTag } : {}),
  };
}

/** Safe to log: the node without credentials. */
export function describeSoloConfig(c: SoloConfig): Record<string, unknown> {
  return {
    bitcoind: parseRpcUrl(c.url).display,
    auth: c.cookieFile ? `cookie file ${c.cookieFile}` : '***',
    payout: c.payoutAddress,
    ...(c.coinbaseTag !== undefined ? { coinbaseTag: c.coinbaseTag } : {}),
  };
}
