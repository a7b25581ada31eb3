#!/usr/bin/env bash
# The one test command: installs what is missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-build
# The Rust plugins build beside npm ci and the TypeScript build: those use one core
# at a time, cargo fills the other (about 10 s less before the first test).
rust_log=$(mktemp)
bash scripts/build-rust.sh >"$rust_log" 2>&1 &
rust_pid=$!
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # better-sqlite3's binary from the build cache when there is one (scripts/build-cache.sh).
  source scripts/build-cache.sh
  npm_ci_cached
fi
npm run build --silent
rust_status=0
wait "$rust_pid" || rust_status=$?
cat "$rust_log"
rm -f "$rust_log"
if [ "$rust_status" -ne 0 ]; then
  echo "test: building the Rust plugins failed (exit $rust_status): scripts/build-rust.sh" >&2
  exit "$rust_status"
fi

status=0
# The static checks, the Python, PHP and Rust tests run beside the node tiers,
# each writing its own log, printed when it ends. The suite is bound by the CPU,
# not by waiting: beside, they fill the cores while node tests wait on their
# children; one after the other, they added minutes of wall time.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
side=()
# Tests type-checked, lint (folder boundaries included), format.
# Niced a little: nothing in them has a deadline, while the tests beside them do.
# Only a little: at nice 10 they got a tenth of a core beside other busy processes
# and, once the tests had ended, kept the run waiting for minutes.
# The tests are checked against the declarations the build just wrote (tsconfig.test.json
# references the source projects), not the sources a second time. ESLint (the `lint`
# script, spelled out for the cache flags) skips the files whose results the build
# cache holds for this lockfile and config (scripts/build-cache.sh). Prettier's cache
# cannot move between clones (its key holds each file's absolute path), so it stays in
# this checkout and speeds up only a run after the first. NEXO_BUILD_CACHE=off: no cache.
source scripts/build-cache.sh
eslint_cache=$(static_cache_get eslint)
prettier_cache=${nexo_cache:+$PWD/node_modules/.cache/nexo-static/prettier}
(
  s=0
  nice -n 2 npx tsc -p tsconfig.test.json || s=1
  nice -n 2 npx eslint ${eslint_cache:+--cache --cache-strategy content --cache-location "$eslint_cache"} || s=1
  nice -n 2 npm run --silent lint:cycles || s=1
  nice -n 2 npm run --silent format:check -- ${prettier_cache:+--cache --cache-strategy content --cache-location "$prettier_cache"} || s=1
  static_cache_put eslint "$eslint_cache"
  exit $s
) >"$logs/static" 2>&1 &
side+=("static:$!")
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
  if [ "$name" = static ]; then echo "== type-check, lint, format (exit $code)"; else echo "== $name SDK tests (exit $code)"; fi
  cat "$logs/$name"
  [ $code -eq 0 ] || status=$code
done
exit $status
