// cgminer API replies, in its two forms. JSON: {"STATUS":[{...}],"SUMMARY":[{...}],"id":1}. Text:
// STATUS=S,When=...,Code=11,Msg=Summary,Description=...|SUMMARY,Elapsed=...|, with '|' ',' '=' '\' escaped by a
// backslash in strings. Numbers keep cgminer's fixed decimals in both forms (MHS 2, percentages 4, difficulties 8).

/** A number written with a fixed count of decimals (JSON allows 12.50; JSON.stringify would drop the zero). */
export class Fixed {
  constructor(readonly value: number, readonly decimals: number) {}

  toString(): string {
    return (Number.isFinite(this.value) ? this.value : 0).toFixed(this.decimals);
  }
}

export const mhs = (hashesPerSecond: number) => new Fixed(hashesPerSecond / 1e6, 2);
export const percent = (part: number, whole: number) => new Fixed(whole > 0 ? (part / whole) * 100 : 0, 4);
export const diff = (d: number) => new Fixed(d, 8);
export const fixed2 = (n: number) => new Fixed(n, 2);

export type Value = string | number | boolean | Fixed;
export type Row = Record<string, Value>;

export type Severity = 'S' | 'I' | 'W' | 'E' | 'F';

export interface StatusEntry {
  severity: Severity;
  code: number;
  msg: string;
}

/** One command's answer: its STATUS and, for reports, one section of rows. */
export interface Reply {
  status: StatusEntry;
  section?: {
    name: string;
    rows: Row[];
    /** Text form: the section name leads its one row (SUMMARY,Elapsed=...|) rather than nothing (POOL=0,...|). */
    named?: boolean;
  };
}

export interface ReplyContext {
  /** Seconds since the epoch of the request. */
  when: number;
  /** "mesos-miner 0.1.0": what cgminer puts in Description. */
  description: string;
}

function jsonValue(v: Value): string {
  if (v instanceof Fixed) return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '0';
  return typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

function textValue(v: Value): string {
  return typeof v === 'string' ? v.replace(/[\\|,=]/g, (c) => `\\${c}`) : v instanceof Fixed ? v.toString() : String(v);
}

const jsonRow = (row: Row) => `{${Object.entries(row).map(([k, v]) => `${JSON.stringify(k)}:${jsonValue(v)}`).join(',')}}`;
const textRow = (row: Row) => Object.entries(row).map(([k, v]) => `${k}=${textValue(v)}`).join(',');

function statusRow(r: Reply, c: ReplyContext): Row {
  return { STATUS: r.status.severity, When: c.when, Code: r.status.code, Msg: r.status.msg, Description: c.description };
}

/** The body of one reply in JSON, without the closing `,"id":1}`. */
function jsonBody(r: Reply, c: ReplyContext): string {
  let out = `{"STATUS":[${jsonRow(statusRow(r, c))}]`;
  if (r.section) out += `,${JSON.stringify(r.section.name)}:[${r.section.rows.map(jsonRow).join(',')}]`;
  return out;
}

function textBody(r: Reply, c: ReplyContext): string {
  let out = `${textRow(statusRow(r, c))}|`;
  if (r.section) {
    for (const row of r.section.rows) out += `${r.section.named ? `${r.section.name},` : ''}${textRow(row)}|`;
  }
  return out;
}

export function formatReply(r: Reply, c: ReplyContext, json: boolean): string {
  return json ? `${jsonBody(r, c)},"id":1}` : textBody(r, c);
}

/**
 * Several reports in one request (summary+devs): JSON {"summary":[{...,"id":1}],"devs":[...],"id":1} (cgminer wraps
 * each command's reply in an array), text CMD=summary|STATUS=...|SUMMARY,...|CMD=devs|...
 */
export function formatJoined(replies: [string, Reply][], c: ReplyContext, json: boolean): string {
  if (json) return `{${replies.map(([cmd, r]) => `${JSON.stringify(cmd)}:[${formatReply(r, c, true)}]`).join(',')},"id":1}`;
  return replies.map(([cmd, r]) => `CMD=${textValue(cmd)}|${textBody(r, c)}`).join('');
}
