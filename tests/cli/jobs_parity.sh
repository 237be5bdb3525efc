#!/usr/bin/env bash
# `troupe run --jobs 2` reports exactly what `--jobs 1` does (issue 6, acceptance 2): the same
# output line for line (but for timings), and the same per-scenario seeds, failures, distinct
# failures and sweep hashes in the JSON report. Every scenario, correct and planted bugs, so there
# are failures to compare.
#   jobs_parity.sh TROUPE_BINARY SEEDS
set -euo pipefail
troupe=$1
seeds=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for jobs in 1 2; do
  status=0
  "$troupe" run --all --bugs --seeds "$seeds" --faults swarm --jobs "$jobs" --json "$dir/$jobs.json" \
    >"$dir/$jobs.out" 2>/dev/null || status=$?
  [[ $status -eq 0 ]] || { echo "--jobs $jobs exited $status"; tail -30 "$dir/$jobs.out"; exit 1; }
  # Timings: the wall column, the rate line, and the JSON's seconds.
  sed -E -e 's/ +[0-9]+\.[0-9]+s  / <wall>  /' -e 's/^[0-9]+ seeds in .*$/<rate>/' "$dir/$jobs.out" >"$dir/$jobs.txt"
  sed -E -e 's/"(wall|elapsed)_seconds":[0-9.]+/"\1_seconds":0/g' -e 's/"jobs":[0-9]+/"jobs":0/' \
    "$dir/$jobs.json" >"$dir/$jobs.norm.json"
done
diff "$dir/1.txt" "$dir/2.txt" || { echo "the output of --jobs 2 differs from --jobs 1"; exit 1; }
diff "$dir/1.norm.json" "$dir/2.norm.json" || { echo "the JSON of --jobs 2 differs from --jobs 1"; exit 1; }
scenarios=$(grep -c '"sweep_hash"' "$dir/1.json")
failures=$(grep -o '"seed":[0-9]*,"message"' "$dir/1.json" | wc -l)
[[ $scenarios -ge 20 && $failures -ge 10 ]] || { echo "too little compared: $scenarios scenarios, $failures failures"; exit 1; }
echo "jobs_parity: $scenarios scenarios, $failures failing seeds, identical output and hashes with --jobs 1 and 2"
