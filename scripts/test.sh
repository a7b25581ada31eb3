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
# Static checks first (seconds each): sources and tests type-checked together, lint (folder boundaries included), format.
npx tsc -p tsconfig.test.json || status=$?
npm run --silent lint || status=$?
npm run --silent format:check || status=$?

# Python, PHP and Rust run beside the node tiers: pytest spends most of its time
# waiting on its plugins' deadlines, not on the CPU, so run one after the other
# they added minutes of wall time. Each writes its own log, printed when it ends.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
side=()
if [ -d sdk/python/tests ]; then
  (cd sdk/python && python3 -m pytest -q tests) >"$logs/python" 2>&1 &
  side+=("python:$!")
fi
if [ -d sdk/php/tests ]; then
  php sdk/php/tests/run.php >"$logs/php" 2>&1 &
  side+=("php:$!")
fi
if [ -d sdk/rust ]; then
  # A missing cargo fails here too (command not found), so Rust is never skipped silently.
  (cd sdk/rust && cargo test --quiet) >"$logs/rust" 2>&1 &
  side+=("rust:$!")
fi

# Every node tier (unit, e2e, conformance mutations, hostile floods) in one run,
# the slowest files first; scripts/test-node.sh defines the tiers.
bash scripts/test-node.sh || status=$?

for entry in "${side[@]}"; do
  name=${entry%%:*}
  code=0
  wait "${entry#*:}" || code=$?
  echo "== $name SDK tests (exit $code)"
  cat "$logs/$name"
  [ $code -eq 0 ] || status=$code
done
exit $status
