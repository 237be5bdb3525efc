#!/usr/bin/env bash
# The JUnit report of a whole-library sweep (issue 6, acceptance 4): valid XML (xmllint), one
# <testcase> per scenario named with its seed range, and every failure carrying the replay command
# of its first seed. A named planted bug fails (so there is a failure to look at); the rest pass.
#   junit_report.sh TROUPE_BINARY
set -euo pipefail
troupe=$1
command -v xmllint >/dev/null || { echo "xmllint not found (Debian package libxml2-utils; tools/setup.sh installs it)"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
status=0
"$troupe" run --all counter.bug_lost_increment --seeds 1..40 --junit "$dir/report.xml" >"$dir/out" 2>&1 || status=$?
[[ $status -eq 1 ]] || { echo "exit status $status, expected 1 (the planted bug fails)"; cat "$dir/out"; exit 1; }
xmllint --noout "$dir/report.xml"
scenarios=$(( $("$troupe" list | grep '^  ' | grep -vc '\[expect-fail\]') + 1 ))
cases=$(xmllint --xpath 'count(//testsuite/testcase)' "$dir/report.xml")
[[ $cases -eq $scenarios ]] || { echo "$cases test cases, expected $scenarios"; exit 1; }
named=$(xmllint --xpath 'count(//testcase[@name="counter seeds 1..40"][@classname="troupe.counter"])' "$dir/report.xml")
[[ $named -eq 1 ]] || { echo "no test case 'counter seeds 1..40'"; exit 1; }
failures=$(xmllint --xpath 'count(//testcase/failure)' "$dir/report.xml")
[[ $failures -eq 1 ]] || { echo "$failures failures, expected 1"; exit 1; }
text=$(xmllint --xpath 'string(//testcase[@classname="troupe.counter.bug_lost_increment"]/failure)' "$dir/report.xml")
grep -qE "^  replay: troupe replay counter.bug_lost_increment --seed [0-9]+ --strategy random$" <<<"$text" ||
  { echo "the failure has no replay command:"; echo "$text"; exit 1; }
echo "junit_report: $cases test cases, valid XML, the failure names its replay command"
