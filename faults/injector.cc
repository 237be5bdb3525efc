#include "faults/injector.h"

#include <cassert>
#include <optional>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "runtime/buggify.h"

namespace troupe::faults {
namespace {

static_assert(kBuggifySiteNameBytesMax == troupe::kBuggifySiteNameBytesMax,
              "plan files and buggify() must agree on the longest site name");

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

// The live actor worker a process index names (faults/injector.h), or nullopt if none is alive:
// the driver and the directory are the harness, never targets.
std::optional<sim::ProcessInfo> worker_target(sim::World& world, uint32_t index) {
  std::vector<sim::ProcessInfo> workers;
  for (const sim::ProcessInfo& process : world.processes()) {
    if (process.alive && process.name != "driver" && process.name != "directory") workers.push_back(process);
  }
  if (workers.empty()) return std::nullopt;
  return workers[index % workers.size()];
}

void apply_crash(sim::World& world, const CrashFault& fault, const Recorder& record) {
  std::optional<sim::ProcessInfo> target = worker_target(world, fault.process);
  if (!target) {
    record(fmt::format("crash #{} skipped: no live actor worker", fault.process));
    return;
  }
  record(fmt::format("crash {} ({}) on {}", target->id, target->name, target->node));
  world.kill_process(target->id, "crashed by a fault plan");
}

void apply_suspect(sim::World& world, const SuspectFault& fault, const Recorder& record) {
  std::optional<sim::ProcessInfo> target = worker_target(world, fault.process);
  if (!target) {
    record(fmt::format("suspect #{} skipped: no live actor worker", fault.process));
    return;
  }
  record(fmt::format("suspect {} ({}) on {}", target->id, target->name, target->node));
  world.suspect_process(target->id, "falsely suspected by a fault plan");
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

std::vector<NodeId> nodes_of(const std::vector<uint32_t>& indices, size_t node_count) {
  std::vector<NodeId> nodes;
  for (uint32_t index : indices) nodes.push_back(NodeId{static_cast<uint32_t>(index % node_count)});
  return nodes;
}

// The live processes on `node`, in id order.
std::vector<ProcessId> processes_on(sim::World& world, NodeId node) {
  std::vector<ProcessId> result;
  for (const sim::ProcessInfo& process : world.processes()) {
    if (process.alive && process.node == node) result.push_back(process.id);
  }
  return result;
}

void apply_partition(sim::World& world, const PartitionFault& fault, const Recorder& record) {
  size_t count = world.nodes().size();
  record(fmt::format("partition for {}ns", fault.duration_ns));
  world.network().partition(nodes_of(fault.sides[0], count), nodes_of(fault.sides[1], count), fault.one_way);
  // Heals every partition then: overlapping partitions end with the first to expire.
  world.at(world.now() + fault.duration_ns, [&world] { world.network().heal_partitions(); });
}

void apply_clog(sim::World& world, const ClogFault& fault, const Recorder& record) {
  size_t count = world.nodes().size();
  Nanos until = world.now() + fault.duration_ns;
  if (fault.node) {
    NodeId node{static_cast<uint32_t>(*fault.node % count)};
    record(fmt::format("clog {} for {}ns", node, fault.duration_ns));
    world.network().clog(node, until);
    return;
  }
  NodeId a{static_cast<uint32_t>(fault.link->a % count)};
  NodeId b{static_cast<uint32_t>(fault.link->b % count)};
  record(fmt::format("clog {}<->{} for {}ns", a, b, fault.duration_ns));
  for (ProcessId from : processes_on(world, a)) {
    for (ProcessId to : processes_on(world, b)) {
      world.network().clog_link(from, to, until);
      world.network().clog_link(to, from, until);
    }
  }
}

void apply_reset(sim::World& world, const ResetFault& fault, const Recorder& record) {
  size_t count = world.nodes().size();
  NodeId a{static_cast<uint32_t>(fault.link.a % count)};
  NodeId b{static_cast<uint32_t>(fault.link.b % count)};
  record(fmt::format("reset {}<->{}", a, b));
  for (ProcessId from : processes_on(world, a)) {
    for (ProcessId to : processes_on(world, b)) world.network().reset_link(from, to);
  }
}

void apply_storage(sim::World& world, const StorageFault& fault, const Recorder& record) {
  record(fmt::format("storage errors {} loss {} for {}ns", fault.error_rate, fault.loss_rate, fault.duration_ns));
  world.storage().inject_fault(
      {.error_rate = fault.error_rate, .loss_rate = fault.loss_rate, .until = world.now() + fault.duration_ns});
}

void apply_latency(sim::World& world, const LatencyFault& fault, const Recorder& record) {
  assert(fault.extra_latency_ns > 0);
  assert(fault.duration_ns > 0);
  record(fmt::format("latency +{}ns for {}ns", fault.extra_latency_ns, fault.duration_ns));
  world.network().spike_latency(fault.extra_latency_ns, world.now() + fault.duration_ns);
}

void apply_buggify(sim::World& world, const BuggifyFault& fault, const Recorder& record) {
  assert(!fault.sites.empty());
  std::string sites;
  for (const std::string& site : fault.sites) sites += (sites.empty() ? "" : ", ") + site;
  record(fmt::format("buggify {}", sites));
  world.buggify_sites().force_enable(fault.sites);
}

// The GPU a GpuTarget names (faults/plan.h), resolved now, or nullopt (with the reason in `why`)
// when no node has GPUs or the node is down.
struct ResolvedGpu {
  NodeId node;
  uint32_t device = 0;
};
std::optional<ResolvedGpu> resolve_gpu(sim::World& world, const GpuTarget& target, std::string& why) {
  std::vector<NodeInfo> with_gpus;
  for (const NodeInfo& node : world.nodes()) {
    if (node.gpus > 0) with_gpus.push_back(node);
  }
  if (with_gpus.empty()) {
    why = "no node has GPUs";
    return std::nullopt;
  }
  const NodeInfo& node = with_gpus[target.node % with_gpus.size()];
  const uint32_t device = target.device % static_cast<uint32_t>(node.gpus);
  if (!node.alive) {
    why = fmt::format("{} is down", node.id);
    return std::nullopt;
  }
  return ResolvedGpu{node.id, device};
}

// Resolves `target` and, if it names a live GPU, records `what(gpu)` and applies `apply(gpu)`;
// otherwise records that the fault of kind `kind` was skipped and why.
template <typename What, typename Apply>
void apply_to_gpu(sim::World& world, FaultKind kind, const GpuTarget& target, const Recorder& record, What what,
                  Apply apply) {
  std::string why;
  const std::optional<ResolvedGpu> gpu = resolve_gpu(world, target, why);
  if (!gpu) {
    record(fmt::format("{} #{}.{} skipped: {}", fault_kind_name(kind), target.node, target.device, why));
    return;
  }
  record(fmt::format("{} GPU {} of {}{}", fault_kind_name(kind), gpu->device, gpu->node, what()));
  apply(*gpu);
}

void apply_gpu_throttle(sim::World& world, const GpuThrottleFault& fault, const Recorder& record) {
  apply_to_gpu(
      world, FaultKind::kGpuThrottle, fault.gpu, record,
      [&] { return fmt::format(" x{} for {}ns", fault.slowdown, fault.duration_ns); },
      [&](const ResolvedGpu& gpu) { world.throttle_gpu(gpu.node, gpu.device, fault.slowdown, fault.duration_ns); });
}

void apply_gpu_memory(sim::World& world, const GpuMemoryFault& fault, const Recorder& record) {
  apply_to_gpu(
      world, FaultKind::kGpuMemory, fault.gpu, record,
      [&] { return fmt::format(" {} bytes for {}ns", fault.bytes, fault.duration_ns); },
      [&](const ResolvedGpu& gpu) { world.pressure_gpu_memory(gpu.node, gpu.device, fault.bytes, fault.duration_ns); });
}

void apply_gpu_loss(sim::World& world, const GpuLossFault& fault, const Recorder& record) {
  apply_to_gpu(
      world, FaultKind::kGpuLoss, fault.gpu, record, [] { return std::string(); },
      [&](const ResolvedGpu& gpu) { world.lose_gpu(gpu.node, gpu.device); });
}

}  // namespace

absl::Status check_supported(const FaultPlan& plan) {
  for (size_t i = 0; i < plan.faults.size(); ++i) {
    FaultKind kind = plan.faults[i].kind();
    if (!supported(kind)) {
      return absl::UnimplementedError(
          fmt::format("faults[{}]: the simulator cannot apply '{}' faults yet (supported: {})", i,
                      fault_kind_name(kind), fault_kind_list(supported_kinds())));
    }
    if (const auto* buggify = std::get_if<BuggifyFault>(&plan.faults[i].params)) {
      if (buggify->sites.empty()) return absl::InvalidArgumentError(fmt::format("faults[{}].sites: must not be empty", i));
      for (size_t j = 0; j < buggify->sites.size(); ++j) {
        if (absl::Status valid = validate_buggify_site(buggify->sites[j]); !valid.ok()) {
          return absl::InvalidArgumentError(fmt::format("faults[{}].sites[{}]: {}", i, j, valid.message()));
        }
      }
    }
  }
  return absl::OkStatus();
}

std::set<FaultKind> supported_kinds() {
  return {FaultKind::kCrash, FaultKind::kNodeCrash, FaultKind::kPartition, FaultKind::kClog, FaultKind::kReset,
          FaultKind::kStorage, FaultKind::kSuspect, FaultKind::kLatency, FaultKind::kBuggify,
          FaultKind::kGpuThrottle, FaultKind::kGpuMemory, FaultKind::kGpuLoss};
}

void schedule_plan(sim::World& world, const FaultPlan& plan, std::vector<std::string>* realized) {
  assert(check_supported(plan).ok());
  Recorder record{world, realized};
  for (const ScheduledFault& fault : plan.faults) {
    world.at(fault.at_ns, [record, fault] {
      if (const auto* crash = std::get_if<CrashFault>(&fault.params)) {
        apply_crash(record.world, *crash, record);
      } else if (const auto* node_crash = std::get_if<NodeCrashFault>(&fault.params)) {
        apply_node_crash(record.world, *node_crash, record);
      } else if (const auto* partition = std::get_if<PartitionFault>(&fault.params)) {
        apply_partition(record.world, *partition, record);
      } else if (const auto* clog = std::get_if<ClogFault>(&fault.params)) {
        apply_clog(record.world, *clog, record);
      } else if (const auto* reset = std::get_if<ResetFault>(&fault.params)) {
        apply_reset(record.world, *reset, record);
      } else if (const auto* suspect = std::get_if<SuspectFault>(&fault.params)) {
        apply_suspect(record.world, *suspect, record);
      } else if (const auto* storage = std::get_if<StorageFault>(&fault.params)) {
        apply_storage(record.world, *storage, record);
      } else if (const auto* latency = std::get_if<LatencyFault>(&fault.params)) {
        apply_latency(record.world, *latency, record);
      } else if (const auto* buggify = std::get_if<BuggifyFault>(&fault.params)) {
        apply_buggify(record.world, *buggify, record);
      } else if (const auto* throttle = std::get_if<GpuThrottleFault>(&fault.params)) {
        apply_gpu_throttle(record.world, *throttle, record);
      } else if (const auto* pressure = std::get_if<GpuMemoryFault>(&fault.params)) {
        apply_gpu_memory(record.world, *pressure, record);
      } else if (const auto* loss = std::get_if<GpuLossFault>(&fault.params)) {
        apply_gpu_loss(record.world, *loss, record);
      }
    });
  }
  if (plan.generator) {
    // The quiet phase begins: the network heals. (Clogs and every other fault of a plan with
    // generator settings already end inside the window: validate_plan requires it.)
    world.at(plan.generator->fault_window_ns, [&world] {
      world.trace({.kind = TraceKind::kFault, .detail = "heal: quiet phase begins"});
      world.network().heal_partitions();
    });
  }
}

}  // namespace troupe::faults
