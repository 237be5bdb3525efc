#!/usr/bin/env bash
# `troupe shrink` on every planted bug (issue 6, acceptance 3). Two seeds of each bug, shrunk with
# the flags of their replay lines:
#   * the first failing swarm seed that realized at least 4 faults (so the bound must remove some;
#     the first failing seed if none did), with the default --match message: the same failure,
#     every character;
#   * the failing seed of 1..500 that realized the most faults, with --match check (the same check
#     failing, any detail: a message naming a round or a client that shifts as faults go).
# Each time the
# plan keeps at most max(3, realized/4) faults, and `troupe replay SCENARIO --seed N --plan PLAN`,
# as well as `troupe replay --plan PLAN` alone, fails with the same message. One bug is also
# shrunk from a pct run.
#   planted_bugs_shrink.sh TROUPE_BINARY
set -euo pipefail
troupe=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "planted_bugs_shrink: $*"; exit 1; }

# shrink_and_check BUG REPLAY_ARGS... : shrinks the run the replay arguments describe and checks
# the plan against the bound and by replaying it.
shrink_and_check() {
  local match=$1 bug=$2
  shift 2
  local plan="$tmp/$bug.json"
  local out
  out=$("$troupe" shrink "$@" --match "$match" --out "$plan" 2>"$tmp/progress") ||
    fail "$bug: troupe shrink $* failed"$'\n'"$out"$'\n'"$(cat "$tmp/progress")"
  local message counts realized kept
  message=$(grep -m1 '^failure: ' <<<"$out") || fail "$bug: no failure line"$'\n'"$out"
  message=${message#failure: }
  if [[ $match == check ]]; then
    # The plan may fail the same check with another detail: replay must print the plan's own.
    local own
    own=$(grep -m1 '^failure of the plan: ' <<<"$out" || true)
    [[ -n $own ]] && message=${own#failure of the plan: }
  fi
  counts=$(grep -m1 -E '^faults: [0-9]+ realized by the seed \([0-9]+ planned\) -> [0-9]+ in the plan$' <<<"$out") ||
    fail "$bug: no fault counts"$'\n'"$out"
  realized=$(cut -d' ' -f2 <<<"$counts")
  kept=$(awk '{print $(NF-3)}' <<<"$counts")
  local bound=$((realized / 4 > 3 ? realized / 4 : 3))
  ((kept <= bound)) || fail "$bug: $kept faults kept of $realized realized (at most $bound)"$'\n'"$out"
  local replay
  replay=$(grep -m1 '^replay: troupe replay ' <<<"$out") || fail "$bug: no replay command"$'\n'"$out"
  replay=${replay#replay: troupe }
  local got
  # shellcheck disable=SC2086  # the command is words
  got=$("$troupe" $replay || true)
  grep -qxF "outcome: FAILED: $message" <<<"$got" || fail "$bug: '$replay' did not fail the same way"$'\n'"$got"
  got=$("$troupe" replay --plan "$plan" || true)
  grep -qxF "outcome: FAILED: $message" <<<"$got" || fail "$bug: 'replay --plan $plan' did not fail the same way"$'\n'"$got"
  echo "$bug (--match $match): $* -> $kept of $realized faults, $(grep -m1 '^schedule: ' <<<"$out")"
}

bugs=$("$troupe" list | awk '/\[expect-fail\]/ {print $1}')
[[ -n "$bugs" ]] || fail "no planted bugs listed"
for bug in $bugs; do
  "$troupe" run "$bug" --seeds 1..500 --faults swarm --jobs 2 --json "$tmp/sweep.json" >/dev/null 2>&1 || true
  # The first failing seed with 4 faults or more, and the one that realized the most faults
  # (ties: the lowest seed).
  seeds=$(python3 - "$tmp/sweep.json" <<'PY'
import json, sys
failures = json.load(open(sys.argv[1]))["scenarios"][0]["failures"]
if failures:
    print(next((f for f in failures if f["faults"] >= 4), failures[0])["replay"])
    print(max(failures, key=lambda f: (f["faults"], -f["seed"]))["replay"])
PY
)
  [[ -n "$seeds" ]] || fail "$bug: not found within 500 swarm seeds"
  first=$(sed -n 1p <<<"$seeds")
  most=$(sed -n 2p <<<"$seeds")
  # The replay line's own flags, with shrink instead of replay.
  # shellcheck disable=SC2086
  shrink_and_check message "$bug" ${first#troupe replay }
  # shellcheck disable=SC2086
  shrink_and_check check "$bug" ${most#troupe replay }
done

sweep=$("$troupe" run threaded_counter.bug_lost_update --seeds 1..100 --strategy pct --pct-depth 2 --faults swarm \
  --max-failures 1 || true)
line=$(grep -m1 -E '^  replay: troupe replay threaded_counter.bug_lost_update .* --strategy pct --pct-depth 2 ' <<<"$sweep") ||
  fail "threaded_counter.bug_lost_update: no pct failure in 100 seeds"$'\n'"$sweep"
command=${line#  replay: troupe replay }
command=${command%%  # trace hash *}
# shellcheck disable=SC2086
shrink_and_check message threaded_counter.bug_lost_update $command
