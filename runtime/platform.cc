#include "runtime/platform.h"

#include "fmt/format.h"

namespace troupe {
namespace {
thread_local ExecutionContext* current_context = nullptr;
}  // namespace

ExecutionContext* ExecutionContext::current() { return current_context; }

std::string WaitReason::describe() const {
  if (object == 0) return std::string(what);
  return fmt::format("{} {}", what, ObjectId::unpack(object));
}

ExecutionContext* ExecutionContext::exchange(ExecutionContext* context) {
  ExecutionContext* previous = current_context;
  current_context = context;
  return previous;
}

}  // namespace troupe
