// `troupe regress PATH...`: the regression corpus (tests/regressions) replayed and judged.
//
// Each PATH is a plan file, or a directory whose *.json files (not its subdirectories) are taken in
// name order. Every plan is loaded and checked before anything runs: it must name a scenario of the
// registry and a seed, and have an expect section (faults/plan.h, Expectation). A plan that does
// not, a path that cannot be read, or a directory without plans is a usage error naming the file.
// Then each plan runs exactly as `troupe replay --plan FILE` runs it (its scenario and seed under
// the simulator, its faults, its schedule section or else the random strategy) and its outcome is
// compared with its expectation by meets_expectation (tools/troupe/shrink.h):
//
//   ok        tests/regressions/counter.bug_lost_increment.json  (fails as expected: always 'x' failed: 2)
//   ok        tests/regressions/resilient_actor.crash.json  (passes as expected)
//   MISMATCH  tests/regressions/stale.json
//     expected: fail (match check): always 'x'
//     got:      passed
//     replay:   troupe replay --plan tests/regressions/stale.json
//   3 regressions: 2 ok, 1 mismatched
//
// An ok line shows the first line of the run's failure, cut to 160 bytes; a MISMATCH shows what the
// expectation compares (failure_key) and the run's whole failure. The lines depend on the plans
// and the runs only (no times), so tests compare them exactly.
// Exit status: kExitPassed when every plan met its expectation, kExitFailed when one did not,
// kExitUsage for bad input (then nothing ran).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "faults/plan.h"
#include "scenarios/scenario.h"
#include "tools/troupe/args.h"

namespace troupe::cli {

// The most plans one `troupe regress` takes (a limit, like kMaxSeeds: a wrong directory should not
// start hours of runs).
inline constexpr size_t kRegressPlansMax = 100'000;

// One plan of the corpus, loaded and checked.
struct Regression {
  std::string path;                        // as given, or the directory joined with the file name
  faults::FaultPlan plan;                  // has scenario, seed and expect
  const scenarios::Scenario* scenario = nullptr;  // plan.scenario, found in the registry
};

// The plans `paths` name, in order (a directory's *.json files sorted by name), each loaded and
// checked as described above; the first problem is InvalidArgument naming the file, e.g.
//   "tests/regressions/x.json: has no expect section (a regression plan says what its run must do;
//    docs/fault-plans.md)"
absl::StatusOr<std::vector<Regression>> load_regressions(const std::vector<std::string>& paths,
                                                         const scenarios::Registry& registry);

// The subcommand: loads, replays and judges every plan, printing a line per plan and the summary on
// `out` and usage errors on `err`.
int regress_command(const RegressCommand& command, const scenarios::Registry& registry, std::FILE* out,
                    std::FILE* err);

}  // namespace troupe::cli
