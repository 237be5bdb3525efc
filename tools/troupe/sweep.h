// `troupe run`: sweeping scenarios over a seed range, and reporting what failed.
//
// Each seed runs once (or twice with --check-determinism, comparing traces), in this process or,
// with --jobs N, in N forked worker processes (tools/troupe/workers.h). Either way the results are
// folded in order — scenario by scenario, seed by seed — so everything printed and reported
// except timings is the same for every N: each failure, printed as it is folded with the exact
// command that replays it; then a table giving per scenario the seeds run, failures, distinct
// failure messages, wall time, the sweep hash (every seed's trace hash, combined in seed order:
// one number that says two sweeps ran the same runs), the fault kinds realized and the verdict;
// each distinct failure with the replay command of its first seed; the `sometimes` probes never
// hit; with --check-determinism, the divergences.
//
// Ctrl-C stops the sweep after the seeds running at that moment: the summary covers the seeds
// that ran and names, per scenario, the seed ranges that did not (exit status 130).
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

#include "absl/status/statusor.h"
#include "scenarios/scenario.h"
#include "tools/troupe/args.h"

namespace troupe::cli {

struct SeedFailure {
  uint64_t seed = 0;
  std::string message;
  uint64_t trace_hash = 0;
  uint64_t faults = 0;  // faults the run realized (what troupe shrink starts from)
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
  double wall_seconds = 0;    // the sum of its seeds' run times (with --jobs, over all workers)
  // Every folded seed's trace hash, combined in seed order (combine_sweep_hash); kEmptyTraceHash
  // when no seed ran.
  uint64_t sweep_hash = kEmptyTraceHash;
  // Ctrl-C: the seeds of the range that did not run, as ascending disjoint ranges.
  std::vector<SeedRange> not_run;

  bool passed() const;
  // "passed", "FAILED", "bug found (expected)", "bug NOT found", "FAILED (planted bug found)";
  // after Ctrl-C, "not run" or "passed so far".
  std::string verdict() const;
};

// Folds one seed's trace hash into a scenario's sweep hash (order matters).
uint64_t combine_sweep_hash(uint64_t sweep_hash, uint64_t seed, uint64_t trace_hash);

struct SweepResult {
  RunCommand command;
  std::vector<ScenarioResult> scenarios;
  bool interrupted = false;   // Ctrl-C stopped it (see ScenarioResult::not_run)
  double elapsed_seconds = 0;  // real time from start to end of the sweep

  uint64_t divergence_count() const;
  uint64_t seeds_run() const;
  // kExitInterrupted after Ctrl-C, else kExitPassed when every scenario passed, else kExitFailed.
  int exit_code() const;
};

// Runs `selected` over command.seeds, in command.jobs processes; prints failures to `out` as they
// are folded and progress to `err`. Does not print the summary. A worker pool that cannot start
// (fork fails) is an error.
absl::StatusOr<SweepResult> run_sweep(const std::vector<const scenarios::Scenario*>& selected,
                                      const RunCommand& command, std::FILE* out, std::FILE* err);

// The table, never-hit probes, divergences and the final line.
void print_summary(const SweepResult& result, std::FILE* out);

// The --json report: {"seeds":{...},"strategy":..,["pct_depth":..,"pct_steps":..(0: adaptive),]
// "platform":..,"check_determinism":..,"max_failures":..(0: none),"exit_code":..,
// "jobs":..,"shard":{"index","count"}|null,"interrupted":..,"elapsed_seconds":..,
// "scenarios":[{"name","expect_fail","judged_as_bug","passed","seeds",
// "failures":[{"seed","message","trace_hash","faults","replay"}],"distinct_failures","sweep_hash",
// "fault_kinds":{"crash":N,...},"sometimes_never_hit":[...],"divergences":[...],
// "stopped_at_seed":N|null,"not_run":[{"first","last"}],"wall_seconds"}]}.
// pct_depth and pct_steps appear under --strategy pct only. Hashes are "0x" + 16 hex digits
// (strings: JSON numbers cannot hold every 64-bit value).
std::string sweep_json(const SweepResult& result);

// The --junit report: JUnit XML with one <testcase> per scenario and seed range
// (classname "troupe.<scenario>", name "<scenario> seeds A..B"); a failed scenario's <failure>
// lists each distinct failure with its count, first seed and replay command. See docs/cli.md.
std::string sweep_junit(const SweepResult& result);

}  // namespace troupe::cli
