// ThreadsPlatform's GPU methods (runtime/gpu.h): the callable runs, or the fiber waits the
// kernel's exclusive time; memory is accounted by real::ThreadsGpus.
#include <cassert>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "runtime/gpu.h"
#include "runtime/gpu_cost.h"
#include "runtime/real/threads_gpus.h"
#include "runtime/real/threads_platform.h"
#include "runtime/real/threads_platform_state.h"

namespace troupe {

void ThreadsPlatform::bind_gpus(ProcessId process, std::vector<uint32_t> devices, int32_t /*weight*/) {
  ProcessStrand* strand = state_->find(process);
  assert(strand != nullptr);
  gpus_->bind(process, strand->node, std::move(devices));
}

absl::Status ThreadsPlatform::gpu_run(uint32_t device, const gpu::Work& work, absl::FunctionRef<void()>* kernel) {
  ExecutionContext* context = ExecutionContext::current();
  assert(owns(context) && context->fiber.valid() && "gpu_run() outside a fiber");
  if (absl::Status bound = gpus_->check(context->process, device); !bound.ok()) return bound;
  absl::StatusOr<Nanos> exclusive = gpu_exclusive_ns(work, state_->nodes[context->node.value]);
  if (!exclusive.ok()) return exclusive.status();
  if (kernel != nullptr) {
    (*kernel)();  // the real work, outside the process's turn; its own time counts
    return absl::OkStatus();
  }
  ProcessTurn turn;
  const FiberId self = context->fiber;
  const Nanos deadline = now() + *exclusive;
  TimerId timer = start_timer(context->process, deadline, [this, self] { unpark(self); });
  while (now() < deadline) park({.what = "gpu kernel"});
  cancel_timer(timer);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ThreadsPlatform::gpu_alloc(uint32_t device, int64_t bytes) {
  ExecutionContext* context = ExecutionContext::current();
  assert(owns(context) && "gpu_alloc() outside this platform");
  absl::StatusOr<uint64_t> allocation = gpus_->alloc(context->process, device, bytes);
  if (allocation.status().code() == absl::StatusCode::kResourceExhausted) {
    trace({.kind = TraceKind::kGpu, .detail = fmt::format("out of memory: {}", allocation.status().message())});
  }
  return allocation;
}

void ThreadsPlatform::gpu_free(uint64_t allocation) { gpus_->free(allocation); }

int64_t ThreadsPlatform::gpu_used_bytes(NodeId node, uint32_t device) const { return gpus_->used_bytes(node, device); }

}  // namespace troupe
