// troupe::gpu: the GPU device model — kernels and device memory for actors given GPUs.
//
// An actor spawned with ActorOptions::num_gpus owns a share of one device or whole devices
// (this_actor::gpu_ids() names them). It launches kernels with gpu::run and takes device memory
// with gpu::alloc. Both act on one of its devices, chosen by RunOptions::device (an index into
// gpu_ids(), 0 by default).
//
// Under the simulator a device is a model (docs/semantics.md, "GPUs"): a kernel's cost (Work) is
// its exclusive time on the device at full speed; kernels running at once share the device by
// weighted processor sharing, each progressing at its actor's share over the sum of the shares
// of the kernels running; memory has a capacity, and an allocation that does not fit throws
// GpuOutOfMemory. Fault injection slows devices down, takes their memory, or loses them (the
// processes bound to a lost device crash). On the threads platform gpu::run runs the kernel
// callable if one is given, else waits the modelled exclusive time (no sharing); memory is
// accounted the same way.
//
//   class Trainer {
//    public:
//     double step() {
//       troupe::gpu::Allocation weights = troupe::gpu::alloc(int64_t{4} << 30);  // 4 GiB, freed at scope end
//       troupe::gpu::run({.flops = 2e12, .bytes = int64_t{1} << 30}, [&] { launch_cuda_step(); });
//       return loss_;
//     }
//   };
//   auto trainer = sys.spawn<Trainer>({.num_gpus = 0.5});
//
// REQUIRES (all): called from an actor's method or constructor, on its fiber (threaded and async
// actors' methods too). Under the simulator every call is a scheduling point; gpu::run blocks the
// calling fiber, never the platform thread. The threads platform has no GPU faults.
#pragma once

#include <chrono>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "absl/functional/function_ref.h"

namespace troupe {
class Platform;
}  // namespace troupe

namespace troupe::gpu {

// A kernel's cost. Its exclusive time on one device at full speed is
//   ceil(flops / device FLOP/s in ns) + ceil(bytes / device bytes/s in ns) + duration
// (each term rounded up to whole nanoseconds; the device's rates are the node's gpu_flops and
// gpu_bandwidth_bytes_per_s). Amounts must be finite and not negative; the exclusive time must
// not exceed kMaxKernelTime.
struct Work {
  double flops = 0;
  int64_t bytes = 0;  // memory traffic
  std::chrono::nanoseconds duration{0};
};

// The longest kernel the model accepts (exclusive time).
inline constexpr std::chrono::nanoseconds kMaxKernelTime = std::chrono::hours(24);

struct RunOptions {
  // Which of the actor's devices: an index into this_actor::gpu_ids() (0 is the first).
  int device = 0;
};

// Runs a kernel of cost `work` and returns when it is done (simulated: by the device model).
// Throws std::logic_error outside an actor or in an actor without GPUs, std::invalid_argument
// for a bad device index or cost, GpuLostError if the device has been lost.
void run(const Work& work, RunOptions options = {});
// The same for a kernel that costs `duration` of exclusive device time.
void run(std::chrono::nanoseconds duration, RunOptions options = {});

namespace detail {
// Both overloads of run end here; `kernel` is null without a callable.
void run_kernel(const Work& work, absl::FunctionRef<void()>* kernel, RunOptions options);
}  // namespace detail

// Runs `kernel` (the real computation) as a kernel of cost `work`: on the threads platform the
// callable runs, on the calling thread, and its own time counts (no modelled wait); under the
// simulator it is NOT run and the modelled time passes instead, so keep state changes that the
// rest of the program relies on outside it. Exceptions from `kernel` propagate.
template <typename Kernel, typename = std::enable_if_t<std::is_invocable_v<Kernel&>>>
void run(const Work& work, Kernel&& kernel, RunOptions options = {}) {
  absl::FunctionRef<void()> body(kernel);  // refers to `kernel`, which outlives the call
  detail::run_kernel(work, &body, options);
}

// Device memory held by an actor: taken by gpu::alloc, given back when the Allocation is
// destroyed (or its process ends, whichever is first). Movable, not copyable. A moved-from
// Allocation holds nothing (bytes() 0).
class Allocation {
 public:
  Allocation() = default;
  ~Allocation() { release(); }
  Allocation(Allocation&& other) noexcept { *this = std::move(other); }
  Allocation& operator=(Allocation&& other) noexcept;
  Allocation(const Allocation&) = delete;
  Allocation& operator=(const Allocation&) = delete;

  int64_t bytes() const { return bytes_; }
  // The device number on the node (one of this_actor::gpu_ids()).
  uint32_t device() const { return device_; }
  // Gives the memory back now; afterwards bytes() is 0.
  void release();

 private:
  friend Allocation alloc(int64_t bytes, RunOptions options);
  Platform* platform_ = nullptr;  // holds it; null when empty
  uint64_t id_ = 0;
  int64_t bytes_ = 0;
  uint32_t device_ = 0;
};

// Takes `bytes` of the device's memory. Throws GpuOutOfMemory when they do not fit (the message
// names the node, the device, the request and how full the device is); the actor may catch it
// and carry on. The other errors are run's.
[[nodiscard("the memory is freed when the Allocation is destroyed")]] Allocation alloc(int64_t bytes,
                                                                                        RunOptions options = {});

}  // namespace troupe::gpu
