#include "runtime/real/threads_gpus.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "fmt/format.h"
#include "runtime/gpu_cost.h"

namespace troupe::real {

ThreadsGpus::ThreadsGpus(const std::vector<NodeInfo>& nodes) : nodes_(nodes) {
  for (const NodeInfo& node : nodes_) {
    allocated_bytes_.emplace_back(static_cast<size_t>(std::max(node.gpus, 0)), 0);
  }
}

void ThreadsGpus::bind(ProcessId process, NodeId node, std::vector<uint32_t> devices) {
  std::lock_guard lock(mutex_);
  assert(node.value < allocated_bytes_.size());
  for ([[maybe_unused]] uint32_t device : devices) assert(device < allocated_bytes_[node.value].size());
  bindings_[process.value] = {.node = node, .devices = std::move(devices)};
}

absl::Status ThreadsGpus::check(ProcessId process, uint32_t device) const {
  std::lock_guard lock(mutex_);
  auto it = bindings_.find(process.value);
  if (it == bindings_.end() ||
      std::find(it->second.devices.begin(), it->second.devices.end(), device) == it->second.devices.end()) {
    return absl::FailedPreconditionError(fmt::format("process {} is not bound to GPU {}", process, device));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ThreadsGpus::alloc(ProcessId process, uint32_t device, int64_t bytes) {
  assert(bytes >= 0);
  if (absl::Status bound = check(process, device); !bound.ok()) return bound;
  std::lock_guard lock(mutex_);
  const NodeId node = bindings_.at(process.value).node;
  int64_t& used = allocated_bytes_[node.value][device];
  const int64_t capacity = nodes_[node.value].gpu_memory_bytes;
  if (bytes > capacity - used) {
    return absl::ResourceExhaustedError(gpu_out_of_memory_message(node, device, bytes, used, 0, capacity));
  }
  used += bytes;
  const uint64_t id = next_allocation_++;
  allocations_.emplace(id, Allocation{.process = process, .node = node, .device = device, .bytes = bytes});
  return id;
}

void ThreadsGpus::free(uint64_t allocation) {
  std::lock_guard lock(mutex_);
  auto it = allocations_.find(allocation);
  if (it == allocations_.end()) return;
  allocated_bytes_[it->second.node.value][it->second.device] -= it->second.bytes;
  allocations_.erase(it);
}

void ThreadsGpus::process_ended(ProcessId process) {
  std::lock_guard lock(mutex_);
  if (bindings_.erase(process.value) == 0) return;
  for (auto it = allocations_.begin(); it != allocations_.end();) {
    if (it->second.process != process) {
      ++it;
      continue;
    }
    allocated_bytes_[it->second.node.value][it->second.device] -= it->second.bytes;
    it = allocations_.erase(it);
  }
}

int64_t ThreadsGpus::used_bytes(NodeId node, uint32_t device) const {
  std::lock_guard lock(mutex_);
  assert(node.value < allocated_bytes_.size() && device < allocated_bytes_[node.value].size());
  return allocated_bytes_[node.value][device];
}

}  // namespace troupe::real
