// `troupe run`: sweeping scenarios over a seed range, and reporting what failed.
//
// Each seed runs once (or twice with --check-determinism, comparing traces). Every failure is
// printed when it happens, with the exact command that replays it; at the end a table gives per
// scenario the seeds run, failures, distinct failure messages and wall time, then the
// `sometimes` probes never hit and, with --check-determinism, the divergences.
//
// Planted bugs (expect_fail) selected with --bugs are judged the other way round: such a
// scenario passes when at least one seed fails (the harness found the bug). A planted bug named
// on the command line without --bugs is judged like any scenario: finding it exits 1 (DESIGN §6).
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "scenarios/scenario.h"
#include "tools/troupe/args.h"

namespace troupe::cli {

struct SeedFailure {
  uint64_t seed = 0;
  std::string message;
  uint64_t trace_hash = 0;
};

struct Divergence {
  uint64_t seed = 0;
  uint64_t event_index = 0;
  std::string first_event;
  std::string second_event;
  uint64_t first_hash = 0;
  uint64_t second_hash = 0;
};

struct FailureGroup {
  uint64_t count = 0;
  uint64_t first_seed = 0;
};

struct ScenarioResult {
  const scenarios::Scenario* scenario = nullptr;
  bool judged_as_bug = false;  // selected by --bugs: passes when some seed fails
  uint64_t seeds_run = 0;
  std::vector<SeedFailure> failures;
  std::map<std::string, FailureGroup> distinct;  // failure message -> how often, first seed
  std::set<std::string> sometimes_declared;
  std::set<std::string> sometimes_hit;
  std::vector<Divergence> divergences;
  std::map<std::string, uint64_t> fault_kinds;  // realized faults by kind ("crash"), over all seeds
  // --max-failures: the seed after which the scenario's sweep stopped, with seeds of the range
  // left (unset when it ran them all).
  std::optional<uint64_t> stopped_at_seed;
  uint64_t failed_seeds = 0;  // seeds that failed or diverged (a seed that does both counts once)
  double wall_seconds = 0;

  bool passed() const;
  // "passed", "FAILED", "bug found (expected)", "bug NOT found", "FAILED (planted bug found)".
  std::string verdict() const;
};

struct SweepResult {
  RunCommand command;
  std::vector<ScenarioResult> scenarios;

  uint64_t divergence_count() const;
  // kExitPassed when every scenario passed, else kExitFailed.
  int exit_code() const;
};

// Runs `selected` over command.seeds; prints failures to `out` as they happen and progress to
// `err`. Does not print the summary.
SweepResult run_sweep(const std::vector<const scenarios::Scenario*>& selected, const RunCommand& command,
                      std::FILE* out, std::FILE* err);

// The table, never-hit probes, divergences and the final line.
void print_summary(const SweepResult& result, std::FILE* out);

// The --json report: {"seeds":{...},"strategy":..,["pct_depth":..,"pct_steps":..(0: adaptive),]
// "platform":..,"check_determinism":..,"max_failures":..(0: none),"exit_code":..,
// "scenarios":[{"name","expect_fail","judged_as_bug","passed","seeds",
// "failures":[{"seed","message","trace_hash","replay"}],"distinct_failures",
// "sometimes_never_hit":[...],"divergences":[...],"stopped_at_seed":N|null,"wall_seconds"}]}.
// pct_depth and pct_steps appear under --strategy pct only. Hashes are "0x" + 16 hex digits
// (strings: JSON numbers cannot hold every 64-bit value).
std::string sweep_json(const SweepResult& result);

}  // namespace troupe::cli
