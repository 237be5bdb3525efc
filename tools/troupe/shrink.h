// `troupe shrink SCENARIO --seed N --out FILE`: the smallest plan that still fails the same way.
//
// A failing seed of a sweep comes with a swarm plan of a dozen faults and a run of thousands of
// scheduling decisions, most of them beside the point. shrink_run takes such a run (the flags of
// its replay line) and, while the failure still reproduces — the same RunOutcome::failure, check
// and message, every line (or with ShrinkOptions::match = kCheck, the same check failing with any
// detail) — makes it smaller by delta debugging (tools/troupe/ddmin.h):
//
//   1. faults: the faults of plan_for(scenario, options) that never fired are dropped, then ddmin
//      over the rest; then each fault left is softened: durations, reboot delays and extra
//      latencies halved (whole milliseconds, down to 1 ms), a storage fault's second rate turned
//      off, a buggify fault's sites cut down (ddmin again). The plan keeps its generator settings,
//      so timing_for gives the same fault window, quiet phase and deadline.
//   2. scheduling: the run's decisions are recorded and turned into a guided schedule (the plan's
//      "schedule" section, sim/schedule.h) listing every decision that did not take the oldest
//      ready item; if the guided run reproduces the failure, ddmin removes choices from it (an
//      empty list is fifo). If it does not, the plan gets no schedule section and replays under
//      the original strategy (ShrinkResult::schedule_note says why).
//
// Every step is a run of the seed under the simulator; at most ShrinkOptions::max_runs of them.
// When they run out the smallest plan found so far is the result (every plan kept reproduced), and
// ShrinkResult::budget_ran_out says so. The plan names its scenario and seed, so `troupe replay
// --plan FILE` alone reproduces the failure (docs/fault-plans.md, "troupe shrink"), and its expect
// section records the failure and the match, so `troupe regress FILE` checks that it still does.
//
// Wall-clock time is read for the progress lines only; the result is a function of the inputs.
//
//   absl::StatusOr<ShrinkResult> result = shrink_run(*scenario, options, {.max_runs = 500});
//   if (result.ok()) write(plan_to_json(result->plan));
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/status/statusor.h"
#include "faults/plan.h"
#include "scenarios/runner.h"
#include "scenarios/scenario.h"
#include "tools/troupe/args.h"

namespace troupe::cli {

// If options.plan has a schedule section, makes the run follow it: the guided strategy with its
// choices, whatever options.strategy was. Replay and shrink call it; a sweep refuses such plans.
void follow_plan_schedule(scenarios::RunOptions& options);

// The part of a failure text `match` compares: all of it for kMessage; for kCheck "always 'name'"
// for a failed check, else the text up to its first ": " (or the end of its first line).
std::string failure_key(std::string_view failure, ShrinkMatch match);

// Whether a run's outcome is what a plan's expect section says: kPass, the run passed; kFail, it
// failed (without departing from a schedule section) and failure_key of its failure equals that of
// expect.failure under expect.match. `troupe regress` judges each plan by it, and `troupe shrink`
// checks the plan it wrote with it.
bool meets_expectation(const faults::Expectation& expect, const scenarios::RunOutcome& outcome);

struct ShrinkOptions {
  uint64_t max_runs = kShrinkDefaultMaxRuns;  // runs of the seed, the first one included; >= 1
  ShrinkMatch match = ShrinkMatch::kMessage;  // what "fails the same way" means
  std::FILE* progress = nullptr;              // a line per step and every few seconds; nullptr: none
};

struct ShrinkResult {
  std::string failure;            // what the original run fails with (every kept plan: failure_key equal)
  size_t realized_faults = 0;     // the faults the original run realized
  size_t planned_faults = 0;      // the faults of the plan it started from
  faults::FaultPlan plan;         // the smallest plan found, naming the scenario and the seed, expecting
                                  // `failure` (the expect section: outcome fail, the match used)
  uint64_t decisions = 0;         // decisions of the run the scheduling step recorded
  size_t recorded_choices = 0;    // of those, the ones that did not take the oldest item
  std::string schedule_note;      // why the plan has no schedule section (empty if it has one)
  uint64_t runs = 0;              // runs spent, the original included
  bool budget_ran_out = false;    // max_runs ended the search early
  double wall_seconds = 0;
};

// Shrinks the run `options` describes (sim only; its plan or fault selection, strategy and seed).
// FailedPrecondition "seed N of SCENARIO passes; nothing to shrink" when it does not fail.
// REQUIRES: options.platform is kSim, shrink.max_runs >= 1.
[[nodiscard]] absl::StatusOr<ShrinkResult> shrink_run(const scenarios::Scenario& scenario,
                                                      const scenarios::RunOptions& options,
                                                      const ShrinkOptions& shrink);

// The subcommand: shrinks, writes the plan to command.out_path, and prints the fault counts, the
// failure and the replay command on `out` (progress on `err`). Exit status: kExitPassed when the
// plan is written, kExitFailed when the seed passes, kExitUsage for an unknown scenario or an
// unwritable file.
int shrink_command(const ShrinkCommand& command, const scenarios::Registry& registry, std::FILE* out,
                   std::FILE* err);

}  // namespace troupe::cli
