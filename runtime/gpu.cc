// troupe::gpu: the checks of the public API; the model itself is the platform's
// (Platform::gpu_run, gpu_alloc, gpu_free).
#include "runtime/gpu.h"

#include <cmath>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "runtime/detail/runtime_api.h"
#include "runtime/errors.h"
#include "runtime/platform.h"

namespace troupe::gpu {
namespace {

struct Target {
  Platform* platform;
  uint32_t device;
};

// The device `options` names for the calling actor; throws on misuse.
Target resolve(std::string_view call, RunOptions options) {
  ExecutionContext* context = ExecutionContext::current();
  troupe::detail::Runtime* runtime =
      context == nullptr || context->host == nullptr ? nullptr : context->host->user_runtime();
  if (runtime == nullptr || !context->fiber.valid()) {
    throw std::logic_error(fmt::format(
        "{}: called outside a Troupe actor (call it from a method of an actor spawned with ActorOptions::num_gpus > 0)",
        call));
  }
  if (!runtime->hosted_actor().valid()) {
    throw std::logic_error(fmt::format(
        "{}: called in the driver, which has no GPU (call it from an actor spawned with ActorOptions::num_gpus > 0)",
        call));
  }
  const std::vector<uint32_t> ids = runtime->gpu_ids();
  if (ids.empty()) {
    throw std::logic_error(fmt::format("{}: actor {} has no GPU (spawn it with ActorOptions::num_gpus > 0)", call,
                                       runtime->hosted_actor()));
  }
  if (options.device < 0 || static_cast<size_t>(options.device) >= ids.size()) {
    throw std::invalid_argument(fmt::format(
        "{}: RunOptions::device = {}, but actor {} has {} GPU{} (use an index from 0 to {} into this_actor::gpu_ids())",
        call, options.device, runtime->hosted_actor(), ids.size(), ids.size() == 1 ? "" : "s", ids.size() - 1));
  }
  return {.platform = context->platform, .device = ids[static_cast<size_t>(options.device)]};
}

[[noreturn]] void throw_status(std::string_view call, const absl::Status& status) {
  const std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kResourceExhausted:
      throw GpuOutOfMemory(message);
    case absl::StatusCode::kUnavailable:
      throw GpuLostError(fmt::format("{}: {}", call, message));
    case absl::StatusCode::kInvalidArgument:
      throw std::invalid_argument(fmt::format("{}: {}", call, message));
    default:
      throw std::logic_error(fmt::format("{}: {}", call, message));
  }
}

}  // namespace

namespace detail {

void run_kernel(const Work& work, absl::FunctionRef<void()>* kernel, RunOptions options) {
  if (!std::isfinite(work.flops) || work.flops < 0) {
    throw std::invalid_argument(fmt::format("gpu::run: Work::flops = {} (must be finite and at least 0)", work.flops));
  }
  if (work.bytes < 0) {
    throw std::invalid_argument(fmt::format("gpu::run: Work::bytes = {} (must be at least 0)", work.bytes));
  }
  if (work.duration.count() < 0) {
    throw std::invalid_argument(
        fmt::format("gpu::run: Work::duration = {} ns (must be at least 0)", work.duration.count()));
  }
  Target target = resolve("gpu::run", options);
  // No ProcessTurn here: the platform takes the turn where it needs it, so that a real kernel
  // runs beside the process's other work.
  absl::Status status = target.platform->gpu_run(target.device, work, kernel);
  if (!status.ok()) throw_status("gpu::run", status);
}

}  // namespace detail

void run(const Work& work, RunOptions options) { detail::run_kernel(work, nullptr, options); }

void run(std::chrono::nanoseconds duration, RunOptions options) {
  detail::run_kernel({.duration = duration}, nullptr, options);
}

Allocation& Allocation::operator=(Allocation&& other) noexcept {
  if (this != &other) {
    release();
    platform_ = std::exchange(other.platform_, nullptr);
    id_ = std::exchange(other.id_, 0);
    bytes_ = std::exchange(other.bytes_, 0);
    device_ = std::exchange(other.device_, 0);
  }
  return *this;
}

void Allocation::release() {
  if (platform_ == nullptr) return;
  std::exchange(platform_, nullptr)->gpu_free(std::exchange(id_, 0));
  bytes_ = 0;
}

Allocation alloc(int64_t bytes, RunOptions options) {
  if (bytes < 0) throw std::invalid_argument(fmt::format("gpu::alloc: bytes = {} (must be at least 0)", bytes));
  Target target = resolve("gpu::alloc", options);
  absl::StatusOr<uint64_t> id;
  {
    ProcessTurn turn;
    id = target.platform->gpu_alloc(target.device, bytes);
  }
  if (!id.ok()) throw_status("gpu::alloc", id.status());
  Allocation allocation;
  allocation.platform_ = target.platform;
  allocation.id_ = *id;
  allocation.bytes_ = bytes;
  allocation.device_ = target.device;
  return allocation;
}

}  // namespace troupe::gpu
