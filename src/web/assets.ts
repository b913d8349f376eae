// The browser files of the live pages (HTML, CSS, JS modules, the vendored uPlot), read once from disk and served
// from memory: a few dozen KiB, no file system access per request, and no path from a URL ever reaches the disk.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** URL prefix of every asset: /assets/common.js, /assets/vendor/uPlot.iife.min.js ... */
export const ASSET_PREFIX = '/assets/';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The pages load only their own files: no inline script, nothing from elsewhere, no framing. uPlot sizes its
 * elements through the style attribute, hence 'unsafe-inline' for styles only.
 */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * Where the files are: `dist/web/public/` (the build copies `src/web/public/` and uPlot's browser build there).
 * From sources (vitest, tsx) the built twin is used, as for the kernel's worker (`npm test` builds first).
 */
export function defaultPublicDir(): string {
  const url = import.meta.url.endsWith('.ts') ? new URL('../../dist/web/public/', import.meta.url) : new URL('./public/', import.meta.url);
  return fileURLToPath(url);
}

export class WebAssets {
  private readonly files = new Map<string, Asset>();

  /** Reads every file under `dir`; a missing directory is an error (a build without the pages). */
  constructor(dir: string = defaultPublicDir()) {
    let names: string[];
    try {
      names = readdirSync(dir, { recursive: true, encoding: 'utf8' });
    } catch (err) {
      throw new Error(`web pages not found in ${dir} (run npm run build): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    for (const name of names) {
      const type = TYPES[extname(name)];
      if (!type) continue;
      const body = readFileSync(join(dir, name));
      const key = relative(dir, join(dir, name)).split(sep).join('/');
      this.files.set(key, { body, type, etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"` });
    }
  }

  /** A page (e.g. `serve.html`) answered for `GET /`. */
  page(req: IncomingMessage, res: ServerResponse, name: string): void {
    this.send(req, res, name, PAGE_HEADERS);
  }

  /**
   * Answers `GET /assets/<name>`; returns false when the path is not an asset URL at all. With the page's headers
   * too: the pages are files here as well (`/assets/serve.html`), and must not load without their policy.
   */
  serve(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (!path.startsWith(ASSET_PREFIX)) return false;
    this.send(req, res, path.slice(ASSET_PREFIX.length), PAGE_HEADERS);
    return true;
  }

  private send(req: IncomingMessage, res: ServerResponse, name: string, extra: Record<string, string>): void {
    const asset = this.files.get(name);
    if (!asset) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    // Revalidated on every load (no-cache + ETag): a new version shows at once, an unchanged one costs a 304.
    const headers = { ...extra, 'content-type': asset.type, 'cache-control': 'no-cache', etag: asset.etag };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': String(asset.body.length) });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }
}
