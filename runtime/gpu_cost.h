// The arithmetic of the GPU device model that both platforms share (runtime/gpu.h): a kernel's
// exclusive time on a device, and the words for memory amounts in errors and traces.
// Deterministic: IEEE double division, multiplication and ceil, which every compiler rounds the
// same way on the platforms Troupe builds for.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/gpu.h"
#include "runtime/ids.h"
#include "runtime/platform.h"

namespace troupe {

// The time `work` takes alone on one of `node`'s devices at full speed:
// ceil(flops * 1e9 / gpu_flops) + ceil(bytes * 1e9 / gpu_bandwidth_bytes_per_s) + duration, in
// ns. InvalidArgument when it exceeds gpu::kMaxKernelTime.
// REQUIRES: the amounts of `work` are finite and >= 0 (the API checks them).
absl::StatusOr<Nanos> gpu_exclusive_ns(const gpu::Work& work, const NodeInfo& node);

// "6 GiB", "512 MiB", "3 KiB" when the amount is a whole number of such units; else exact with a
// rounded reading, "14476970332 bytes (13.48 GiB)", "1500000 bytes (1.43 MiB)"; "1234 bytes".
std::string format_gpu_bytes(int64_t bytes);

// What an allocation that does not fit reports (GpuOutOfMemory):
// "gpu::alloc: 6 GiB on GPU 0 of n1: 12 GiB of 16 GiB in use (4 GiB of it by memory pressure)";
// without the parenthesis when `pressure_bytes` is 0.
std::string gpu_out_of_memory_message(NodeId node, uint32_t device, int64_t requested_bytes, int64_t used_bytes,
                                      int64_t pressure_bytes, int64_t capacity_bytes);

}  // namespace troupe
