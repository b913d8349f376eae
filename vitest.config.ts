import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/peers-notice.ts', 'test/support/browser-notice.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Kernel and load tests use every core; run files one at a time so timings stay honest.
    fileParallelism: false,
  },
});
