#!/usr/bin/env bash
# Schedule exploration end to end (issue 4, acceptance 4):
#   1. every planted bug found under pct (swarm faults, --max-failures 1) replays with the printed
#      command to the same trace hash;
#   2. that run's jsonl trace, given back as --schedule, reproduces the hash too;
#   3. on resilient_actor seed 3 (five decisions), recorded under random and under pct, the
#      schedule replays to the same hash, and a tampered or truncated schedule stops with an
#      error naming the decision and both counts.
#   strategy_replay.sh TROUPE_BINARY
set -euo pipefail
troupe=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "strategy_replay: $*"; exit 1; }
hash_of() { grep -m1 -E '^trace hash: ' <<<"$1" | cut -d' ' -f3; }

bugs=$("$troupe" list | awk '/\[expect-fail\]/ {print $1}')
[[ -n "$bugs" ]] || fail "no planted bugs listed"
for bug in $bugs; do
  out=$("$troupe" run "$bug" --seeds 1..500 --strategy pct --pct-depth 2 --faults swarm --max-failures 1 || true)
  grep -qE "^stopped $bug at seed [0-9]+ after 1 failing seed \(--max-failures 1\)" <<<"$out" ||
    fail "$bug: not found within 500 pct seeds (or the sweep did not stop)"$'\n'"$out"
  replay=$(grep -m1 -E "^  replay: troupe replay $bug --seed [0-9]+ --strategy pct --pct-depth 2 --faults swarm  # trace hash 0x[0-9a-f]{16}$" <<<"$out") ||
    fail "$bug: no replay command with the pct options"$'\n'"$out"
  command=${replay#  replay: troupe }
  command=${command%%  # trace hash *}
  hash=${replay##*# trace hash }
  # shellcheck disable=SC2086  # the command is words
  got=$("$troupe" $command --trace "$tmp/$bug.jsonl" --trace-format jsonl || true)
  [[ $(hash_of "$got") == "$hash" ]] || fail "$bug: '$command' gave another hash than $hash"$'\n'"$got"
  schedule_command=${command/--strategy pct --pct-depth 2/--schedule $tmp/$bug.jsonl}
  # shellcheck disable=SC2086
  got=$("$troupe" $schedule_command || true)
  [[ $(hash_of "$got") == "$hash" ]] || fail "$bug: '$schedule_command' gave another hash than $hash"$'\n'"$got"
  echo "$bug: ${command#replay } and its schedule both give $hash"
done

for strategy in random pct; do
  trace="$tmp/resilient_$strategy.jsonl"
  got=$("$troupe" replay resilient_actor --seed 3 --strategy $strategy --trace "$trace" --trace-format jsonl)
  hash=$(hash_of "$got")
  decisions=$(grep -c '"kind":"decision"' "$trace")
  [[ $decisions -eq 5 ]] || fail "resilient_actor seed 3 under $strategy made $decisions decisions, expected 5"
  grep -qx "decisions: 5" <<<"$got" || fail "replay does not print the decision count"$'\n'"$got"
  got=$("$troupe" replay resilient_actor --seed 3 --schedule "$trace") || fail "the schedule replay failed"$'\n'"$got"
  [[ $(hash_of "$got") == "$hash" ]] || fail "the $strategy schedule replays to another hash than $hash"$'\n'"$got"
  echo "resilient_actor seed 3 ($strategy): its schedule replays to $hash"
done

# Decision 3 recorded with 3 ready items instead of 2.
awk '/"kind":"decision"/ && ++n == 3 { sub(/"call":"o2\./, "\"call\":\"o3.") } { print }' \
  "$tmp/resilient_random.jsonl" >"$tmp/tampered.jsonl"
status=0
got=$("$troupe" replay resilient_actor --seed 3 --schedule "$tmp/tampered.jsonl") || status=$?
[[ $status -eq 1 ]] || fail "a diverging replay exited $status, expected 1"
grep -qxF "outcome: DIVERGED: replay diverged at decision 3 of 5: the schedule recorded 3 ready items, the run has 2" <<<"$got" ||
  fail "no divergence report for the tampered schedule"$'\n'"$got"
# The last decision removed.
awk '/"kind":"decision"/ && ++n == 5 { next } { print }' "$tmp/resilient_random.jsonl" >"$tmp/short.jsonl"
got=$("$troupe" replay resilient_actor --seed 3 --schedule "$tmp/short.jsonl") && fail "a truncated schedule replayed"
grep -qxF "outcome: DIVERGED: replay diverged at decision 5: the run has 2 ready items to choose from, but the schedule ends after 4 decisions" <<<"$got" ||
  fail "no divergence report for the truncated schedule"$'\n'"$got"
# Another seed under the same schedule: departs from it somewhere, and says so.
got=$("$troupe" replay resilient_actor --seed 4 --schedule "$tmp/resilient_random.jsonl") && fail "seed 4 followed seed 3's schedule"
grep -qE "^outcome: DIVERGED: replay diverged" <<<"$got" || fail "no divergence report for seed 4"$'\n'"$got"
echo "tampered, truncated and foreign schedules are reported as divergences"
