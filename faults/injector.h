// Applying a fault plan to a simulated World.
//
// schedule_plan turns each ScheduledFault into a World::at action at its time. Targets in a plan
// are indices (faults/plan.h); they are resolved when the fault fires, against what is alive
// then, so a plan stays meaningful as a run changes shape:
//   * a process index i names the (i mod n)-th of the n live actor workers, in process-id order
//     (the driver and the directory are never crash targets: they are the harness);
//   * a node index i names node (i mod nodes); a node crash never takes the head node (node 0,
//     which runs the driver and the directory): index i names node 1 + (i mod (nodes - 1)).
// A fault with no live target when it fires is skipped and says so in the trace.
//
// Every fault applied (or skipped) is one trace event ("fault: crash p5 (a2.1 Counter)"): the
// run's realized fault list, which sweeps count and `troupe shrink` will cut down.
//
// Network faults go to World::network(): a partition heals (every partition) after its
// duration; a link clog or reset applies to every pair of processes on the link's two nodes.
// Kinds the simulator cannot apply yet (latency spikes, storage, buggify) are refused up front by
// check_supported, so a plan never silently does less than it says.
//
// A plan with generator settings has a fault window: at its end (generator->fault_window_ns) the
// quiet phase begins and the network heals (every partition lifted), recorded in the trace as a
// kFault event "heal: quiet phase begins" (not part of the realized fault list).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "faults/plan.h"
#include "sim/world.h"

namespace troupe::faults {

// OK when every fault of `plan` is of a kind this injector applies; else Unimplemented naming
// the first one that is not (its index and kind).
absl::Status check_supported(const FaultPlan& plan);

// Schedules every fault of `plan` on `world`. REQUIRES: check_supported(plan).ok(), and called
// before world.run() (e.g. from SimRunOptions::prepare).
// `realized`, when given, receives one line per fault as it fires ("crash p5 (a2.1 Counter) on
// n1"), the same text the trace records; it must outlive the run.
void schedule_plan(sim::World& world, const FaultPlan& plan, std::vector<std::string>* realized = nullptr);

// The kinds schedule_plan applies: what swarm may draw from today.
std::set<FaultKind> supported_kinds();

}  // namespace troupe::faults
