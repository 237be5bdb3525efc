#include "faults/injector.h"

#include <cassert>
#include <string>
#include <vector>

#include "fmt/format.h"

namespace troupe::faults {
namespace {

bool supported(FaultKind kind) { return supported_kinds().count(kind) > 0; }

// Writes a fault's line to the trace and to the realized list.
struct Recorder {
  sim::World& world;
  std::vector<std::string>* realized;
  void operator()(std::string detail) const {
    if (realized != nullptr) realized->push_back(detail);
    world.trace({.kind = TraceKind::kUser, .detail = "fault: " + std::move(detail)});
  }
};

void apply_crash(sim::World& world, const CrashFault& fault, const Recorder& record) {
  std::vector<sim::ProcessInfo> workers;
  for (const sim::ProcessInfo& process : world.processes()) {
    if (process.alive && process.name != "driver" && process.name != "directory") workers.push_back(process);
  }
  if (workers.empty()) {
    record(fmt::format("crash #{} skipped: no live actor worker", fault.process));
    return;
  }
  const sim::ProcessInfo& target = workers[fault.process % workers.size()];
  record(fmt::format("crash {} ({}) on {}", target.id, target.name, target.node));
  world.kill_process(target.id, "crashed by a fault plan");
}

void apply_node_crash(sim::World& world, const NodeCrashFault& fault, const Recorder& record) {
  std::vector<NodeInfo> nodes = world.nodes();
  if (nodes.size() < 2) {
    record(fmt::format("node_crash #{} skipped: the cluster has only the head node", fault.node));
    return;
  }
  NodeId node{1 + fault.node % static_cast<uint32_t>(nodes.size() - 1)};
  Nanos reboot_after = fault.reboot_after_ns.value_or(-1);
  record(reboot_after >= 0 ? fmt::format("node_crash {} reboot after {}ns", node, reboot_after)
                                  : fmt::format("node_crash {} (no reboot)", node));
  world.crash_node(node, reboot_after);
}

}  // namespace

absl::Status check_supported(const FaultPlan& plan) {
  for (size_t i = 0; i < plan.faults.size(); ++i) {
    FaultKind kind = plan.faults[i].kind();
    if (!supported(kind)) {
      return absl::UnimplementedError(
          fmt::format("faults[{}]: the simulator cannot apply '{}' faults yet (supported: crash, node_crash)", i,
                      fault_kind_name(kind)));
    }
  }
  return absl::OkStatus();
}

std::set<FaultKind> supported_kinds() { return {FaultKind::kCrash, FaultKind::kNodeCrash}; }

void schedule_plan(sim::World& world, const FaultPlan& plan, std::vector<std::string>* realized) {
  assert(check_supported(plan).ok());
  Recorder record{world, realized};
  for (const ScheduledFault& fault : plan.faults) {
    world.at(fault.at_ns, [record, fault] {
      if (const auto* crash = std::get_if<CrashFault>(&fault.params)) {
        apply_crash(record.world, *crash, record);
      } else if (const auto* node_crash = std::get_if<NodeCrashFault>(&fault.params)) {
        apply_node_crash(record.world, *node_crash, record);
      }
    });
  }
}

}  // namespace troupe::faults
