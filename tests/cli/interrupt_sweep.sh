#!/usr/bin/env bash
# Ctrl-C on a sweep (issue 6, acceptance 6): the whole process group gets SIGINT, as from a
# terminal, while `troupe run --jobs J` is sweeping. The sweep must exit 130, print the summary of
# the seeds that ran and the seed ranges that did not, and leave no worker process behind.
#   interrupt_sweep.sh TROUPE_BINARY JOBS
set -euo pipefail
troupe=$1
jobs=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# A range far too long to finish: the interrupt always lands mid-sweep.
setsid "$troupe" run counter database --seeds 1..1000000 --jobs "$jobs" >"$out" 2>/dev/null &
pid=$!
sleep 1.5
kill -INT -- "-$pid"
status=0
wait "$pid" || status=$?
fail() { echo "interrupt_sweep (--jobs $jobs): $*"; cat "$out"; exit 1; }
[[ $status -eq 130 ]] || fail "exit status $status, expected 130"
grep -qE "^interrupted \(Ctrl-C\): [0-9]+ of 2000000 seeds ran; the summary covers those. Not run:$" "$out" ||
  fail "no interrupted line"
grep -qE "^  counter: seeds [0-9]+\.\.1000000$|^  counter: seeds .*, [0-9]+\.\.1000000$" "$out" || fail "counter's unrun range missing"
grep -qE "^  database: seeds 1\.\.1000000$" "$out" || fail "database should not have started"
grep -qE "^counter +[1-9][0-9]* +0 +0 .* passed so far" "$out" || fail "counter's row missing"
grep -qE "^database +0 +0 +0 .* not run" "$out" || fail "database's row missing"
# No process of the sweep's session (setsid made its id the session id) is left: field 6 of
# /proc/PID/stat is the session (the name in field 2 has no spaces: "troupe").
sleep 0.2
left=""
for stat in /proc/[0-9]*/stat; do
  read -r -a fields <"$stat" 2>/dev/null || continue
  [[ ${fields[5]:-} == "$pid" ]] && left+=" ${fields[0]}(${fields[1]})"
done
[[ -z $left ]] || fail "processes of the sweep's session are still running:$left"
echo "interrupt_sweep (--jobs $jobs): $(grep -E '^interrupted' "$out")"
