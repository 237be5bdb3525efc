#!/usr/bin/env bash
# Checks that the g++ and clang++ builds replay the same runs: same trace hash, same event count.
#
#   tools/compare_compilers.sh [GCC_BUILD_DIR] [CLANG_BUILD_DIR]   (default build/default build/clang)
#
# Both builds must exist (tools/test.sh and tools/test.sh clang make them). Replays a few seeds
# of every scenario, without faults and under swarm (counter seed 42 first, the acceptance case),
# and prints one line per run;
# exits 1 on the first difference, naming it.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gcc_dir=${1:-$root/build/default}
clang_dir=${2:-$root/build/clang}
gcc_bin=$gcc_dir/tools/troupe/troupe
clang_bin=$clang_dir/tools/troupe/troupe
for bin in "$gcc_bin" "$clang_bin"; do
  if [[ ! -x "$bin" ]]; then
    echo "compare_compilers: $bin is missing (build it first: tools/test.sh / tools/test.sh clang)" >&2
    exit 2
  fi
done

# The fingerprint of one replay: its hash and event count lines. `faults` is none or swarm.
fingerprint() {
  "$1" replay "$2" --seed "$3" --faults "$4" | grep -E '^(trace hash|events):' | tr '\n' ' '
}

# Each scenario without faults and under swarm faults (every kind it tolerates, drawn from the
# seed: crashes, partitions, storage errors, buggify, ...). Seeds 1, 7 and 1000 draw no delay
# fault at all (their swarm runs of counter, database, ... equal the fault-free ones), so seeds 3
# and 6, which draw clogs and storage errors, are compared too.
runs=("counter 42 none")
while read -r scenario _; do
  [[ -n "$scenario" && "$scenario" != *.bug_* ]] || continue
  for seed in 1 3 6 7 1000; do runs+=("$scenario $seed none" "$scenario $seed swarm"); done
done < <("$gcc_bin" list | grep "^  ")  # scenario lines are indented under their group

for run in "${runs[@]}"; do
  read -r scenario seed faults <<<"$run"
  a=$(fingerprint "$gcc_bin" "$scenario" "$seed" "$faults")
  b=$(fingerprint "$clang_bin" "$scenario" "$seed" "$faults")
  if [[ "$a" != "$b" ]]; then
    echo "compare_compilers: $scenario seed $seed --faults $faults differs: g++ [$a] clang++ [$b]" >&2
    exit 1
  fi
  echo "same under g++ and clang++: $scenario seed $seed --faults $faults: $a"
done
echo "compare_compilers: ${#runs[@]} runs identical"
