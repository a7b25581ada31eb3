#!/usr/bin/env bash
# The one run command: install npm deps if needed, build, start the daemon on
# the bundled demo (`nexo demo`: local broker, SQLite, the example plugins).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
exec node packages/nexo/bin/nexo.js demo "$@"
