#!/usr/bin/env bash
# Sets up, builds and tests one CMake preset: tools/test.sh [PRESET]   (default: `default`)
#
#   tools/test.sh            g++ RelWithDebInfo
#   tools/test.sh asan       g++ ASan + UBSan
#   tools/test.sh tsan       g++ TSan, the threads-platform tests only
#   tools/test.sh clang      clang++ RelWithDebInfo
#
# Environment: JOBS (build and ctest parallelism, default 2 — the machines have 2 cores),
# CCACHE_DIR (default $HOME/.cache/ccache, so repeated builds and CI runs on the same machine
# share one cache), CCACHE_MAXSIZE (default 2G). The ctest output is also written to
# build/PRESET/ctest-output.log (.ci/run sums the results from it).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

preset=${1:-default}
if (($# > 1)); then
  echo "usage: tools/test.sh [PRESET]" >&2
  exit 2
fi
jobs=${JOBS:-2}

export CCACHE_DIR=${CCACHE_DIR:-${HOME:-/root}/.cache/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-2G}
# Hash paths relative to the checkout, so another clone (CI's, a second worktree) hits the same
# cache entries. (Cost: on such a hit, the object's DW_AT_comp_dir names the other build dir.)
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}

log="$root/build/$preset/ctest-output.log"
rm -f "$log"  # a stale log must not be counted by .ci/run when this run fails before ctest

"$root/tools/setup.sh"

ccache_before=""
if command -v ccache >/dev/null 2>&1; then
  ccache_before=$(ccache --print-stats 2>/dev/null || true)
fi

echo "test.sh: configure preset '$preset'"
cmake --preset "$preset"

echo "test.sh: build preset '$preset' (-j$jobs)"
cmake --build --preset "$preset" -j "$jobs"

echo "test.sh: ctest preset '$preset' (-j$jobs)"
status=0
ctest --preset "$preset" -j "$jobs" 2>&1 | tee "$log" || status=$?

if [[ -n "$ccache_before" ]] && ccache_after=$(ccache --print-stats 2>/dev/null); then
  # One line: this run's hits and misses (difference of two snapshots) and the cache's size.
  awk -F'\t' -v dir="$CCACHE_DIR" '
    FNR == NR { before[$1] = $2; next }
    { after[$1] = $2 }
    END {
      hits = after["direct_cache_hit"] + after["preprocessed_cache_hit"] \
           - before["direct_cache_hit"] - before["preprocessed_cache_hit"]
      misses = after["cache_miss"] - before["cache_miss"]
      printf "ccache: %d hits, %d misses during this run (whole cache); %.0f MB in %s\n", hits, misses,
             after["cache_size_kibibyte"] / 1024, dir
    }' <(printf '%s\n' "$ccache_before") <(printf '%s\n' "$ccache_after") || true
elif command -v ccache >/dev/null 2>&1; then
  ccache -s || true
fi

exit "$status"
