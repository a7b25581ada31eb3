#!/usr/bin/env bash
# Installs everything the test suite needs that npm does not: system servers
# (nats-server, PostgreSQL), language runtimes for the SDKs (php-cli), and the
# Python SDK's test deps. Idempotent: only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v nats-server >/dev/null 2>&1 || need_apt+=(nats-server)
command -v php >/dev/null 2>&1 || need_apt+=(php-cli)
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
  # setuptools + wheel let the SDK's install test build it offline (pip install --no-build-isolation).
  python3 -c "import setuptools, wheel" 2>/dev/null || python3 -m pip install -q setuptools wheel
fi
echo "setup: system dependencies ready"
