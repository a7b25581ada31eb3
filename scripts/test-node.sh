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

# The longest files first, so the run would not end waiting on one of them alone; but
# Node 20's runner sorts the files it is given, so they start in path order (docs/testing.md).
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
# Four files at a time: most tests wait on child processes and sockets, not on the 2 cores.
# A file gets 10 minutes: the packaged-install file alone takes 1.5 on a quiet machine,
# and went past 5 in a clean-clone run at load 15-20 (its own test allows 15).
exec node --import tsx --test --test-concurrency=4 --test-timeout=600000 "${files[@]}"
