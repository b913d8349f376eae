// A small ustar writer and reader for the deployment bundle. Ours rather than a tar library's because the bundle
// must be byte-reproducible and every header field here is fixed by us (mtime 0, uid/gid 0, no user names, the
// mode we pass), and because the scheduler builds the bundle at start: a library would be one more runtime
// dependency in every image. Paths longer than the 100-byte name field get a PAX `path` record (POSIX.1-2001),
// which GNU tar, bsdtar and libarchive (the Mesos fetcher) all read.

export interface TarEntry {
  /** Archive path, '/'-separated, no leading '/'; a directory's path ends with '/'. */
  path: string;
  type: 'file' | 'dir';
  mode: number;
  /** File contents (files only). */
  data?: Buffer;
}

const BLOCK = 512;
const NAME_BYTES = 100;
/** Two zero blocks end an archive. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

function octal(header: Buffer, offset: number, width: number, value: number): void {
  header.write(value.toString(8).padStart(width - 1, '0') + '\0', offset, width, 'ascii');
}

function header(name: string, typeflag: '0' | '5' | 'x', mode: number, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, NAME_BYTES, 'utf8');
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, 0); // mtime
  h.write(typeflag, 156, 'ascii');
  h.write('ustar\u000000', 257, 'ascii'); // magic "ustar\0", version "00"
  octal(h, 329, 8, 0); // devmajor
  octal(h, 337, 8, 0); // devminor
  // The checksum is the byte sum of the header with its own field read as spaces: 6 octal digits, NUL, space.
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

function padded(data: Buffer): Buffer[] {
  const rest = data.length % BLOCK;
  return rest === 0 ? [data] : [data, Buffer.alloc(BLOCK - rest)];
}

/** `<length> path=<path>\n`, where the length counts the whole record, its own digits included. */
function paxPathRecord(path: string): Buffer {
  const body = ` path=${path}\n`;
  let length = Buffer.byteLength(body);
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return Buffer.from(`${length}${body}`, 'utf8');
}

/** The blocks of one entry (a PAX header first when its path does not fit the name field). */
export function tarEntry(entry: TarEntry): Buffer[] {
  const data = entry.type === 'file' ? entry.data ?? Buffer.alloc(0) : Buffer.alloc(0);
  const blocks: Buffer[] = [];
  let name = entry.path;
  if (Buffer.byteLength(name) > NAME_BYTES) {
    const record = paxPathRecord(name);
    blocks.push(header('PaxHeader', 'x', 0o644, record.length), ...padded(record));
    name = Buffer.from(name).subarray(0, NAME_BYTES).toString('utf8');
  }
  blocks.push(header(name, entry.type === 'dir' ? '5' : '0', entry.mode, data.length));
  if (data.length > 0) blocks.push(...padded(data));
  return blocks;
}

export interface ReadEntry extends TarEntry {
  /** Byte offset just past this entry's data (padding included). */
  end: number;
}

function field(h: Buffer, offset: number, width: number): string {
  const raw = h.subarray(offset, offset + width);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul < 0 ? width : nul).toString('utf8');
}

/** The file and directory entries of an uncompressed tar archive (ustar, with PAX path records). */
export function readTar(tar: Buffer): { entries: ReadEntry[]; endOfEntries: number } {
  const entries: ReadEntry[] = [];
  let offset = 0;
  let paxPath: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const h = tar.subarray(offset, offset + BLOCK);
    if (h.every((b) => b === 0)) return { entries, endOfEntries: offset };
    if (field(h, 257, 6) !== 'ustar') throw new Error(`not a ustar archive (entry at byte ${offset})`);
    const size = parseInt(field(h, 124, 12).trim() || '0', 8);
    const typeflag = field(h, 156, 1) || '0';
    const dataStart = offset + BLOCK;
    const data = tar.subarray(dataStart, dataStart + size);
    if (data.length !== size) throw new Error(`tar archive truncated in the entry at byte ${offset}`);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (typeflag === 'x') {
      paxPath = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'))?.[1];
      continue;
    }
    const prefix = field(h, 345, 155);
    const path = paxPath ?? (prefix ? `${prefix}/${field(h, 0, NAME_BYTES)}` : field(h, 0, NAME_BYTES));
    paxPath = undefined;
    const mode = parseInt(field(h, 100, 8).trim() || '0', 8);
    if (typeflag === '0' || typeflag === '5') {
      entries.push({ path, type: typeflag === '5' ? 'dir' : 'file', mode, ...(typeflag === '0' ? { data } : {}), end: offset });
    }
  }
  return { entries, endOfEntries: offset };
}
