#!/usr/bin/env bash
# Issue 7's acceptance 2: a failing TROUPE_SIM_TEST prints its seed and the command that reruns
# only that seed; running that command reruns exactly one seed and fails the same way.
#
#   sim_test_rerun.sh BINARY   (BINARY: tests/testing/sim_test_failure_example.cc, built)
set -euo pipefail

bin=$(realpath "$1")
test_name=Account.ConcurrentDepositsAddUp
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# 1. The whole range: the first failing seed stops the test.
status=0
"$bin" --gtest_filter=$test_name >"$work/first.txt" 2>&1 || status=$?
[[ $status -eq 1 ]] || { cat "$work/first.txt"; fail "the test exited $status, expected 1"; }
header=$(grep "^TROUPE_SIM_TEST $test_name failed on seed " "$work/first.txt" || true)
[[ -n "$header" ]] || { cat "$work/first.txt"; fail "no 'failed on seed' report"; }
seed=$(sed -E 's/^.* failed on seed ([0-9]+) .*/\1/' <<<"$header")
passed_before=$(sed -E 's/^.*\(([0-9]+) seeds? passed before it.*/\1/' <<<"$header")
((passed_before >= 1)) || fail "seed $seed was the first of the range; the rerun would prove nothing ($header)"
[[ "$header" == *"; seeds 1..500, strategy random, faults: none)" ]] || fail "unexpected header: $header"

rerun=$(grep -A1 '^rerun only this seed:$' "$work/first.txt" | tail -n 1 | sed 's/^  //')
expected_rerun="TROUPE_SEED=$seed $bin --gtest_filter=$test_name"
[[ "$rerun" == "$expected_rerun" ]] || fail "rerun command '$rerun', expected '$expected_rerun'"
# Every EXPECT failure inside the seed names it too (GoogleTest's trace).
grep -qF "troupe seed $seed (rerun: $expected_rerun)" "$work/first.txt" || fail "the EXPECT failure does not name the seed"

grep -qxF "once fixed, keep it as a regression: add $seed to the test's .regression_seeds" "$work/first.txt" ||
  fail "no line saying how to keep seed $seed as a regression"

# 2. The rerun command, as printed, through a shell.
status=0
bash -c "$rerun" >"$work/rerun.txt" 2>&1 || status=$?
[[ $status -eq 1 ]] || { cat "$work/rerun.txt"; fail "the rerun exited $status, expected 1"; }
rerun_header=$(grep "^TROUPE_SIM_TEST $test_name failed on seed " "$work/rerun.txt" || true)
expected_header="TROUPE_SIM_TEST $test_name failed on seed $seed (0 seeds passed before it; seeds $seed..$seed, strategy random, faults: none)"
[[ "$rerun_header" == "$expected_header" ]] || fail "rerun header '$rerun_header', expected '$expected_header'"

# 3. The same failure: the report's body (time, assertion, values, faults) is identical.
report_body() { sed -n '/^  at simulated time/,/^rerun only this seed:$/p' "$1"; }
report_body "$work/first.txt" >"$work/first_body.txt"
report_body "$work/rerun.txt" >"$work/rerun_body.txt"
[[ -s "$work/first_body.txt" ]] || fail "no report body in the first run"
diff -u "$work/first_body.txt" "$work/rerun_body.txt" || fail "the rerun failed differently"
grep -q "Which is: 20" "$work/rerun_body.txt" || fail "the rerun's assertion is not the lost deposit"

# 4. A seed that passes, rerun alone, passes: exactly one seed ran.
pass_seed=1
((seed != pass_seed)) || fail "seed 1 failed, but it passed before seed $seed in the first run"
status=0
TROUPE_SEED=$pass_seed "$bin" --gtest_filter=$test_name >"$work/pass.txt" 2>&1 || status=$?
[[ $status -eq 0 ]] || { cat "$work/pass.txt"; fail "seed $pass_seed alone exited $status"; }
grep -q "^\[ troupe   \] $test_name: 1 seed passed ($pass_seed..$pass_seed, " "$work/pass.txt" ||
  { cat "$work/pass.txt"; fail "seed $pass_seed alone did not report exactly one seed"; }

# 5. A regression seed runs before the range: seed 2 of the same bug, listed in .regression_seeds.
status=0
"$bin" --gtest_filter=Account.RegressionSeedRunsFirst >"$work/regression.txt" 2>&1 || status=$?
[[ $status -eq 1 ]] || { cat "$work/regression.txt"; fail "the regression-seed test exited $status, expected 1"; }
expected="TROUPE_SIM_TEST Account.RegressionSeedRunsFirst failed on regression seed 2 (0 seeds passed before it; seeds 1..500 after regression seeds 2, strategy random, faults: none)"
grep -qxF "$expected" "$work/regression.txt" || { cat "$work/regression.txt"; fail "expected: $expected"; }

# 6. The timeline command the report prints writes the seed's HTML timeline (and TROUPE_TRACE its
#    events), marked failed with the assertion; without TROUPE_SEED both are refused.
timeline=$(grep -A1 '^its timeline (and TROUPE_TRACE=FILE.jsonl for every event):$' "$work/first.txt" | tail -n 1 | sed 's/^  //')
expected_timeline="TROUPE_SEED=$seed TROUPE_HTML=$test_name.seed$seed.html $bin --gtest_filter=$test_name"
[[ "$timeline" == "$expected_timeline" ]] || fail "timeline command '$timeline', expected '$expected_timeline'"
status=0
(cd "$work" && TROUPE_TRACE="$work/seed.jsonl" bash -c "$timeline") >"$work/timeline.txt" 2>&1 || status=$?
[[ $status -eq 1 ]] || { cat "$work/timeline.txt"; fail "the timeline run exited $status, expected 1"; }
html="$work/$test_name.seed$seed.html"
grep -qxF "[ troupe   ] html: $test_name.seed$seed.html" "$work/timeline.txt" || fail "no 'html:' line"
grep -qF '"passed":false' "$html" || fail "the timeline is not marked failed"
grep -qF 'Which is: 20' "$html" || fail "the timeline does not carry the assertion"
grep -q '"kind":"process_start"' "$work/seed.jsonl" || fail "TROUPE_TRACE wrote no events"
status=0
TROUPE_HTML="$work/x.html" "$bin" --gtest_filter=$test_name >"$work/refused.txt" 2>&1 || status=$?
[[ $status -eq 1 ]] || fail "TROUPE_HTML without TROUPE_SEED exited $status"
grep -qF "TROUPE_HTML=$work/x.html needs TROUPE_SEED: a file records one seed" "$work/refused.txt" ||
  { cat "$work/refused.txt"; fail "TROUPE_HTML without TROUPE_SEED was not refused by name"; }
[[ ! -e "$work/x.html" ]] || fail "a refused TROUPE_HTML still wrote its file"

# 7. What GoogleTest cannot see fails a seed too, with the run's own message.
expect_failure() {  # TEST SEED LINE...: the report names SEED and has each LINE, exactly
  local name=$1 want_seed=$2
  shift 2
  local status=0
  "$bin" --gtest_filter="$name" >"$work/other.txt" 2>&1 || status=$?
  [[ $status -eq 1 ]] || { cat "$work/other.txt"; fail "$name exited $status, expected 1"; }
  grep -q "^TROUPE_SIM_TEST $name failed on seed $want_seed " "$work/other.txt" ||
    { cat "$work/other.txt"; fail "$name did not fail on seed $want_seed"; }
  local line
  for line in "$@"; do
    grep -qxF -- "$line" "$work/other.txt" || { cat "$work/other.txt"; fail "$name: no line '$line'"; }
  done
}
expect_failure Failures.ABodyThatThrows 2 "    driver threw std::runtime_error: the body gave up on seed 2"
expect_failure Failures.ACallPastTheDeadline 1 "  at simulated time 2.000000 s:" \
  "    liveness: Failures.ACallPastTheDeadline did not finish by its deadline of 2 s (simulated); still waiting:"
expect_failure Failures.AnAlwaysCheck 2 "    always 'seed is odd' failed: seed 2"

echo "ok: seed $seed failed after $passed_before passing; '$rerun' reran it alone and failed the same way"
