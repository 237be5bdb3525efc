#!/usr/bin/env bash
# Every planted bug is found within 500 swarm seeds, and the printed replay command reproduces the
# same failure with the same trace hash (issue 3, acceptance 3).
#   planted_bugs_replay.sh TROUPE_BINARY
set -euo pipefail
troupe=$1
bugs=$("$troupe" list | awk '/\[expect-fail\]/ {print $1}')
[[ -n "$bugs" ]] || { echo "no planted bugs listed"; exit 1; }
for bug in $bugs; do
  out=$("$troupe" run "$bug" --seeds 1..500 --faults swarm || true)
  line=$(grep -m1 -E "^FAIL $bug seed [0-9]+: " <<<"$out" || true)
  [[ -n "$line" ]] || { echo "$bug: not found within 500 swarm seeds"; exit 1; }
  message=${line#*: }
  replay=$(grep -m1 -E "^  replay: troupe replay $bug " <<<"$out")
  command=${replay#  replay: troupe }
  command=${command%%  # trace hash *}
  hash=${replay##*# trace hash }
  # shellcheck disable=SC2086  # the command is words
  got=$("$troupe" $command || true)
  grep -qF "outcome: FAILED: $message" <<<"$got" || { echo "$bug: replay did not fail the same way"; echo "$got"; exit 1; }
  grep -qF "trace hash: $hash" <<<"$got" || { echo "$bug: replay hash differs from $hash"; echo "$got"; exit 1; }
  echo "$bug: found at ${line#FAIL $bug }; replay hash $hash"
done
