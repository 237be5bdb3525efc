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
// duration; a link clog or reset applies to every pair of processes on the link's two nodes; a
// latency spike adds its extra delay to every message sent during its duration
// (Network::spike_latency). A suspect fault reports a live worker dead (World::suspect_process):
// the directory replaces it and fences it. A storage fault goes to World::storage()
// (sim/storage.h): for its duration, each storage operation fails with probability error_rate
// and each write not yet acknowledged is lost with probability loss_rate. A buggify fault forces
// its sites on from its time to the end of the run (World::buggify_sites(); they then fire 1 time
// in 4, runtime/buggify.h). A GPU fault resolves its GpuTarget among the nodes that have GPUs
// (faults/plan.h) and goes to World::throttle_gpu, pressure_gpu_memory or lose_gpu; one whose node
// is down, or with no GPU in the cluster, is skipped. check_supported still refuses a kind the simulator could not apply,
// so a plan never silently does less than it says.
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
// the first one that is not (its index and kind). A buggify fault with no site or a site name
// buggify() would refuse is InvalidArgument naming it ("faults[0].sites[1]: ...").
absl::Status check_supported(const FaultPlan& plan);

// Schedules every fault of `plan` on `world`. REQUIRES: check_supported(plan).ok(), and called
// before world.run() (e.g. from SimRunOptions::prepare).
// `realized`, when given, receives one line per fault as it fires ("crash p5 (a2.1 Counter) on
// n1"), the same text the trace records; it must outlive the run.
void schedule_plan(sim::World& world, const FaultPlan& plan, std::vector<std::string>* realized = nullptr);

// The kinds schedule_plan applies: what swarm may draw from today.
std::set<FaultKind> supported_kinds();

}  // namespace troupe::faults
