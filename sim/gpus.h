// sim::Gpus: the simulated GPU devices of a World (runtime/gpu.h; docs/semantics.md, "GPUs").
//
// Each device of each node has a memory capacity and a speed. Kernels on one device share it by
// weighted processor sharing: while kernels 1..k run, kernel i progresses at
//   weight_i / (weight_1 + ... + weight_k) / slowdown
// of the device's full speed, where weight_i is its process's share of the device (in
// wire::kGpuUnits) and slowdown is the largest active throttle (1 without). The arithmetic is
// integer: a kernel's remaining work is kept in 1/kWorkScale ns of exclusive time; over an
// interval of dt ns a kernel progresses by floor(dt * kWorkScale * weight * 1000 / (W *
// slowdown_milli)); the next completion is the least ceil(remaining * W * slowdown_milli /
// (kWorkScale * weight * 1000)) ns away. Kernels that reach zero at the same instant end in
// arrival order. A kernel thus ends on a whole ns and holds its share up to then.
//
// Memory: a device's used bytes are its live allocations plus what memory pressure (a
// neighbour) holds; an allocation beyond capacity fails. A process's allocations and kernels end
// with the process. A lost device fails every later use until its node reboots.
//
// Owned by the World, which calls it from its Platform methods and fault hooks; it acts on the
// World only through the World's public interface (at, park, unpark, kill_process, trace).
// Single-threaded and deterministic: ordered maps, counters for ids, no floating point in the
// sharing arithmetic.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/ids.h"
#include "runtime/platform.h"

namespace troupe::sim {

class World;

class Gpus {
 public:
  // Remaining work is kept in 1/kWorkScale ns of exclusive device time.
  static constexpr int64_t kWorkScale = 10000;
  // Throttles: the slowdown is kept in thousandths, up to kMaxSlowdown.
  static constexpr double kMaxSlowdown = 1000;

  explicit Gpus(World& world) : world_(world) {}
  Gpus(const Gpus&) = delete;
  Gpus& operator=(const Gpus&) = delete;

  // The devices of a new node (node.gpus of them, with node's memory).
  void add_node(const NodeInfo& node);
  // Platform::bind_gpus.
  void bind(ProcessId process, NodeId node, std::vector<uint32_t> devices, int32_t weight);
  // Runs a kernel of `exclusive_ns` for `fiber` of `process` and parks it until the kernel ends.
  absl::Status run(ProcessId process, FiberId fiber, uint32_t device, Nanos exclusive_ns);
  absl::StatusOr<uint64_t> alloc(ProcessId process, uint32_t device, int64_t bytes);
  void free(uint64_t allocation);
  // `process` ended: its kernels stop and its allocations are freed.
  void process_ended(ProcessId process);

  // Fault hooks (see World::throttle_gpu, pressure_gpu_memory, lose_gpu).
  void throttle(NodeId node, uint32_t device, double slowdown, Nanos duration);
  void pressure(NodeId node, uint32_t device, int64_t bytes, Nanos duration);
  void lose(NodeId node, uint32_t device);
  // The node rebooted: its lost devices are healthy again.
  void node_rebooted(NodeId node);

  // Per device of `node`: lost (NodeInfo::gpu_lost).
  std::vector<bool> lost(NodeId node) const;
  // Bytes in use on a device (allocations and pressure), for tests and reports.
  int64_t used_bytes(NodeId node, uint32_t device) const;

 private:
  struct Kernel {
    uint64_t id;
    ProcessId process;
    FiberId fiber;
    int32_t weight;
    int64_t remaining;  // in 1/kWorkScale ns of exclusive time
    bool* done;         // on the waiting fiber's stack; the kernel is erased before it goes
  };
  struct Device {
    NodeId node;
    uint32_t index = 0;
    int64_t capacity_bytes = 0;
    int64_t allocated_bytes = 0;
    int64_t pressure_bytes = 0;
    bool lost = false;
    std::map<uint64_t, int64_t> throttles;  // fault id -> slowdown in thousandths; the largest applies
    std::vector<Kernel> kernels;            // running, in arrival order
    Nanos updated_at = 0;                   // kernels' progress is counted up to here
    uint64_t epoch = 0;                     // of the pending completion event; newer ones supersede it
  };
  struct Binding {
    NodeId node;
    std::vector<uint32_t> devices;
    int32_t weight = 0;
  };
  struct Allocation {
    ProcessId process;
    NodeId node;
    uint32_t device = 0;
    int64_t bytes = 0;
  };

  Device& device(NodeId node, uint32_t index);
  // The device `process` may use, or an error naming why not.
  absl::StatusOr<Device*> usable(ProcessId process, uint32_t index, const Binding** binding);
  int64_t slowdown_milli(const Device& device) const;
  // Counts the kernels' progress up to now.
  void advance(Device& device);
  // Ends the kernels that are done and schedules the next completion.
  void reschedule(Device& device);
  void trace(const Device& device, ProcessId process, std::string detail);

  World& world_;
  std::vector<std::vector<Device>> devices_;  // [node][device]
  std::map<uint32_t, Binding> bindings_;       // by process id
  std::map<uint64_t, Allocation> allocations_;  // by allocation id
  uint64_t next_kernel_ = 1;
  uint64_t next_allocation_ = 1;
  uint64_t next_fault_ = 1;
};

}  // namespace troupe::sim
