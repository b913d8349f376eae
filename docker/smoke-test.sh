#!/usr/bin/env bash
# The Dockerfile's runtime stage without Docker: production dependencies only (`npm ci --omit=dev
# --ignore-scripts`), the built dist/, build/ and proto/, then the CLI run from there as the image's
# entrypoint would. Catches a runtime import of a dev dependency or a file the image does not copy.
# Needs `npm run build` first (CI runs it after `npm ci`).
set -euo pipefail
cd "$(dirname "$0")/.."
app=$(mktemp -d)
trap 'rm -rf "$app"' EXIT
cp package.json package-lock.json "$app/"
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
cp -r dist build proto "$app/"
cd /
cli="$app/dist/cli.js"
node "$cli" --help >/dev/null
for cmd in bench mine serve schedule local; do node "$cli" "$cmd" --help >/dev/null; done
node "$cli" bench --threads 1 --duration 0.3 --json >"$app/bench.json"
node -e 'const r = require(process.argv[1]); if (!r.correctness.length || !r.results.every((x) => x.hashes > 0)) process.exit(1)' "$app/bench.json"
if node "$cli" mine --threads 0 -o stratum+tcp://127.0.0.1:1 -u x 2>/dev/null; then echo "bad flag accepted" >&2; exit 1; fi
# serve's live page and its files (dist/web/public: copied at build, uPlot included) answer from this layout.
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
node "$cli" serve --pool stratum+tcp://127.0.0.1:1 --user smoke --listen 127.0.0.1:0 --http "127.0.0.1:$port" --log-level error &
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
echo "image smoke test: runtime layout ok ($(du -sh "$app/node_modules" | cut -f1) of production node_modules)"
