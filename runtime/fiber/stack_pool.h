// StackPool: fiber stacks with guard pages, reused across fibers.
//
// Each stack is an mmap'd region of `stack_bytes` plus one PROT_NONE guard page below it, so a
// stack overflow faults on the guard page instead of corrupting a neighbour. A process-wide
// SIGSEGV handler (on an alternate signal stack, installed on first use) recognises a fault on a
// guard page and aborts with "troupe: fiber stack overflow in fiber '<name>' (stack of N bytes)".
//
// Freed stacks are kept (up to `max_cached`) and handed out again; memory is committed lazily by
// the kernel, so a large `stack_bytes` costs only the pages a fiber actually touches.
//
// Thread-safe: the threads platform allocates and frees from several threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace troupe {

struct StackPoolOptions {
  // Usable stack size per fiber, rounded up to whole pages.
  size_t stack_bytes = 256 * 1024;
  // Freed stacks kept for reuse; beyond this they are unmapped.
  size_t max_cached = 1024;
  // Stacks alive at once; allocation beyond this aborts with a message naming the limit.
  size_t max_live = 1'000'000;
};

// One allocated stack: [base - size, base) is usable; the guard page lies just below.
struct FiberStack {
  void* base = nullptr;  // the high end (stacks grow down)
  size_t size = 0;
};

// The fiber stacks handed out and not yet released, across every pool of the process (a stack in
// a pool's cache is not live), and how much of them the kernel has backed with memory. A stack
// reserves stack_bytes of address space but costs only the pages fibers have touched: that is
// `resident_bytes` (mincore; a reused stack keeps the pages earlier fibers touched). For
// measurements (tools/bench), not for behaviour: it depends on the kernel, and takes a lock and
// one mincore call per live stack.
struct LiveStackUsage {
  size_t stacks = 0;
  size_t reserved_bytes = 0;  // the stacks' usable sizes (guard pages not counted)
  size_t resident_bytes = 0;  // pages of them in memory
};
LiveStackUsage live_stack_usage();

class StackPool {
 public:
  explicit StackPool(StackPoolOptions options = {});
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;

  // A stack for a fiber called `fiber_name` (remembered for the overflow report).
  FiberStack allocate(const char* fiber_name);
  void release(FiberStack stack);

  size_t live() const;
  size_t cached() const;
  const StackPoolOptions& options() const { return options_; }

 private:
  StackPoolOptions options_;
  mutable std::mutex mutex_;
  std::vector<FiberStack> cache_;
  size_t live_ = 0;
};

}  // namespace troupe
