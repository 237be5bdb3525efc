#include "runtime/platform.h"

namespace troupe {
namespace {
thread_local ExecutionContext* current_context = nullptr;
}  // namespace

ExecutionContext* ExecutionContext::current() { return current_context; }

ExecutionContext* ExecutionContext::exchange(ExecutionContext* context) {
  ExecutionContext* previous = current_context;
  current_context = context;
  return previous;
}

}  // namespace troupe
