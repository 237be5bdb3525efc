// Running a driver in a fresh simulated cluster: the one-call entry point for tests, scenarios
// and the CLI.
//
//   troupe::sim::SimRunResult result = troupe::sim::run_simulation({.seed = 42}, [](troupe::System& sys) {
//     auto counter = sys.spawn<Counter>({}, 0);
//     ...
//   });
//   // result.status, result.trace_hash, result.sim_time, result.events
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "runtime/system.h"
#include "sim/world.h"

namespace troupe::sim {

struct ClusterShape {
  // One entry per node; the first is the head (it also runs the directory and the driver).
  std::vector<NodeOptions> nodes = {{.name = "head", .cpus = 8}, {.name = "node1", .cpus = 8},
                                    {.name = "node2", .cpus = 8}};
};

struct SimRunOptions {
  uint64_t seed = 1;
  StrategyKind strategy = StrategyKind::kRandom;
  StrategyOptions strategy_options = {};  // pct's depth and steps, replay's schedule
  ClusterShape cluster;
  NetworkOptions network;
  // Limits (see WorldOptions).
  uint64_t max_steps = 50'000'000;
  Nanos max_time = int64_t{24} * 3600 * kSecond;
  // Extra trace consumer; nullptr keeps only the hash.
  Trace* trace = nullptr;
  // Called with the World after its nodes exist and before the run starts (to schedule faults
  // with World::at, say).
  std::function<void(World&)> prepare;
  // Liveness: the driver must finish by this simulated time (-1: no deadline). A run still going
  // at the deadline stops there and fails with
  //   liveness: <name> did not finish by its deadline of 2 s (simulated); still waiting:
  //     n0 p2 (driver) fiber f3 'driver' waits for ...
  // one line per fiber of a live process (the deadlock report's wait-for lines). A livelock
  // (timers that fire forever, a call retried forever) ends here instead of at max_time.
  Nanos deadline_ns = -1;
  std::string name = "the run";  // what the liveness message calls the run (a scenario's name)
};

struct SimRunResult {
  absl::Status status;   // OK, the driver's exception, or the World's error (deadlock, limit,
                         // DeadlineExceeded with the liveness message)
  uint64_t trace_hash = 0;
  uint64_t events = 0;
  uint64_t steps = 0;
  Nanos sim_time = 0;
  // Under the replay strategy: the run left its schedule (status is FailedPrecondition naming
  // the decision), or ended before using all of it. Everything after a divergence is a
  // different run, so this outranks whatever else the run reported.
  bool schedule_diverged = false;
};

SimRunResult run_simulation(const SimRunOptions& options, absl::AnyInvocable<void(System&)> driver);

// A simulated duration for messages: "2 s", "250 ms", "1.5 s", "10 us", "7 ns" (whole seconds;
// below a second, whole milliseconds or microseconds; below a microsecond, nanoseconds; else
// seconds with decimals).
std::string format_sim_duration(Nanos duration);

}  // namespace troupe::sim
