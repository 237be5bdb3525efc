#include "sim/sim_run.h"

#include "fmt/format.h"
#include "runtime/core/cluster.h"

namespace troupe::sim {

std::string format_sim_duration(Nanos duration) {
  if (duration % kSecond == 0) return fmt::format("{} s", duration / kSecond);
  if (duration % kMillisecond == 0 && duration < kSecond) return fmt::format("{} ms", duration / kMillisecond);
  if (duration % 1000 == 0 && duration < kMillisecond) return fmt::format("{} us", duration / 1000);
  if (duration < 1000) return fmt::format("{} ns", duration);
  return fmt::format("{:.9g} s", static_cast<double>(duration) / kSecond);
}

SimRunResult run_simulation(const SimRunOptions& options, absl::AnyInvocable<void(System&)> driver) {
  Trace own;
  Trace* trace = options.trace != nullptr ? options.trace : &own;
  SimRunResult result;
  {
    World world({.seed = options.seed, .strategy = options.strategy, .strategy_options = options.strategy_options,
                 .network = options.network,
                 .max_steps = options.max_steps, .max_time = options.max_time, .trace = trace,
                 .deadline = options.deadline_ns});
    for (const NodeOptions& node : options.cluster.nodes) world.add_node(node);
    if (options.prepare) options.prepare(world);
    result.status = core::run_driver(world, std::move(driver));
    if (absl::IsDeadlineExceeded(result.status) && options.deadline_ns >= 0 && world.now() == options.deadline_ns) {
      // The World stopped at the deadline: say so in liveness terms, with what is still waiting.
      result.status = absl::DeadlineExceededError(
          fmt::format("liveness: {} did not finish by its deadline of {} (simulated); still waiting:\n{}",
                      options.name, format_sim_duration(options.deadline_ns), world.wait_report()));
    }
    if (absl::Status stopped = world.strategy().stop_reason(); !stopped.ok()) {
      result.status = stopped;
      result.schedule_diverged = true;
    } else if (absl::Status unfinished = world.strategy().at_end(); !unfinished.ok()) {
      result.status = unfinished;
      result.schedule_diverged = true;
    }
    result.steps = world.steps();
    result.sim_time = world.now();
  }
  result.trace_hash = trace->hash();
  result.events = trace->event_count();
  return result;
}

}  // namespace troupe::sim
