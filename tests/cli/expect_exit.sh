#!/usr/bin/env bash
# Runs a command and checks its exit status and, optionally, its output (stdout and stderr):
#   expect_exit.sh STATUS REGEX COMMAND [ARGS...]
# REGEX is an extended regular expression the combined output must match ("" for none).
# Prints the command's output, then a verdict; exits 0 when both checks hold, 1 otherwise.
set -uo pipefail

if (($# < 3)); then
  echo "usage: $0 STATUS REGEX COMMAND [ARGS...]" >&2
  exit 2
fi
expected=$1
pattern=$2
shift 2

output=$("$@" 2>&1)
status=$?
printf '%s\n' "$output"
if [[ $status -ne $expected ]]; then
  echo "expect_exit: '$*' exited $status, expected $expected" >&2
  exit 1
fi
if [[ -n $pattern ]] && ! grep -Eq -- "$pattern" <<<"$output"; then
  echo "expect_exit: the output of '$*' does not match /$pattern/" >&2
  exit 1
fi
echo "expect_exit: ok (exit $status)"
