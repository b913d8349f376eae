// A cgminer RPC API client written from cgminer's API-README, independent of src/: one request per TCP connection
// (a JSON object {"command":...,"parameter":...} or plain text "command|parameter"), the reply read until the
// miner closes the connection, the trailing NUL cgminer sends dropped. Text replies are '|'-separated sections of
// ','-separated name=value pairs, with '|' ',' '=' '\' escaped by a backslash inside values.
import { connect } from 'node:net';

export interface RequestOptions {
  host?: string;
  /** Connect from this local address (e.g. 127.0.0.2, to be a different client for --api-allow). */
  localAddress?: string;
  timeoutMs?: number;
}

/** Sends one request; resolves with the raw reply ('' when the miner closed without answering). */
export function apiRequest(port: number, request: string | { command: string; parameter?: string | number }, opts: RequestOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: opts.host ?? '127.0.0.1', port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`cgminer API: no reply within ${opts.timeoutMs ?? 5000} ms`));
    }, opts.timeoutMs ?? 5000);
    socket.on('connect', () => socket.write(typeof request === 'string' ? request : JSON.stringify(request)));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A connection the miner refuses to serve is closed (or reset) without a reply.
      if (err.code !== 'ECONNRESET') reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/** The raw reply ends with a NUL byte, as cgminer sends it. */
export function stripNul(raw: string): string {
  if (!raw.endsWith('\0')) throw new Error(`reply does not end with a NUL byte: ${JSON.stringify(raw.slice(-20))}`);
  return raw.slice(0, -1);
}

export async function apiJson(port: number, command: string, parameter?: string, opts?: RequestOptions): Promise<any> {
  return JSON.parse(stripNul(await apiRequest(port, parameter === undefined ? { command } : { command, parameter }, opts)));
}

export interface TextSection {
  /** The section's leading name without a value (SUMMARY, VERSION, CONFIG), if it has one. */
  name?: string;
  fields: Record<string, string>;
}

/** Splits on `sep` where it is not escaped by a backslash; the escapes are kept for the next level. */
function splitUnescaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      current += ch + text[++i]!;
    } else if (ch === sep) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

const unescape = (s: string) => s.replace(/\\(.)/g, '$1');

/** STATUS=S,When=...|SUMMARY,Elapsed=...| -> [{ fields: { STATUS: 'S', ... } }, { name: 'SUMMARY', fields: {...} }]. */
export function parseText(reply: string): TextSection[] {
  return splitUnescaped(reply, '|')
    .filter((s) => s !== '')
    .map((section) => {
      const out: TextSection = { fields: {} };
      for (const item of splitUnescaped(section, ',')) {
        const [key, ...rest] = splitUnescaped(item, '=');
        if (rest.length === 0) out.name = unescape(key!);
        else out.fields[unescape(key!)] = unescape(rest.join('='));
      }
      return out;
    });
}
