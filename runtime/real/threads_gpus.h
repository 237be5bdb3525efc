// ThreadsGpus: the threads platform's GPU bookkeeping (runtime/gpu.h). Internal to runtime/real.
//
// On real threads there is no device model to share: gpu::run runs the user's kernel callable,
// or waits the kernel's modelled exclusive time (runtime/gpu_cost.h) without sharing the device
// with other kernels. What is modelled is memory: each device of a node has the node's
// gpu_memory_bytes, allocations beyond it fail as under the simulator, and a process's
// allocations are freed when it ends. Devices are never throttled, pressed or lost here.
//
// Thread-safe: one mutex guards everything; every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/ids.h"
#include "runtime/platform.h"

namespace troupe::real {

class ThreadsGpus {
 public:
  explicit ThreadsGpus(const std::vector<NodeInfo>& nodes);

  // Platform::bind_gpus. REQUIRES: `devices` exist on `node`.
  void bind(ProcessId process, NodeId node, std::vector<uint32_t> devices);
  // OK if `process` is bound to `device`, else FailedPrecondition naming both.
  absl::Status check(ProcessId process, uint32_t device) const;
  // Platform::gpu_alloc: the allocation's id, or ResourceExhausted with the device's fill.
  absl::StatusOr<uint64_t> alloc(ProcessId process, uint32_t device, int64_t bytes);
  // Platform::gpu_free; a no-op for an allocation freed already.
  void free(uint64_t allocation);
  // `process` ended: frees its allocations and forgets its binding.
  void process_ended(ProcessId process);
  // Bytes allocated on a device, for tests.
  int64_t used_bytes(NodeId node, uint32_t device) const;

 private:
  struct Binding {
    NodeId node;
    std::vector<uint32_t> devices;
  };
  struct Allocation {
    ProcessId process;
    NodeId node;
    uint32_t device = 0;
    int64_t bytes = 0;
  };

  mutable std::mutex mutex_;
  std::vector<NodeInfo> nodes_;
  std::vector<std::vector<int64_t>> allocated_bytes_;  // [node][device]; guarded by mutex_
  std::map<uint32_t, Binding> bindings_;               // by process id; guarded by mutex_
  std::map<uint64_t, Allocation> allocations_;         // by id; guarded by mutex_
  uint64_t next_allocation_ = 1;                       // guarded by mutex_
};

}  // namespace troupe::real
