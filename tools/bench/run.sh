#!/usr/bin/env bash
# Builds troupe_bench (default preset: g++ RelWithDebInfo) and prints the median of 5 repetitions
# of every benchmark; the figures in docs/performance.md come from this script.
#
#   tools/bench/run.sh                                  all benchmarks
#   tools/bench/run.sh --benchmark_filter=BM_SimSync    extra flags go to troupe_bench
#
# Environment: JOBS (build parallelism, default 2), BUILD_DIR (an already configured build tree
# to build in instead of the preset's build/default), CCACHE_* as in tools/test.sh.
# The full output (every aggregate) is kept in $BUILD_DIR/bench-output.txt and, as JSON, in
# $BUILD_DIR/bench-output.json.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

jobs=${JOBS:-2}
export CCACHE_DIR=${CCACHE_DIR:-${HOME:-/root}/.cache/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-2G}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}

if [[ -n "${BUILD_DIR:-}" ]]; then
  build=$BUILD_DIR
  cmake --build "$build" --target troupe_bench -j "$jobs"
else
  "$root/tools/setup.sh"
  build="$root/build/default"
  cmake --preset default >/dev/null
  cmake --build --preset default --target troupe_bench -j "$jobs"
fi

bench="$build/tools/bench/troupe_bench"
[[ -x "$bench" ]] || { echo "bench/run.sh: $bench was not built" >&2; exit 1; }

out="$build/bench-output.txt"
echo "bench/run.sh: $bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true $*"
"$bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_out="$build/bench-output.json" --benchmark_out_format=json "$@" >"$out" 2>&1 ||
  { cat "$out" >&2; echo "bench/run.sh: troupe_bench failed" >&2; exit 1; }

# The context (date, machine, load) and the table's header, then the medians only.
sed -n '1,/^-----/p' "$out" | grep -v -E '^(Benchmark |-----)'
grep -m1 -E '^Benchmark ' "$out"
grep -m1 -E '^-----' "$out"
grep -E '_median ' "$out"
