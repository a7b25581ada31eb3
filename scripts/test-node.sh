#!/usr/bin/env bash
# The node test suite, in tiers:
#   unit         one module or one app in process, fixture plugins at most
#   e2e          real daemons, CLIs, packed and installed packages, the examples
#   conformance  the mutation matrix: every broken plugin in conformance/bad/ fails its vector and no other
#   hostile      floods from plugins and clients that try to take the daemon down
# Usage: scripts/test-node.sh [--list] [tier...]   (no tier: all four, in one run)
# Builds nothing: `npm run build` first (scripts/test.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."

list=0
if [ "${1:-}" = "--list" ]; then list=1; shift; fi
tiers=("$@")
[ ${#tiers[@]} -eq 0 ] && tiers=(hostile conformance e2e unit)

mapfile -t all < <(find packages conformance examples -path '*/node_modules' -prune -o -name '*.test.ts' -print 2>/dev/null | sort)
# A file's tier is decided by its path, first match wins; everything else is unit.
hostile='^packages/nexo/test/hostile/'
conformance='^packages/nexo/test/conformance/bad-plugins\.test\.ts$'
e2e='^packages/nexo/test/install/|^examples/[^/]+/test/|^packages/nexo/test/conformance/examples\.test\.ts$|^packages/nexo/test/daemon/|-e2e\.test\.ts$|^packages/nexo/test/surfaces/cli/plugin-dev\.test\.ts$|^packages/plugin-sdk/test/examples\.test\.ts$'
tier_of() {
  if [[ $1 =~ $hostile ]]; then echo hostile
  elif [[ $1 =~ $conformance ]]; then echo conformance
  elif [[ $1 =~ $e2e ]]; then echo e2e
  else echo unit; fi
}

# The longest files first, so the run does not end waiting on one of them alone
# (scripts/test-run.mjs keeps this order; `node --test` would sort by path).
slow='/install/packaged-install|/conformance/bad-plugins|/conformance/examples|/hostile/flood'
picked=()
for t in "${tiers[@]}"; do
  case $t in unit | e2e | conformance | hostile) ;; *) echo "unknown tier: $t (unit, e2e, conformance, hostile)" >&2; exit 2 ;; esac
  for f in "${all[@]}"; do [ "$(tier_of "$f")" = "$t" ] && picked+=("$f"); done
done
files=($(printf '%s\n' "${picked[@]}" | { grep -E "$slow" || true; } | sort -r) $(printf '%s\n' "${picked[@]}" | { grep -vE "$slow" || true; }))

# node --test with no file would run whatever its default globs find: an empty tier is an error.
if [ ${#files[@]} -eq 0 ]; then echo "no test files in tier(s): ${tiers[*]}" >&2; exit 1; fi
if [ $list -eq 1 ]; then
  for f in "${files[@]}"; do echo "$(tier_of "$f") $f"; done
  exit 0
fi

# Unit files run a few to a process ("shards", scripts/test-shard.mjs), not one
# process each: a process with tsx costs about 0.45 CPU-s before any test, and
# each loads the source graph again. A file in a shard must leave the process
# as it found it (scripts/test-shard.mjs checks env, cwd, umask, listeners and
# globals around each file). These unit files keep their own process:
alone=(
  # asserts how much the process's RSS grows while it unpacks a gzip bomb: in a
  # shared process the other files' heap (collected or not meanwhile) blurs that
  packages/nexo/test/packaging/hostile-archives.test.ts
)
is_alone() {
  local a
  for a in "${alone[@]}"; do [ "$a" = "$1" ] && return 0; done
  return 1
}
# Shards are balanced by each file's CPU-s alone (scripts/test-costs.txt; a file
# not listed counts 1.5): the costliest file goes to the least loaded shard.
shards=${NEXO_TEST_SHARDS:-4}
own=()
shared=()
for f in "${files[@]}"; do
  if [ "$(tier_of "$f")" = unit ] && [ "$shards" -gt 0 ] && ! is_alone "$f"; then shared+=("$f"); else own+=("$f"); fi
done
# The shards start right after the slowest files: each is one long sequence of files.
nslow=$(printf '%s\n' "${own[@]}" | { grep -cE "$slow" || true; })
if [ ${#shared[@]} -gt 0 ]; then
  shard_dir=$(mktemp -d "${TMPDIR:-/tmp}/nexo-test-shards.XXXXXX")
  trap 'rm -rf "$shard_dir"' EXIT
  runner="$PWD/scripts/test-shard.mjs"
  printf '%s\n' "${shared[@]}" |
    awk 'NR == FNR { cost[$2] = $1; next } { print (($0 in cost) ? cost[$0] : 1.5), $0 }' scripts/test-costs.txt - |
    sort -k1,1gr -k2 |
    awk -v n="$shards" '{ b = 1; for (i = 2; i <= n; i++) if (load[i] < load[b]) b = i; load[b] += $1; print b, $2 }' |
    sort -k1,1n -k2 |
    awk -v dir="$shard_dir" -v runner="$runner" '
      $1 != cur { if (cur) print "]);" > out; cur = $1; out = dir "/unit-shard-" cur ".test.mjs"
        printf "import { runShard } from %c%s%c;\nrunShard([\n", 34, runner, 34 > out }
      { printf "  %c%s%c,\n", 34, $2, 34 > out }
      END { if (cur) print "]);" > out }'
  own=("${own[@]:0:nslow}" "$shard_dir"/unit-shard-*.test.mjs "${own[@]:nslow}")
fi

# Four processes at a time: most tests wait on child processes and sockets, not on the 2 cores.
# A process gets 10 minutes, a file in a shard too (scripts/test-shard.mjs): the
# packaged-install file alone takes 1.5 on a quiet machine, and went past 5 in a
# clean-clone run at load 15-20 (its own test allows 15); a shard is sized to a
# fraction of that.
node --import tsx scripts/test-run.mjs --concurrency=4 --timeout=600000 "${own[@]}"
