#include "runtime/gpu_cost.h"

#include <cassert>
#include <cmath>

#include "fmt/format.h"

namespace troupe {

namespace {
// ceil(amount * 1e9 / rate) as whole ns, or -1 beyond the kernel limit.
Nanos ceil_ns(double amount, double rate) {
  assert(amount >= 0);
  if (amount == 0) return 0;
  const double ns = std::ceil(amount * 1e9 / rate);
  if (!(ns <= static_cast<double>(gpu::kMaxKernelTime.count()))) return -1;
  return static_cast<Nanos>(ns);
}
}  // namespace

absl::StatusOr<Nanos> gpu_exclusive_ns(const gpu::Work& work, const NodeInfo& node) {
  assert(std::isfinite(work.flops) && work.flops >= 0);
  assert(work.bytes >= 0 && work.duration.count() >= 0);
  const Nanos limit = gpu::kMaxKernelTime.count();
  const Nanos compute = ceil_ns(work.flops, node.gpu_flops);
  const Nanos traffic = ceil_ns(static_cast<double>(work.bytes), node.gpu_bandwidth_bytes_per_s);
  const Nanos duration = work.duration.count();
  if (compute < 0 || traffic < 0 || duration > limit || compute + traffic + duration > limit) {
    return absl::InvalidArgumentError(fmt::format(
        "a kernel of {:g} FLOPs, {} and {} ns takes longer than gpu::kMaxKernelTime (24 h) on a device of {}",
        work.flops, format_gpu_bytes(work.bytes), duration, node.id));
  }
  return compute + traffic + duration;
}

std::string format_gpu_bytes(int64_t bytes) {
  constexpr int64_t kKiB = 1024;
  if (bytes != 0 && bytes % (kKiB * kKiB * kKiB) == 0) return fmt::format("{} GiB", bytes / (kKiB * kKiB * kKiB));
  if (bytes != 0 && bytes % (kKiB * kKiB) == 0) return fmt::format("{} MiB", bytes / (kKiB * kKiB));
  if (bytes != 0 && bytes % kKiB == 0) return fmt::format("{} KiB", bytes / kKiB);
  // Not a whole unit: exact, with a rounded reading beside it ("14476970332 bytes (13.48 GiB)").
  const auto b = static_cast<double>(bytes);
  if (bytes >= kKiB * kKiB * kKiB) return fmt::format("{} bytes ({:.2f} GiB)", bytes, b / (kKiB * kKiB * kKiB));
  if (bytes >= kKiB * kKiB) return fmt::format("{} bytes ({:.2f} MiB)", bytes, b / (kKiB * kKiB));
  return fmt::format("{} byte{}", bytes, bytes == 1 ? "" : "s");
}

std::string gpu_out_of_memory_message(NodeId node, uint32_t device, int64_t requested_bytes, int64_t used_bytes,
                                      int64_t pressure_bytes, int64_t capacity_bytes) {
  std::string message =
      fmt::format("gpu::alloc: {} on GPU {} of {}: {} of {} in use", format_gpu_bytes(requested_bytes), device, node,
                  format_gpu_bytes(used_bytes + pressure_bytes), format_gpu_bytes(capacity_bytes));
  if (pressure_bytes > 0) message += fmt::format(" ({} of it by memory pressure)", format_gpu_bytes(pressure_bytes));
  return message;
}

}  // namespace troupe
