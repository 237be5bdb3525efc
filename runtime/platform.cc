#include "runtime/platform.h"

#include <cassert>

#include "fmt/format.h"

namespace troupe {
namespace {
thread_local ExecutionContext* current_context = nullptr;
}  // namespace

ExecutionContext* ExecutionContext::current() { return current_context; }

std::string WaitReason::describe() const {
  if (on != nullptr) {
    FiberId holder = on->holder();
    if (holder.valid()) return fmt::format("{} {} (held by fiber {})", what, on->describe(), holder);
    return fmt::format("{} {}", what, on->describe());
  }
  if (object == 0) return std::string(what);
  return fmt::format("{} {}", what, ObjectId::unpack(object));
}

void Platform::run_parallel(int /*pool*/, int lanes, absl::FunctionRef<void()> body) {
  ExecutionContext* context = ExecutionContext::current();
  assert(context != nullptr && context->fiber.valid() && "run_parallel() outside a fiber");
  assert(!context->parallel && lanes >= 1 && "run_parallel() nested, or without lanes");
  (void)lanes;
  struct Restore {
    ExecutionContext* context;
    ~Restore() { context->parallel = false; }
  } restore{context};
  context->parallel = true;
  body();
}

void Platform::enter_turn() { ExecutionContext::current()->parallel = false; }

void Platform::leave_turn() { ExecutionContext::current()->parallel = true; }

ExecutionContext* ExecutionContext::exchange(ExecutionContext* context) {
  ExecutionContext* previous = current_context;
  current_context = context;
  return previous;
}

}  // namespace troupe

namespace troupe {

absl::Status Platform::gpu_run(uint32_t /*device*/, const gpu::Work& /*work*/, absl::FunctionRef<void()>* /*kernel*/) {
  return absl::UnimplementedError("this platform has no GPU model");
}

absl::StatusOr<uint64_t> Platform::gpu_alloc(uint32_t /*device*/, int64_t /*bytes*/) {
  return absl::UnimplementedError("this platform has no GPU model");
}

}  // namespace troupe
