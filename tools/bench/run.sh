#!/usr/bin/env bash
# The whole performance suite in one command: builds the three benchmark binaries (default
# preset: g++ RelWithDebInfo), runs each with repetitions, and prints one table with Troupe and
# CAF side by side, each row's median and the issue's targets (tools/bench/table.py defines the
# rows). docs/performance.md's tables come from this script.
#
#   tools/bench/run.sh                                   the whole suite (about 10 minutes)
#   REPS=3 tools/bench/run.sh                            fewer repetitions
#   tools/bench/run.sh --benchmark_filter='Calls'        extra flags go to every binary
#
# The binaries:
#   troupe_bench       the simulator: fiber switch, calls, seeds/s, memory, the 100k-actor scale run
#   troupe_real_bench  the threads platform and a loopback cluster; Savina on the threads platform
#   troupe_caf_bench   the same in-process workloads on CAF (libcaf-dev)
#
# Environment: REPS (repetitions, default 5), JOBS (build parallelism, default 2), BUILD_DIR (an
# already configured build tree to use instead of the preset's build/default), CCACHE_* as in
# tools/test.sh. Each binary's full output and JSON stay in $BUILD_DIR/bench/; the table is also
# written to $BUILD_DIR/bench/table.md.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

reps=${REPS:-5}
jobs=${JOBS:-2}
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: REPS must be a positive integer, not '$reps'" >&2; exit 2; }
export CCACHE_DIR=${CCACHE_DIR:-${HOME:-/root}/.cache/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-2G}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}

binaries=(troupe_bench troupe_real_bench troupe_caf_bench)
if [[ -n "${BUILD_DIR:-}" ]]; then
  build=$BUILD_DIR
  cmake --build "$build" --target "${binaries[@]}" -j "$jobs"
else
  "$root/tools/setup.sh"
  build="$root/build/default"
  cmake --preset default >/dev/null
  cmake --build --preset default --target "${binaries[@]}" -j "$jobs"
fi

out="$build/bench"
mkdir -p "$out"
jsons=()
for name in "${binaries[@]}"; do
  binary=$(find "$build/tools/bench" -maxdepth 1 -name "$name" -type f -perm -u+x | head -n1)
  [[ -n "$binary" ]] || { echo "bench/run.sh: $name was not built in $build" >&2; exit 1; }
  echo "bench/run.sh: $name --benchmark_repetitions=$reps $*" >&2
  start=$SECONDS
  "$binary" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
    --benchmark_out="$out/$name.json" --benchmark_out_format=json "$@" >"$out/$name.txt" 2>&1 ||
    { cat "$out/$name.txt" >&2; echo "bench/run.sh: $name failed (output above)" >&2; exit 1; }
  echo "bench/run.sh: $name took $((SECONDS - start)) s; output in $out/$name.txt" >&2
  # A filter that matches nothing leaves no JSON: the table then shows those rows as not run.
  [[ -s "$out/$name.json" ]] && jsons+=("$out/$name.json")
done

((${#jsons[@]} > 0)) || { echo "bench/run.sh: no benchmark ran (check --benchmark_filter)" >&2; exit 1; }
revision=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
python3 "$root/tools/bench/table.py" "${jsons[@]}" --git "$revision" | tee "$out/table.md"
