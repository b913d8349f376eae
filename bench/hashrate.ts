// Hashrate benchmark with defaults: npx tsx bench/hashrate.ts [--json]
// (needs `npm run build`: the kernel threads run dist/kernel/worker.js and build/*.wasm)
import { runBench } from '../src/kernel/bench.js';

await runBench({ threads: 'auto', kernel: 'all', duration: 5, json: process.argv.includes('--json') });
