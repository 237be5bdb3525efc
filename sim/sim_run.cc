#include "sim/sim_run.h"

#include "runtime/core/cluster.h"

namespace troupe::sim {

SimRunResult run_simulation(const SimRunOptions& options, absl::AnyInvocable<void(System&)> driver) {
  Trace own;
  Trace* trace = options.trace != nullptr ? options.trace : &own;
  SimRunResult result;
  {
    World world({.seed = options.seed, .strategy = options.strategy, .network = options.network,
                 .max_steps = options.max_steps, .max_time = options.max_time, .trace = trace});
    for (const NodeOptions& node : options.cluster.nodes) world.add_node(node);
    if (options.prepare) options.prepare(world);
    result.status = core::run_driver(world, std::move(driver));
    result.steps = world.steps();
    result.sim_time = world.now();
  }
  result.trace_hash = trace->hash();
  result.events = trace->event_count();
  return result;
}

}  // namespace troupe::sim
