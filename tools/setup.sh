#!/usr/bin/env bash
# Installs the Debian packages Troupe needs to build and test, and only the missing ones.
#
# Idempotent: a second run finds everything installed, prints one line and changes nothing.
# Runs `apt-get update` only when something is missing. Works as root, or through sudo when not
# root and sudo exists. Used by tools/test.sh, tools/run.sh and (through test.sh) .ci/run, so a
# fresh machine or CI clone gets its toolchain from this one list.
set -euo pipefail

# Keep in sync with DESIGN.md §1 ("Dependencies, all from Debian packages") and §9.
PACKAGES=(
  build-essential
  cmake
  ninja-build
  ccache
  g++
  clang-14
  clang               # provides the plain `clang++` the `clang` preset uses
  libclang-rt-14-dev  # clang's ASan/UBSan runtimes
  libboost-context-dev
  libboost-dev        # header-only Boost, incl. Asio for the real platform
  libabsl-dev
  libfmt-dev
  libmsgpack-cxx-dev
  nlohmann-json3-dev  # JSON fault plan files (faults/, DESIGN §5)
  librapidcheck-dev
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  libcaf-dev          # the CAF baseline for tools/bench (troupe_caf_bench, issue 9)
  libssl-dev          # libcrypto: HMAC for cluster auth (DESIGN §1)
  libxml2-utils       # xmllint: tests check the JUnit report is valid XML
  chromium            # headless, renders the HTML timeline in its test (tests/cli/html_timeline_render.py)
  python3             # test scripts and PNG decoding (stdlib only; Debian's python3, not a pyenv one)
)

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script supports Debian/Ubuntu only"

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == installed ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  say "all ${#PACKAGES[@]} packages present, nothing to install"
  exit 0
fi

say "missing: ${missing[*]}"

if [[ $(id -u) -eq 0 ]]; then
  as_root=(env)
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo env)
else
  die "not root and sudo is not available; install as root: apt-get install -y ${missing[*]}"
fi

log=$(mktemp "${TMPDIR:-/tmp}/troupe-setup.XXXXXX")
trap 'rm -f "$log"' EXIT

say "apt-get update"
"${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >"$log" 2>&1 \
  || { cat "$log" >&2; die "apt-get update failed (log above)"; }

say "apt-get install ${missing[*]}"
"${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
  </dev/null >>"$log" 2>&1 \
  || { tail -n 40 "$log" >&2; die "apt-get install failed (log tail above)"; }

still=()
for pkg in "${missing[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == installed ]] || still+=("$pkg")
done
((${#still[@]} == 0)) || die "still not installed after apt-get: ${still[*]}"
say "installed ${#missing[@]} package(s)"
