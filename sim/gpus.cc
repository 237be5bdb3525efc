#include "sim/gpus.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <utility>

#include "fmt/format.h"
#include "runtime/gpu_cost.h"
#include "sim/world.h"

namespace troupe::sim {

namespace {
using Wide = __int128;  // products of work, weights and slowdowns (bounded far below 2^127)

template <typename Kernel>
int64_t total_weight(const std::vector<Kernel>& kernels) {
  int64_t total = 0;
  for (const auto& kernel : kernels) total += kernel.weight;
  return total;
}
}  // namespace

void Gpus::add_node(const NodeInfo& node) {
  assert(node.id.value == devices_.size());
  std::vector<Device>& devices = devices_.emplace_back();
  for (uint32_t index = 0; index < static_cast<uint32_t>(std::max(node.gpus, 0)); ++index) {
    devices.push_back({.node = node.id, .index = index, .capacity_bytes = node.gpu_memory_bytes});
  }
}

Gpus::Device& Gpus::device(NodeId node, uint32_t index) {
  assert(node.value < devices_.size() && index < devices_[node.value].size());
  return devices_[node.value][index];
}

void Gpus::bind(ProcessId process, NodeId node, std::vector<uint32_t> devices, int32_t weight) {
  assert(weight > 0);
  for ([[maybe_unused]] uint32_t index : devices) assert(node.value < devices_.size() && index < devices_[node.value].size());
  bindings_[process.value] = {.node = node, .devices = std::move(devices), .weight = weight};
}

absl::StatusOr<Gpus::Device*> Gpus::usable(ProcessId process, uint32_t index, const Binding** binding) {
  auto it = bindings_.find(process.value);
  if (it == bindings_.end() ||
      std::find(it->second.devices.begin(), it->second.devices.end(), index) == it->second.devices.end()) {
    return absl::FailedPreconditionError(fmt::format("process {} is not bound to GPU {}", process, index));
  }
  Device& target = device(it->second.node, index);
  if (target.lost) {
    return absl::UnavailableError(fmt::format("GPU {} of {} is lost (until its node reboots)", index, target.node));
  }
  *binding = &it->second;
  return &target;
}

int64_t Gpus::slowdown_milli(const Device& device) const {
  int64_t slowest = 1000;
  for (const auto& [id, milli] : device.throttles) slowest = std::max(slowest, milli);
  return slowest;
}

void Gpus::trace(const Device& device, ProcessId process, std::string detail) {
  world_.trace({.kind = TraceKind::kGpu, .node = device.node, .process = process, .detail = std::move(detail)});
}

absl::Status Gpus::run(ProcessId process, FiberId fiber, uint32_t index, Nanos exclusive_ns) {
  const Binding* binding = nullptr;
  absl::StatusOr<Device*> found = usable(process, index, &binding);
  if (!found.ok()) return found.status();
  Device& target = **found;
  assert(exclusive_ns >= 0);
  if (exclusive_ns == 0) {
    world_.yield();  // a scheduling point like every runtime call, but no work for the device
    return absl::OkStatus();
  }
  advance(target);
  bool done = false;
  const uint64_t id = next_kernel_++;
  target.kernels.push_back({.id = id, .process = process, .fiber = fiber, .weight = binding->weight,
                            .remaining = exclusive_ns * kWorkScale, .done = &done});
  trace(target, process,
        fmt::format("kernel {} starts on GPU {} of {}: {} ns alone, weight {} of {}, {} running", id, index,
                    target.node, exclusive_ns, binding->weight, total_weight(target.kernels), target.kernels.size()));
  reschedule(target);
  while (!done) world_.park({.what = "gpu kernel"});
  return absl::OkStatus();
}

void Gpus::advance(Device& target) {
  const Nanos now = world_.now();
  const Nanos elapsed = now - target.updated_at;
  assert(elapsed >= 0);
  target.updated_at = now;
  if (elapsed == 0 || target.kernels.empty()) return;
  const Wide denominator = Wide{total_weight(target.kernels)} * slowdown_milli(target);
  for (Kernel& kernel : target.kernels) {
    const Wide progress = Wide{elapsed} * kWorkScale * kernel.weight * 1000 / denominator;
    kernel.remaining -= static_cast<int64_t>(std::min<Wide>(progress, kernel.remaining));
  }
}

void Gpus::reschedule(Device& target) {
  ++target.epoch;
  for (auto it = target.kernels.begin(); it != target.kernels.end();) {
    if (it->remaining > 0) {
      ++it;
      continue;
    }
    trace(target, it->process, fmt::format("kernel {} ends on GPU {} of {}", it->id, target.index, target.node));
    *it->done = true;
    world_.unpark(it->fiber);
    it = target.kernels.erase(it);
  }
  if (target.kernels.empty()) return;
  const Wide numerator = Wide{total_weight(target.kernels)} * slowdown_milli(target);
  Wide next = -1;
  for (const Kernel& kernel : target.kernels) {
    const Wide scale = Wide{kWorkScale} * kernel.weight * 1000;
    const Wide needed = (Wide{kernel.remaining} * numerator + scale - 1) / scale;
    if (next < 0 || needed < next) next = needed;
  }
  assert(next > 0);
  const NodeId node = target.node;
  const uint32_t index = target.index;
  const uint64_t epoch = target.epoch;
  world_.at(world_.now() + static_cast<Nanos>(next), [this, node, index, epoch] {
    Device& due = device(node, index);
    if (due.epoch != epoch) return;  // superseded by a later change
    advance(due);
    reschedule(due);
  });
}

absl::StatusOr<uint64_t> Gpus::alloc(ProcessId process, uint32_t index, int64_t bytes) {
  assert(bytes >= 0);
  const Binding* binding = nullptr;
  absl::StatusOr<Device*> found = usable(process, index, &binding);
  if (!found.ok()) return found.status();
  Device& target = **found;
  if (bytes > target.capacity_bytes - target.allocated_bytes - target.pressure_bytes) {
    std::string message = gpu_out_of_memory_message(target.node, index, bytes, target.allocated_bytes,
                                                    target.pressure_bytes, target.capacity_bytes);
    trace(target, process, "out of memory: " + message);
    return absl::ResourceExhaustedError(std::move(message));
  }
  target.allocated_bytes += bytes;
  const uint64_t id = next_allocation_++;
  allocations_.emplace(id, Allocation{.process = process, .node = target.node, .device = index, .bytes = bytes});
  return id;
}

void Gpus::free(uint64_t allocation) {
  auto it = allocations_.find(allocation);
  if (it == allocations_.end()) return;  // freed with its process
  device(it->second.node, it->second.device).allocated_bytes -= it->second.bytes;
  allocations_.erase(it);
}

void Gpus::process_ended(ProcessId process) {
  auto bound = bindings_.find(process.value);
  if (bound == bindings_.end()) return;
  const Binding binding = std::move(bound->second);
  bindings_.erase(bound);
  for (uint32_t index : binding.devices) {
    Device& target = device(binding.node, index);
    advance(target);
    auto first = std::stable_partition(target.kernels.begin(), target.kernels.end(),
                                       [process](const Kernel& kernel) { return kernel.process != process; });
    if (first == target.kernels.end()) continue;
    for (auto it = first; it != target.kernels.end(); ++it) {
      trace(target, process,
            fmt::format("kernel {} on GPU {} of {} ends with its process", it->id, index, target.node));
    }
    target.kernels.erase(first, target.kernels.end());
    reschedule(target);
  }
  int64_t freed = 0;
  for (auto it = allocations_.begin(); it != allocations_.end();) {
    if (it->second.process != process) {
      ++it;
      continue;
    }
    device(it->second.node, it->second.device).allocated_bytes -= it->second.bytes;
    freed += it->second.bytes;
    it = allocations_.erase(it);
  }
  if (freed > 0) {
    world_.trace({.kind = TraceKind::kGpu, .node = binding.node, .process = process,
                  .detail = fmt::format("{} of GPU memory freed: process {} ended", format_gpu_bytes(freed), process)});
  }
}

void Gpus::throttle(NodeId node, uint32_t index, double slowdown, Nanos duration) {
  assert(slowdown >= 1 && slowdown <= kMaxSlowdown);
  assert(duration >= 0);
  Device& target = device(node, index);
  const int64_t milli = std::llround(slowdown * 1000);
  advance(target);
  const uint64_t fault = next_fault_++;
  target.throttles.emplace(fault, milli);
  trace(target, {}, fmt::format("GPU {} of {} throttled: {:g}x slower for {} ns", index, node, milli / 1000.0, duration));
  reschedule(target);
  world_.at(world_.now() + duration, [this, node, index, fault, milli] {
    Device& due = device(node, index);
    advance(due);
    due.throttles.erase(fault);
    trace(due, {}, fmt::format("GPU {} of {}: throttle ends ({:g}x)", index, node, milli / 1000.0));
    reschedule(due);
  });
}

void Gpus::pressure(NodeId node, uint32_t index, int64_t bytes, Nanos duration) {
  assert(bytes >= 0 && duration >= 0);
  Device& target = device(node, index);
  const int64_t free_bytes = target.capacity_bytes - target.allocated_bytes - target.pressure_bytes;
  const int64_t taken = std::clamp<int64_t>(bytes, 0, std::max<int64_t>(free_bytes, 0));
  target.pressure_bytes += taken;
  trace(target, {},
        fmt::format("GPU {} of {}: memory pressure takes {} of its {} free for {} ns", index, node,
                    format_gpu_bytes(taken), format_gpu_bytes(free_bytes), duration));
  world_.at(world_.now() + duration, [this, node, index, taken] {
    Device& due = device(node, index);
    due.pressure_bytes -= taken;
    trace(due, {}, fmt::format("GPU {} of {}: memory pressure gives {} back", index, node, format_gpu_bytes(taken)));
  });
}

void Gpus::lose(NodeId node, uint32_t index) {
  Device& target = device(node, index);
  if (target.lost) return;
  target.lost = true;
  std::vector<ProcessId> crashing;
  for (const auto& [process, binding] : bindings_) {
    if (binding.node == node &&
        std::find(binding.devices.begin(), binding.devices.end(), index) != binding.devices.end()) {
      crashing.push_back(ProcessId{process});
    }
  }
  trace(target, {}, fmt::format("GPU {} of {} lost: {} process{} bound to it crash", index, node, crashing.size(),
                                crashing.size() == 1 ? "" : "es"));
  const std::string why = fmt::format("GPU {} of {} lost", index, node);
  for (ProcessId process : crashing) world_.kill_process(process, why);  // ends their kernels and allocations
}

void Gpus::node_rebooted(NodeId node) {
  assert(node.value < devices_.size());
  for (Device& target : devices_[node.value]) {
    if (!target.lost) continue;
    target.lost = false;
    trace(target, {}, fmt::format("GPU {} of {} works again: the node rebooted", target.index, node));
  }
}

std::vector<bool> Gpus::lost(NodeId node) const {
  assert(node.value < devices_.size());
  std::vector<bool> result;
  for (const Device& target : devices_[node.value]) result.push_back(target.lost);
  return result;
}

int64_t Gpus::used_bytes(NodeId node, uint32_t index) const {
  assert(node.value < devices_.size() && index < devices_[node.value].size());
  const Device& target = devices_[node.value][index];
  return target.allocated_bytes + target.pressure_bytes;
}

}  // namespace troupe::sim
