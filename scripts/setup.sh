#!/usr/bin/env bash
# Installs everything the test suite needs that npm does not: system servers
# (nats-server, PostgreSQL), language runtimes for the SDKs (php-cli), and the
# Python SDK's test deps; checks the Rust toolchain and builds the Rust plugins
# the tests run (scripts/build-rust.sh; not with --no-build). Idempotent: only
# installs what is missing. With CI=true a missing toolchain is an error, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v nats-server >/dev/null 2>&1 || need_apt+=(nats-server)
command -v php >/dev/null 2>&1 || need_apt+=(php-cli)
# composer: `composer validate --strict` of the PHP SDK's package metadata.
command -v composer >/dev/null 2>&1 || need_apt+=(composer)
# bubblewrap: plugins declaring [plugin.sandbox] run inside it (docs/sandbox.md).
command -v bwrap >/dev/null 2>&1 || need_apt+=(bubblewrap)
# socat: bridges an http_server plugin's port out of its network = "deny" sandbox (docs/sandbox.md).
command -v socat >/dev/null 2>&1 || need_apt+=(socat)
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then need_apt+=(postgresql); fi

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null
  # Debian starts a cluster on install; tests start their own on a free port.
  if printf '%s\n' "${need_apt[@]}" | grep -qx postgresql; then
    $SUDO service postgresql stop >/dev/null 2>&1 || true
  fi
fi

if [ -d sdk/python ]; then
  python3 -c "import pytest" 2>/dev/null || python3 -m pip install -q pytest
  # setuptools (>=77 for PEP 639 license metadata) + wheel let the SDK build offline
  # (pip wheel --no-build-isolation: the SDK artifact `nexo plugin new` installs);
  # build + twine make and check the published wheel and sdist.
  python3 - <<'PY' 2>/dev/null || python3 -m pip install -q 'setuptools>=77' wheel build twine
import importlib.metadata as m, build, twine, wheel
assert int(m.version("setuptools").split(".")[0]) >= 77
PY
fi
# The official Python MCP client: the MCP-over-HTTP session tests drive Nexo with it (pinned).
MCP_PY_VERSION=2.3.0
python3 -c "import importlib.metadata as m, sys; sys.exit(m.version('mcp') != '$MCP_PY_VERSION')" 2>/dev/null || python3 -m pip install -q "mcp==$MCP_PY_VERSION"
missing=0
# PHP SDK: SIGTERM/SIGINT drain through pcntl, which Debian's php-cli builds in.
if ! php -r 'exit(function_exists("pcntl_signal") ? 0 : 1);' 2>/dev/null; then
  echo "setup: ERROR php has no pcntl extension: the PHP SDK's signal tests need it (Debian's php-cli has it built in)" >&2
  missing=1
fi

# Rust SDK: cargo from rustup (Debian's packaged toolchain is usually too old for tokio).
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: ERROR cargo not found: sdk/rust and examples/echo-rust need a Rust toolchain; install one from https://rustup.rs" >&2
  missing=1
fi

if [ "$missing" -ne 0 ] && [ "${CI:-}" = "true" ]; then
  echo "setup: failing because CI=true and a toolchain is missing (see above)" >&2
  exit 1
fi
echo "setup: system dependencies ready"
# The Rust plugins the tests run; scripts/test.sh builds them itself, beside npm ci and the build.
if [ "${1:-}" != "--no-build" ] && [ "$missing" -eq 0 ]; then bash scripts/build-rust.sh; fi
