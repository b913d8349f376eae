// Build step (npm run build:ts): the live pages' browser files into dist/web/public/, with uPlot's browser build and
// its licence from node_modules (a dev dependency: the image and the package carry these 55 KiB, not the 560 KiB
// package). No bundler: the pages are plain ES modules the browser loads as they are.
import { cpSync, mkdirSync, rmSync } from 'node:fs';

const from = new URL('./public/', import.meta.url);
const to = new URL('../../dist/web/public/', import.meta.url);
const uplot = new URL('../../node_modules/uplot/', import.meta.url);

rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
mkdirSync(new URL('vendor/', to), { recursive: true });
for (const [source, target] of [
  ['dist/uPlot.iife.min.js', 'uPlot.iife.min.js'],
  ['dist/uPlot.min.css', 'uPlot.min.css'],
  ['LICENSE', 'uPlot.LICENSE.txt'],
]) {
  cpSync(new URL(source, uplot), new URL(`vendor/${target}`, to));
}
