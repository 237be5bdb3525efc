// Fibers: stackful coroutines on Boost.Context, with stacks from a StackPool.
//
// A Fiber runs a body on its own stack. Whoever calls `resume()` runs the fiber until the body
// calls `Fiber::suspend()` (back to the resumer) or returns. Fibers are the only way Troupe code
// blocks: `get`, `sleep` and locks park the fiber, never the platform thread, so actor code is
// plain C++ with no coroutine colouring.
//
// Ownership: the platform owns its fibers. Destroying a fiber that has started but not finished
// unwinds its stack (destructors run, via Boost.Context's forced_unwind), which is how a crashed
// process's fibers disappear. Code running on a fiber must therefore never swallow exceptions
// with `catch (...)` without rethrowing; use `troupe::is_forced_unwind` to tell them apart.
//
// A fiber's stack is taken from the pool when it first resumes and returned when it finishes or
// is destroyed: a fiber that never ran, and so an idle actor, holds no stack.
//
// Not thread-safe: a fiber is resumed by one thread at a time; it may be resumed by different
// threads over its life (the threads platform does this), never concurrently.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "runtime/fiber/stack_pool.h"

namespace troupe {

class Fiber {
 public:
  // A fiber that will run `body` when first resumed. `name` appears in crash reports (stack
  // overflow names the fiber). REQUIRES: `pool` outlives the fiber.
  Fiber(StackPool& pool, std::string name, absl::AnyInvocable<void()> body);
  ~Fiber();
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // Runs the fiber until it suspends or finishes. An exception escaping the body (other than the
  // forced unwind of destruction) terminates the process: bodies must catch their own.
  // REQUIRES: !finished(), not currently running, not called from inside this fiber.
  void resume();

  // From inside a running fiber: switches back to the code that resumed it. Returns when the
  // fiber is resumed again. REQUIRES: current() != nullptr.
  static void suspend();

  // The fiber running on this thread, or nullptr when on a thread's own stack.
  static Fiber* current();

  bool started() const { return started_; }
  bool finished() const { return finished_; }
  const std::string& name() const { return name_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  StackPool& pool_;
  std::string name_;
  absl::AnyInvocable<void()> body_;
  bool started_ = false;
  bool finished_ = false;
  bool running_ = false;
  Fiber* previous_ = nullptr;  // the fiber (or nullptr) that was current when resume() was called
};

// True when `e` is the exception Boost.Context throws through a fiber's stack to unwind it on
// destruction. Code that catches everything must rethrow it.
bool is_forced_unwind(const std::exception_ptr& e);

}  // namespace troupe
