#!/usr/bin/env bash
# The one test command: installs what is missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent

status=0
mapfile -t files < <(find packages conformance examples -path '*/node_modules' -prune -o -name '*.test.ts' -print 2>/dev/null | sort)
node --import tsx --test --test-concurrency=2 --test-timeout=120000 "${files[@]}" || status=$?

if [ -d sdk/python/tests ]; then
  (cd sdk/python && python3 -m pytest -q tests) || status=$?
fi
if [ -d sdk/php/tests ]; then
  php sdk/php/tests/run.php || status=$?
fi
if [ -d sdk/rust ]; then
  # A missing cargo fails here too (command not found), so Rust is never skipped silently.
  (cd sdk/rust && cargo test --quiet) || status=$?
fi
exit $status
