#!/usr/bin/env bash
# Profiles one benchmark under callgrind (instruction counts; works without hardware counters,
# which this KVM machine does not expose) and prints the functions with the most instructions.
#
#   tools/bench/profile.sh                               BM_SimSyncCalls/10000, one iteration
#   tools/bench/profile.sh 'BM_SimPipelinedCalls/.*'     another benchmark (a --benchmark_filter)
#
# Environment: BUILD_DIR (default build/default; troupe_bench must be built, e.g. by run.sh).
# Output: the annotated profile in $BUILD_DIR/callgrind.troupe_bench.out (callgrind_annotate or
# kcachegrind read it). The counts include process start-up and the benchmark library (~2% for
# BM_SimSyncCalls/10000); docs/performance.md subtracts a one-iteration BM_SimSeedsPerSecond run.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${BUILD_DIR:-$root/build/default}
filter=${1:-'BM_SimSyncCalls/10000$'}
bench="$build/tools/bench/troupe_bench"
[[ -x "$bench" ]] || { echo "bench/profile.sh: $bench not built (run tools/bench/run.sh first)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "bench/profile.sh: valgrind not installed (apt-get install valgrind)" >&2; exit 1; }

out="$build/callgrind.troupe_bench.out"
valgrind --tool=callgrind --callgrind-out-file="$out" "$bench" \
  --benchmark_filter="$filter" --benchmark_min_time=0 2>&1 | grep -E '^(BM_|==[0-9]+== Collected)'
callgrind_annotate --auto=no --threshold=90 "$out" | sed -n '/^Ir/,$p' | head -40 | cut -c1-200
