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
# Every node tier (unit, e2e, conformance mutations, hostile floods) in one run,
# the slowest files first; scripts/test-node.sh defines the tiers.
bash scripts/test-node.sh || status=$?

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
