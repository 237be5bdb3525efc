#!/usr/bin/env bash
# Seeds until the first failure of a scenario under a scheduling strategy (docs/exploration.md).
#
#   tools/exploration.sh SCENARIO STRATEGY [DEPTH] [-- EXTRA TROUPE FLAGS...]
#   tools/exploration.sh counter.bug_lost_increment random
#   tools/exploration.sh counter.bug_lost_increment pct 2
#   tools/exploration.sh stateful_actor.bug_no_checkpoint pct 3 -- --faults swarm
#
# For 20 starting seeds S = 1, 1001, 2001, ..., 19001 it runs
#   troupe run SCENARIO --seeds S..S+999 --strategy STRATEGY [--pct-depth DEPTH] --max-failures 1 --json FILE
# and reads from the JSON report how many seeds ran until the first failure (the failing seed
# counts: a failure on S itself is 1). A start whose 1000 seeds all pass counts as ">1000". It
# prints one line per start, then the median over the 20 starts (the mean of the 10th and 11th
# smallest; ">1000" when one of those found nothing), and the command of the first start.
#
# Environment: TROUPE (the troupe binary; default build/default/tools/troupe/troupe, built by
# tools/run.sh), STARTS (default 20), SEEDS_PER_START (default 1000). Needs jq.
# Exit status: 0 when every run finished (found or not), 2 on bad usage or a troupe usage error.
set -euo pipefail

usage() {
  sed -n '4,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
troupe=${TROUPE:-$root/build/default/tools/troupe/troupe}
starts=${STARTS:-20}
per_start=${SEEDS_PER_START:-1000}

(($# >= 2)) || usage
scenario=$1
strategy=$2
shift 2
depth=""
if (($# > 0)) && [[ $1 != -- ]]; then
  depth=$1
  shift
fi
if (($# > 0)); then
  [[ $1 == -- ]] || usage
  shift
fi
extra=("$@")
case $strategy in
  random | fifo) [[ -z $depth ]] || { echo "exploration.sh: DEPTH is for pct only" >&2; exit 2; } ;;
  pct) ;;
  *) echo "exploration.sh: unknown strategy '$strategy' (expected random, pct or fifo)" >&2; exit 2 ;;
esac
[[ -x $troupe ]] || { echo "exploration.sh: $troupe is not built (tools/run.sh builds it, or set TROUPE)" >&2; exit 2; }
command -v jq >/dev/null || { echo "exploration.sh: needs jq" >&2; exit 2; }

strategy_flags=(--strategy "$strategy")
[[ -n $depth ]] && strategy_flags+=(--pct-depth "$depth")

report=$(mktemp)
trap 'rm -f "$report"' EXIT
echo "scenario $scenario, strategy ${strategy}${depth:+ depth $depth}, $starts starts of $per_start seeds" \
  "${extra[*]:+(${extra[*]})}"
echo "command: $troupe run $scenario --seeds 1..$per_start ${strategy_flags[*]} --max-failures 1 --json FILE ${extra[*]}"
counts=()
for ((i = 0; i < starts; ++i)); do
  first=$((1 + i * per_start))
  last=$((first + per_start - 1))
  status=0
  "$troupe" run "$scenario" --seeds "$first..$last" "${strategy_flags[@]}" --max-failures 1 --json "$report" \
    "${extra[@]}" >/dev/null 2>&1 || status=$?
  if ((status == 2)); then
    # A usage error: show it.
    "$troupe" run "$scenario" --seeds "$first..$last" "${strategy_flags[@]}" --max-failures 1 "${extra[@]}" >&2 || true
    exit 2
  fi
  seeds=$(jq -r '.scenarios[0].seeds' "$report")
  failures=$(jq -r '.scenarios[0].failures | length' "$report")
  if ((failures > 0)); then
    failed_at=$(jq -r '.scenarios[0].failures[0].seed' "$report")
    counts+=("$seeds")
    printf 'start %6d: first failure after %4d seeds (seed %d)\n' "$first" "$seeds" "$failed_at"
  else
    counts+=($((per_start + 1)))  # censored: sorts after every found count
    printf 'start %6d: no failure in %d seeds\n' "$first" "$per_start"
  fi
done

mapfile -t sorted < <(printf '%s\n' "${counts[@]}" | sort -n)
n=${#sorted[@]}
low=${sorted[$(((n - 1) / 2))]}
high=${sorted[$((n / 2))]}
found=$(printf '%s\n' "${counts[@]}" | awk -v c=$((per_start + 1)) '$1 < c' | wc -l)
if ((low > per_start || high > per_start)); then
  median=">$per_start"
elif ((low == high)); then
  median=$low
else
  median=$(awk -v a="$low" -v b="$high" 'BEGIN { printf "%.1f", (a + b) / 2 }')
fi
echo "found in $found of $n starts; median seeds until the first failure: $median"
