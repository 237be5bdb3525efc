#!/usr/bin/env bash
# `troupe shrink` on every planted bug (issue 6): a failing swarm seed in 1..500 (of the first ten
# failures, the one that realized the most faults) is shrunk with the flags of its replay line; the
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
  local bug=$1
  shift
  local plan="$tmp/$bug.json"
  local out
  out=$("$troupe" shrink "$@" --out "$plan" 2>"$tmp/progress") ||
    fail "$bug: troupe shrink $* failed"$'\n'"$out"$'\n'"$(cat "$tmp/progress")"
  local message counts realized kept
  message=$(grep -m1 '^failure: ' <<<"$out") || fail "$bug: no failure line"$'\n'"$out"
  message=${message#failure: }
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
  echo "$bug: $* -> $kept of $realized faults, $(grep -m1 '^schedule: ' <<<"$out")"
}

bugs=$("$troupe" list | awk '/\[expect-fail\]/ {print $1}')
[[ -n "$bugs" ]] || fail "no planted bugs listed"
for bug in $bugs; do
  sweep=$("$troupe" run "$bug" --seeds 1..500 --faults swarm --max-failures 10 || true)
  best="" most=-1
  while IFS= read -r line; do
    command=${line#  replay: troupe }
    command=${command%%  # trace hash *}
    # shellcheck disable=SC2086
    realized=$({ "$troupe" $command || true; } | awk '/^faults realized: / {print $3}')
    if ((realized > most)); then best=$command most=$realized; fi
  done < <(grep -E "^  replay: troupe replay $bug " <<<"$sweep")
  [[ -n "$best" ]] || fail "$bug: not found within 500 swarm seeds"$'\n'"$sweep"
  # The replay line's own flags, with shrink instead of replay.
  # shellcheck disable=SC2086
  shrink_and_check "$bug" ${best#replay }
done

sweep=$("$troupe" run threaded_counter.bug_lost_update --seeds 1..100 --strategy pct --pct-depth 2 --faults swarm \
  --max-failures 1 || true)
line=$(grep -m1 -E '^  replay: troupe replay threaded_counter.bug_lost_update .* --strategy pct --pct-depth 2 ' <<<"$sweep") ||
  fail "threaded_counter.bug_lost_update: no pct failure in 100 seeds"$'\n'"$sweep"
command=${line#  replay: troupe replay }
command=${command%%  # trace hash *}
# shellcheck disable=SC2086
shrink_and_check threaded_counter.bug_lost_update $command
