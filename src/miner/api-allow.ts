// cgminer's --api-allow: which addresses may use the API, in cgminer's syntax. A comma-separated list of
// [G:]address[/prefix] entries: an IPv4 address padded with .0 as needed (10.0.0/24), an IPv6 address in brackets
// ([fd00::]/8), 0/0 for everyone; G is a one-letter group (W: privileged in cgminer). Addresses are compared as
// IPv6 (IPv4 as ::ffff:a.b.c.d); the first entry that matches decides. Without the flag: this machine only.
import { isIPv4, isIPv6 } from 'node:net';

export interface AllowEntry {
  /** The entry as given, for messages. */
  text: string;
  /** cgminer's group letter (upper case): 'W' privileged, 'R' (or any other) read-only. */
  group: string;
  address: Uint8Array;
  mask: Uint8Array;
}

/** The default: loopback only (127.0.0.0/8 and ::1), as cgminer without --api-network. */
export const LOOPBACK_ONLY = '127.0.0.0/8,[::1]';

export function parseApiAllow(list: string): AllowEntry[] {
  const entries = list
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')
    .map(parseEntry);
  if (entries.length === 0) throw new Error(`--api-allow: no address in '${list}'`);
  return entries;
}

/** The entry that lets `remote` in (as Node reports it: 127.0.0.1, ::1, ::ffff:10.0.0.5), or undefined. */
export function allowedBy(entries: AllowEntry[], remote: string | undefined): AllowEntry | undefined {
  const ip = remote === undefined ? undefined : toBytes(remote);
  if (!ip) return undefined;
  return entries.find((e) => ip.every((b, i) => (b & e.mask[i]!) === e.address[i]));
}

function parseEntry(text: string): AllowEntry {
  const bad = (why: string) => new Error(`--api-allow: '${text}': ${why} (entries are [G:]address[/prefix], e.g. W:127.0.0.1,192.168.0/24,[fd00::]/8,0/0)`);
  let rest = text;
  let group = 'R';
  const grouped = /^([A-Za-z]):(.*)$/.exec(rest);
  if (grouped) {
    group = grouped[1]!.toUpperCase();
    rest = grouped[2]!;
  }
  if (rest === '0/0') return { text, group, address: new Uint8Array(16), mask: new Uint8Array(16) };
  const m = /^(\[[^\]]*\]|[^/]+)(?:\/(\d+))?$/.exec(rest);
  if (!m) throw bad('not an address');
  const v6 = m[1]!.startsWith('[');
  let address: Uint8Array | undefined;
  if (v6) {
    const inner = m[1]!.slice(1, -1);
    if (!isIPv6(inner)) throw bad('not an IPv6 address');
    address = toBytes(inner);
  } else {
    // cgminer pads a short IPv4 address with .0: 10.0.0 is 10.0.0.0.
    const parts = m[1]!.split('.');
    if (parts.length > 4) throw bad('not an IPv4 address');
    const padded = [...parts, '0', '0', '0'].slice(0, 4).join('.');
    if (!isIPv4(padded)) throw bad('not an IPv4 address');
    address = toBytes(padded);
  }
  const maxPrefix = v6 ? 128 : 32;
  const prefix = m[2] === undefined ? maxPrefix : Number(m[2]);
  if (!(prefix >= 1 && prefix <= maxPrefix)) throw bad(`the prefix must be 1..${maxPrefix}`);
  const bits = v6 ? prefix : prefix + 96;
  const mask = new Uint8Array(16).map((_, i) => (bits >= (i + 1) * 8 ? 0xff : bits <= i * 8 ? 0 : (0xff << (8 - (bits - i * 8))) & 0xff));
  return { text, group, address: address!.map((b, i) => b & mask[i]!), mask };
}

/** 16 bytes of an IPv6 address; IPv4 (plain or ::ffff:-mapped) as ::ffff:a.b.c.d. */
function toBytes(ip: string): Uint8Array | undefined {
  const bytes = new Uint8Array(16);
  if (isIPv4(ip)) {
    bytes[10] = bytes[11] = 0xff;
    ip.split('.').forEach((p, i) => (bytes[12 + i] = Number(p)));
    return bytes;
  }
  if (!isIPv6(ip)) return undefined;
  const mapped = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  let text = ip;
  if (mapped) {
    // ::ffff:10.0.0.5 -> the last 32 bits from the dotted part.
    const v4 = toBytes(mapped[2]!)!;
    text = `${mapped[1]}${((v4[12]! << 8) | v4[13]!).toString(16)}:${((v4[14]! << 8) | v4[15]!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...new Array(8 - left.length - right.length).fill('0'), ...right];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    bytes[i * 2] = v >> 8;
    bytes[i * 2 + 1] = v & 0xff;
  });
  return bytes;
}
