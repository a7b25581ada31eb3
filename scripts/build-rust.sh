#!/usr/bin/env bash
# Builds the Rust plugins the test suite runs: examples/echo-rust (release) and
# sdk/rust's microapp_plugin example. Building fetches their crates from
# crates.io once (Cargo.lock pins them); a clean clone's compiled crates come
# from the build cache when it has them (scripts/build-cache.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/build-cache.sh
cargo_cache_seed examples/echo-rust echo-rust echo_rust nexo-plugin-sdk
cargo_cache_seed sdk/rust sdk-rust nexo-plugin-sdk
echo "setup: building examples/echo-rust (cargo build --release)"
(cd examples/echo-rust && cargo build --release --quiet)
# The upstream-API Rust plugin the TS suite runs under nexo run (sdk/rust's own target dir, reused by cargo test).
(cd sdk/rust && cargo build --quiet --example microapp_plugin)
cargo_cache_store examples/echo-rust echo-rust
cargo_cache_store sdk/rust sdk-rust
