// vitest globalSetup: one line at the start of a run saying whether the live pages' browser tests run.
import { browserMissing, CHROMIUM_PATH } from './browser.js';

export default function setup(): void {
  console.log(browserMissing ? `browser tests: ${browserMissing}` : `browser tests: Chromium at ${CHROMIUM_PATH}`);
}
