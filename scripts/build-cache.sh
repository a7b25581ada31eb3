# Sourced by scripts/setup.sh and scripts/test.sh: a build cache outside the
# clone for what a clean clone would otherwise compile on every run, and what
# the suite cannot fetch (network is loopback only):
#   - better-sqlite3's native binary (npm ci compiles SQLite without it),
#   - cargo's compiled dependencies of sdk/rust and examples/echo-rust,
#   - ESLint's per-file results.
# Only an accelerator: with no cache (a fresh machine, NEXO_BUILD_CACHE=off)
# everything builds as before and fills it. Entries are keyed by what they were
# built from (package version and Node ABI; Cargo.lock and rustc), never trusted
# across a change of either. docs/testing.md has the figures.

if [ "${NEXO_BUILD_CACHE:-}" = "off" ]; then
  nexo_cache=""
else
  nexo_cache=${NEXO_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nexo}
  mkdir -p "$nexo_cache" 2>/dev/null || nexo_cache=""
fi

# The prebuild-install tarball name better-sqlite3 looks for in a local prebuilds dir.
sqlite_prebuild_name() {
  node -e '
    const v = require("./package-lock.json").packages["node_modules/better-sqlite3"].version;
    console.log(`better-sqlite3-v${v}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`);'
}

# npm ci, with better-sqlite3's binary from the cache when it is there, and put there when it was compiled.
npm_ci_cached() {
  if [ -z "$nexo_cache" ]; then
    npm ci --no-audit --no-fund
    return
  fi
  local dir="$nexo_cache/prebuilds" name
  # No better-sqlite3 in the lockfile (or no node): plain npm ci.
  name=$(sqlite_prebuild_name 2>/dev/null) || name=""
  if [ -z "$name" ]; then
    npm ci --no-audit --no-fund
  elif [ -f "$dir/$name" ]; then
    # prebuild-install's per-package setting; it unpacks build/Release/better_sqlite3.node from the tarball.
    npm_config_better_sqlite3_local_prebuilds="$dir" npm ci --no-audit --no-fund
  else
    npm ci --no-audit --no-fund
    local bin=node_modules/better-sqlite3/build/Release/better_sqlite3.node
    if [ -f "$bin" ]; then
      mkdir -p "$dir"
      tar -czf "$dir/$name.$$" -C node_modules/better-sqlite3 build/Release/better_sqlite3.node && mv "$dir/$name.$$" "$dir/$name"
    fi
  fi
}

# What a cached cargo target dir was built from: the lockfile, the manifests (features) and the compiler.
cargo_cache_key() {
  { cat "$1/Cargo.lock" "$1/Cargo.toml" sdk/rust/Cargo.toml; rustc -V; } | sha256sum | cut -c1-16
}

# Seed <crate dir>/target from the cache before a first build, so cargo compiles
# only this checkout's own crates, not tokio, serde and the rest. The cached
# artifacts of the checkout's crates (<own crates>) are cleaned right away: they
# were built from another clone's sources, which cargo would judge by mtime only.
# A target dir already in the clone is left alone.
cargo_cache_seed() {
  local dir=$1 name=$2
  shift 2
  [ -n "$nexo_cache" ] && [ ! -e "$dir/target" ] || return 0
  local cached="$nexo_cache/cargo/$name"
  [ -f "$cached.key" ] && [ "$(cat "$cached.key")" = "$(cargo_cache_key "$dir")" ] || return 0
  (
    flock -s 9
    [ -d "$cached" ] && cp -a "$cached" "$dir/target.$$" && mv "$dir/target.$$" "$dir/target"
  ) 9>"$nexo_cache/cargo.lock" || rm -rf "$dir/target.$$"
  if [ -d "$dir/target" ]; then
    local own=() crate
    for crate in "$@"; do own+=(-p "$crate"); done
    (cd "$dir" && cargo clean --quiet --offline "${own[@]}") || rm -rf "$dir/target"
  fi
}

# After a build: store <crate dir>/target in the cache when the cache is missing or
# was built from another Cargo.lock or rustc. Once stored, later runs only copy it.
cargo_cache_store() {
  local dir=$1 name=$2
  [ -n "$nexo_cache" ] && [ -d "$dir/target" ] || return 0
  local cached="$nexo_cache/cargo/$name" key
  key=$(cargo_cache_key "$dir")
  [ -f "$cached.key" ] && [ "$(cat "$cached.key")" = "$key" ] && return 0
  mkdir -p "$nexo_cache/cargo"
  (
    flock -x 9
    rm -rf "$cached.new" &&
      cp -a "$dir/target" "$cached.new" &&
      rm -rf "$cached" &&
      mv "$cached.new" "$cached" &&
      echo "$key" >"$cached.key"
  ) 9>"$nexo_cache/cargo.lock" || true
}

# ESLint's cache, kept here between clones. Inside an entry ESLint keys a file's
# result by the file's content (--cache-strategy content) and by a hash of its own
# version, the Node version and the file's computed config (rule options, parser and
# plugins as name@version). The entry itself is keyed by everything else a result
# can depend on: the whole lockfile (every plugin, parser and tool version, even one
# whose meta names no version), the config files and Node. A change of any of them
# starts an empty entry, so no stale result is ever reused. The lint is not
# type-aware: a file's result depends on no other file.
static_cache_key() {
  local f
  {
    node -v
    for f in package-lock.json eslint.config.js; do
      if [ -f "$f" ]; then echo "$f" && cat "$f"; fi
    done
  } | sha256sum | cut -c1-16
}

# ESLint keys its entries by the file's absolute path, which differs in each clone:
# the stored copy names the checkout's root "@NEXO_ROOT@", put back in place of this
# checkout's on the way in and out (a literal replacement, never a pattern).
static_cache_rebase() {
  node -e 'const fs = require("fs"); const [src, dst, from, to] = process.argv.slice(1);
    fs.writeFileSync(dst, fs.readFileSync(src, "utf8").split(from).join(to));' "$@"
}

# static_cache_get <tool>: copies the tool's cache file for this checkout's key into
# node_modules/.cache and prints its path there (nothing when the build cache is off).
# The tool then works on its own copy: two runs beside each other never share a file.
static_cache_get() {
  [ -n "$nexo_cache" ] || return 0
  local local=$PWD/node_modules/.cache/nexo-static/$1 stored
  stored="$nexo_cache/static/$(static_cache_key)/$1"
  mkdir -p "${local%/*}"
  rm -f "$local"
  if [ -f "$stored" ]; then static_cache_rebase "$stored" "$local" '"@NEXO_ROOT@/' "\"$PWD/" || rm -f "$local"; fi
  echo "$local"
}

# static_cache_put <tool> <path from static_cache_get>: stores the updated copy back,
# whole (written beside, then renamed), so a reader never sees half a file.
static_cache_put() {
  [ -n "$nexo_cache" ] && [ -n "${2:-}" ] && [ -f "$2" ] || return 0
  local dir
  dir="$nexo_cache/static/$(static_cache_key)"
  mkdir -p "$dir" && static_cache_rebase "$2" "$dir/$1.$$" "\"$PWD/" '"@NEXO_ROOT@/' && mv "$dir/$1.$$" "$dir/$1" || rm -f "$dir/$1.$$"
}
