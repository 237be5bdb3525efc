#!/usr/bin/env bash
# ctest `determinism_rules_output`: runs tools/check_determinism_rules.sh on this fixture tree and
# requires exit status 1 and exactly the report in expected.txt (each hit names file and line).
# After changing the fixture or the rules on purpose, regenerate with:
#   tools/check_determinism_rules.sh tests/determinism_rules > tests/determinism_rules/expected.txt
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
checker="$here/../../tools/check_determinism_rules.sh"

actual=$(bash "$checker" "$here" 2>/dev/null)
status=$?
if [[ $status -ne 1 ]]; then
  echo "FAIL: expected exit status 1 from the checker on the fixture, got $status" >&2
  exit 1
fi
if ! diff -u "$here/expected.txt" <(printf '%s\n' "$actual"); then
  echo "FAIL: checker output differs from expected.txt (diff above: - expected, + actual)" >&2
  exit 1
fi
echo "determinism_rules_output: $(wc -l <"$here/expected.txt") expected hits reported"
