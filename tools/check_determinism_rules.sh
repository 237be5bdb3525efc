#!/usr/bin/env bash
# Checks the determinism rules of the simulated code: tools/check_determinism_rules.sh [ROOT]
#
# A seed must replay the same run, event for event, under g++ and clang++ (DESIGN intro, §4).
# So the code that runs inside the simulator — sim/, faults/, scenarios/, runtime/core/,
# runtime/fiber/, runtime/wire/ — must take time, randomness, threads and identity only from the
# platform seam, never from the OS or the standard library. This script bans the usual leaks:
#
#   OS threads        std::thread, std::jthread, std::async, std::this_thread::sleep_*
#   wall/real clocks  system_/steady_/high_resolution_/utc_/tai_/gps_/file_clock, absl::Now(,
#                     absl::GetCurrentTimeNanos(, gettimeofday(, clock_gettime(, timespec_get(,
#                     time(NULL|nullptr|0|&...)
#   randomness        rand(, srand(, rand_r(, *rand48(, random_device, default_random_engine,
#                     the std:: distributions (their output differs between libstdc++ and
#                     libc++; use runtime/core/random.h), std::shuffle / random_shuffle / sample,
#                     absl::BitGen / InsecureBitGen (seeded from the OS)
#   process identity  getpid(, gettid(
#   unordered std     std::unordered_{map,set,multimap,multiset}: iteration order depends on the
#                     library and the hash; use std::map / std::set, or absl with sorted keys
#
# Not checked (too hard to tell from text): iterating an absl::flat_hash_* / node_hash_* where
# the order reaches behaviour or the trace — absl::Hash is seeded per process, so such order
# changes from run to run; sort the keys first. Likewise hashing or ordering by pointer value.
#
# Scope: *.h *.hpp *.cc *.cpp under those directories (the ones that exist), except *_test.cc and
# *_test.cpp files. Text inside // and /* */ comments and inside string and character literals is
# ignored. A line containing `// determinism: allowed (REASON)` (non-empty reason) is skipped.
# The C functions (rand(, getpid(, ...) count only as calls: not as members (x.rand(, Rng::rand()
# nor after a type name (`Pid getpid() const;` declares one); an unqualified call of a member
# named like them still counts: qualify it (this->rand()) or use the escape.
#
# Output: one `path:line: forbidden WHAT: LINE` per hit (path relative to ROOT), exit 1;
# or `determinism rules: N files clean`, exit 0. Exit 2 on bad usage.
set -euo pipefail

if (($# > 1)); then
  echo "usage: $0 [ROOT]" >&2
  exit 2
fi
root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
if [[ ! -d "$root" ]]; then
  echo "check_determinism_rules: no such directory: $root" >&2
  exit 2
fi
cd "$root"

dirs=()
for d in sim faults scenarios runtime/core runtime/fiber runtime/wire; do
  [[ -d "$d" ]] && dirs+=("$d")
done

files=()
if ((${#dirs[@]} > 0)); then
  mapfile -t files < <(find "${dirs[@]}" -type f \
    \( -name '*.h' -o -name '*.hpp' -o -name '*.cc' -o -name '*.cpp' \) \
    ! -name '*_test.cc' ! -name '*_test.cpp' | LC_ALL=C sort)
fi

if ((${#files[@]} == 0)); then
  echo "determinism rules: 0 files clean"
  exit 0
fi

LC_ALL=C awk -v nfiles="${#files[@]}" '
BEGIN {
  # Each rule: a regex over the code of a line (comments and literals removed).
  # kind "word": the match must not touch an identifier character on either side.
  # kind "call": as "word", and not be a member (x.f(, p->f() or qualified by another scope
  # (Foo::f(): only std:: or a leading :: qualify a banned C function.
  n = 0
  rule[++n] = "std::j?thread";                                   kind[n] = "word"
  rule[++n] = "std::async";                                      kind[n] = "word"
  rule[++n] = "std::this_thread::sleep_(for|until)";             kind[n] = "word"
  rule[++n] = "(std::|::)?(s?rand|rand_r|[sdejlmn]rand48)[ \t]*[(]"; kind[n] = "call"
  rule[++n] = "random_device";                                   kind[n] = "word"
  rule[++n] = "default_random_engine";                           kind[n] = "word"
  rule[++n] = "(system|steady|high_resolution|utc|tai|gps|file)_clock"; kind[n] = "word"
  rule[++n] = "absl::(Now|GetCurrentTimeNanos)[ \t]*[(]";        kind[n] = "word"
  rule[++n] = "(std::|::)?(gettimeofday|clock_gettime|timespec_get)[ \t]*[(]"; kind[n] = "call"
  rule[++n] = "(std::|::)?time[ \t]*[(][ \t]*(NULL|nullptr|0|&[^)]*)[ \t]*[)]"; kind[n] = "call"
  rule[++n] = "(uniform_int|uniform_real|bernoulli|binomial|negative_binomial|geometric|poisson|exponential|gamma|weibull|extreme_value|normal|lognormal|chi_squared|cauchy|fisher_f|student_t|discrete|piecewise_constant|piecewise_linear)_distribution"; kind[n] = "word"
  rule[++n] = "generate_canonical";                              kind[n] = "word"
  rule[++n] = "std::(ranges::)?(shuffle|random_shuffle|sample)"; kind[n] = "word"
  rule[++n] = "absl::(Insecure)?BitGen";                         kind[n] = "word"
  rule[++n] = "(std::|::)?(getpid|gettid)[ \t]*[(]";             kind[n] = "call"
  rule[++n] = "std::unordered_(multimap|multiset|map|set)";      kind[n] = "word"
  nrules = n
  escape = "//[ \t]*determinism:[ \t]*allowed[ \t]*[(][^)]*[^) \t][^)]*[)]"
  hits = 0
}

FNR == 1 { state = "code" }

# Returns the code of `line` with comments and the contents of string and character literals
# removed. `state` carries /* */ comments and raw strings across lines.
function strip(line,    out, i, n, c, c2, p, j, d, delim) {
  if (state == "code" && line !~ /[\/"\x27]/) return line
  out = ""; i = 1; n = length(line)
  while (i <= n) {
    if (state == "block") {
      p = index(substr(line, i), "*/")
      if (p == 0) return out
      i += p + 1; state = "code"; out = out " "; continue
    }
    if (state == "raw") {
      p = index(substr(line, i), raw_end)
      if (p == 0) return out
      i += p - 1 + length(raw_end); state = "code"; out = out "\"\""; continue
    }
    c = substr(line, i, 1); c2 = substr(line, i + 1, 1)
    if (c == "/" && c2 == "/") return out
    if (c == "/" && c2 == "*") { state = "block"; i += 2; continue }
    if (c == "\"") {
      if (out ~ /(^|[^A-Za-z0-9_])(u8|u|U|L)?R$/) {          # raw string R"delim( ... )delim"
        p = index(substr(line, i + 1), "(")
        if (p > 0) {
          delim = substr(line, i + 1, p - 1)
          raw_end = ")" delim "\""
          state = "raw"; i += p + 1; continue
        }
      }
      j = i + 1
      while (j <= n) {
        d = substr(line, j, 1)
        if (d == "\\") j += 2
        else if (d == "\"") break
        else j++
      }
      out = out "\"\""; i = j + 1; continue
    }
    if (c == "\x27") {
      # A digit separator (1\x27000\x27000, 0xFF\x27FF) is part of a number; otherwise a literal.
      if (out ~ /(^|[^A-Za-z0-9_])[0-9][A-Za-z0-9_\x27.]*$/) { out = out c; i++; continue }
      j = i + 1
      while (j <= n) {
        d = substr(line, j, 1)
        if (d == "\\") j += 2
        else if (d == "\x27") break
        else j++
      }
      out = out "\x27\x27"; i = j + 1; continue
    }
    out = out c; i++
  }
  return out
}

function report(what, line) {
  gsub(/^[ \t]+|[ \t\r]+$/, "", line)
  gsub(/[ \t]+/, " ", what); gsub(/ ?[(] ?/, "(", what); gsub(/ [)]/, ")", what)
  printf "%s:%d: forbidden %s: %s\n", FILENAME, FNR, what, line
  hits++
  bad[FILENAME] = 1
}

{
  code = strip($0)
  if ($0 ~ escape) next
  nh = 0
  for (r = 1; r <= nrules; r++) {
    rest = code; off = 0
    while (match(rest, rule[r])) {
      s = RSTART; l = RLENGTH
      pos = off + s
      before = (pos > 1) ? substr(code, pos - 1, 1) : ""
      after = substr(code, pos + l, 1)
      last = substr(rest, s + l - 1, 1)
      ok = 1
      if (before ~ /[A-Za-z0-9_]/) ok = 0
      if (last ~ /[A-Za-z0-9_]/ && after ~ /[A-Za-z0-9_]/) ok = 0
      if (kind[r] == "call") {
        if (before ~ /[.>:]/) ok = 0
        # `Pid getpid() const;` declares a function of that name: the previous token is a
        # type name. A call follows an operator, a bracket or one of these keywords.
        head = substr(code, 1, pos - 1)
        if (match(head, /[A-Za-z_][A-Za-z0-9_]*[ \t]+$/)) {
          prev = substr(head, RSTART)
          gsub(/[ \t]+$/, "", prev)
          if (prev !~ /^(return|co_return|co_yield|co_await|throw|case|else|do|and|or|not)$/) ok = 0
        }
      }
      if (ok) { hpos[++nh] = pos; hwhat[nh] = substr(rest, s, l); break }
      rest = substr(rest, s + 1); off += s
    }
  }
  # Report in column order (insertion sort; a line has few hits).
  for (a = 2; a <= nh; a++) {
    p = hpos[a]; w = hwhat[a]
    for (b = a - 1; b >= 1 && hpos[b] > p; b--) { hpos[b + 1] = hpos[b]; hwhat[b + 1] = hwhat[b] }
    hpos[b + 1] = p; hwhat[b + 1] = w
  }
  for (a = 1; a <= nh; a++) report(hwhat[a], $0)
}

END {
  if (hits > 0) {
    nbad = 0
    for (f in bad) nbad++
    printf "determinism rules: %d violation(s) in %d of %d files; use the platform seam, or mark a " \
           "line that is safe with // determinism: allowed (reason)\n", hits, nbad, nfiles > "/dev/stderr"
    exit 1
  }
  printf "determinism rules: %d files clean\n", nfiles
}
' "${files[@]}"
