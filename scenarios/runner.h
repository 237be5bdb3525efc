// Running one scenario on one seed, and the determinism self-check.
//
// run_scenario builds a fresh platform for the run — a simulated World with the scenario's
// cluster (deterministic: the same seed and strategy give the same trace hash), or a
// ThreadsPlatform with the same nodes (real threads and clock: not reproducible, a parity check
// of the same code) — runs the driver with a fresh Checks, and reports the outcome.
//
// check_determinism runs a seed twice under the simulator with both traces retained, and on a
// different hash names the first event where they part (DESIGN §4, "determinism self-check").
//
//   RunOutcome outcome = run_scenario(*registry.find("counter"), {.seed = 17});
//   if (!outcome.passed) fmt::print("{}\n", outcome.failure);
//
// Thread-compatible: concurrent calls with different RunOptions::trace are independent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/ids.h"
#include "runtime/trace/trace.h"
#include "faults/fault_kind.h"
#include "faults/plan.h"
#include "faults/swarm.h"
#include "scenarios/scenario.h"
#include "sim/strategy.h"

namespace troupe::scenarios {

enum class PlatformKind { kSim, kThreads, kCluster };

// "sim", "threads" or "cluster"; anything else is InvalidArgument naming the choices.
absl::StatusOr<PlatformKind> parse_platform(std::string_view name);
std::string_view platform_name(PlatformKind kind);

struct RunOptions {
  uint64_t seed = 1;
  PlatformKind platform = PlatformKind::kSim;
  sim::StrategyKind strategy = sim::StrategyKind::kRandom;  // sim only
  // pct's depth and steps; for kReplay the schedule to follow, read from `schedule_path` (named
  // in replay commands).
  sim::StrategyOptions strategy_options = {};
  std::string schedule_path;
  // Faults (sim only): none, swarm over the selection's kinds (drawn from the seed), or the
  // plan, which wins when set. `plan_path` is where the plan came from, for replay commands.
  faults::FaultSelection faults;
  std::optional<faults::FaultPlan> plan;
  std::string plan_path;
  // Cluster only: the cluster to drive ("HOST:PORT") and its token; empty: start a local cluster of
  // the scenario's shape for the run (one head, a node daemon per further node) and stop it after.
  std::string cluster_address;
  std::string cluster_token;
  // Cluster only: where the local cluster's daemons and workers write their logs; empty: nowhere.
  std::string cluster_log;
  // Cluster only (a local one): kill -9 a worker at each crash time of the seed's swarm plan over
  // crashes, for scenarios that tolerate crashes (Scenario::tolerates); RunOutcome::faults lists
  // each kill.
  bool chaos_kills = false;
  // Receives every event of the run (add sinks to it to export); nullptr keeps only the hash.
  // Must not have been finished. run_scenario does not call finish() on it.
  Trace* trace = nullptr;
};

struct RunOutcome {
  bool passed = false;
  // Why the run failed: the first failed check ("always 'name' failed: detail"), else the
  // driver's uncaught exception or the platform's error (deadlock report, exceeded limit).
  std::string failure;
  bool schedule_diverged = false;  // replay: the run left its schedule (`failure` says where)
  uint64_t trace_hash = kEmptyTraceHash;
  uint64_t events = 0;
  Nanos sim_time = 0;          // virtual time under sim; elapsed real time on threads
  double wall_seconds = 0;     // the run's real duration, for reports only
  std::vector<std::string> sometimes_declared;  // sorted
  std::vector<std::string> sometimes_hit;       // sorted
  std::vector<std::string> faults;              // the realized fault list, in order
};

// Swarm's settings for `scenario`: its cluster (nodes, GPUs), buggify sites and timing, and the
// kinds of `kinds` the simulator applies and the scenario tolerates (possibly none).
faults::SwarmOptions swarm_options_for(const Scenario& scenario, const std::set<faults::FaultKind>& kinds);

// The plan a run with `options` applies on `scenario`'s cluster (empty without faults): the
// given plan, or the swarm plan of the seed restricted to the kinds the simulator applies.
faults::FaultPlan plan_for(const Scenario& scenario, const RunOptions& options);

// --chaos-kills on a local cluster: the crash faults of the seed's swarm plan over crashes alone
// (none for a scenario that does not tolerate crashes). Each becomes a kill -9 of a worker.
faults::FaultPlan chaos_plan(const Scenario& scenario, uint64_t seed);

// The liveness timing of a run (DESIGN §4): the plan's generator settings when it has them (a
// swarm plan has the scenario's; a plan file may set its own), else the scenario's.
struct RunTiming {
  Nanos fault_window_ns = 0;
  Nanos quiet_ns = 0;
  Nanos deadline_ns = 0;
};
RunTiming timing_for(const Scenario& scenario, const faults::FaultPlan& plan);

// Runs the driver; under sim the run fails with a liveness message if the driver has not
// finished by timing_for(scenario, plan_for(scenario, options)).deadline_ns.
[[nodiscard]] RunOutcome run_scenario(const Scenario& scenario, const RunOptions& options);

struct DeterminismReport {
  RunOutcome first;            // the first run's outcome (a sweep reports it as the seed's)
  bool diverged = false;
  uint64_t second_hash = kEmptyTraceHash;
  uint64_t second_events = 0;
  // When diverged: the index of the first differing event and both events formatted by
  // format_trace_event ("(end of trace)" when one run stopped earlier).
  uint64_t event_index = 0;
  std::string first_event;
  std::string second_event;
  // "seed 17: runs differ at event #42:\n  first:  ...\n  second: ..." (empty if no divergence).
  std::string message;
};

// Runs `options.seed` twice under the simulator and compares the traces event by event.
// options.platform must be kSim; options.trace is ignored (both runs use their own retained
// traces).
[[nodiscard]] DeterminismReport check_determinism(const Scenario& scenario, RunOptions options);

// "troupe replay counter --seed 17 --strategy random" (plus " --platform threads" off sim).
// Under pct: "--strategy pct --pct-depth 3" (and " --pct-steps K" when k is fixed); under
// replay: "--schedule FILE" instead of --strategy; for a plan file with a schedule section (which
// picks the guided strategy itself) no strategy flag. Running it gives the same trace hash.
std::string replay_command(std::string_view scenario, const RunOptions& options);

}  // namespace troupe::scenarios
