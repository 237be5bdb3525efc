#!/usr/bin/env bash
# Sets up, builds the `troupe` CLI (default preset) and runs a sweep.
#
#   tools/run.sh                        troupe run --all --seeds 1..2000 --faults swarm --check-determinism
#                                         --jobs <cores>
#   tools/run.sh counter --seeds 1..50  troupe run counter --seeds 1..50
#   tools/run.sh replay counter --seed 7 ...   other subcommands (list, replay, shrink, run)
#                                              are passed through as they are
#
# Environment: JOBS (build parallelism, default 2), CCACHE_DIR / CCACHE_MAXSIZE as in test.sh.
# Exits with troupe's status (0 all passed, 1 some failed, 2 bad usage; DESIGN §7).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

jobs=${JOBS:-2}
export CCACHE_DIR=${CCACHE_DIR:-${HOME:-/root}/.cache/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-2G}
# Hash paths relative to the checkout, so another clone (CI's, a second worktree) hits the same
# cache entries. (Cost: on such a hit, the object's DW_AT_comp_dir names the other build dir.)
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}

"$root/tools/setup.sh"
cmake --preset default >/dev/null
cmake --build --preset default --target troupe -j "$jobs"

troupe="$root/build/default/tools/troupe/troupe"
[[ -x "$troupe" ]] || { echo "run.sh: $troupe was not built" >&2; exit 1; }

if (($# == 0)); then
  set -- run --all --seeds 1..2000 --faults swarm --check-determinism --jobs "$(nproc)"
else
  case "$1" in
    run | list | replay | shrink | head | node | help | -h | --help) ;;
    *) set -- run "$@" ;;
  esac
fi

echo "run.sh: troupe $*"
exec "$troupe" "$@"
