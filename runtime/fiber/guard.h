// Internal to runtime/fiber: the stack-overflow detector behind StackPool's guard pages.
//
// A fiber that overflows its stack writes into the PROT_NONE guard page below it and takes a
// SIGSEGV. That signal cannot be handled on the overflowed stack, so every thread that runs
// fibers needs an alternate signal stack, and the handler needs a way to map the faulting address
// back to a fiber name without locks or allocation. This header is that machinery:
//
//   * install_overflow_handler() installs the SIGSEGV/SIGBUS handler once per process;
//   * ensure_signal_stack() gives the calling thread an alternate signal stack (lazily, once);
//   * register_guard()/unregister_guard() keep a process-wide table of the guard pages of live
//     stacks that the handler reads with atomic loads only.
//
// The table is process-wide (a signal handler has nothing else to reach) and bounded:
// kGuardSlots stacks live at once across all pools. Beyond that, stacks still work, but an
// overflow on one of them is reported as a plain SIGSEGV (a one-time warning says so).
//
// Thread-safe: all functions may be called from any thread.
#pragma once

#include <cstddef>

#include "runtime/fiber/stack_pool.h"

namespace troupe::fiber_internal {

// Stacks whose overflow can be named at once, process-wide.
inline constexpr size_t kGuardSlots = size_t{1} << 16;
// Fiber names are truncated to this many bytes (including the terminating NUL) in the report.
inline constexpr size_t kGuardNameBytes = 48;

// Installs the SIGSEGV/SIGBUS handler (std::call_once). Faults outside a registered guard page
// are passed on: the previous disposition is restored and the fault happens again.
void install_overflow_handler();

// Installs an alternate signal stack on the calling thread unless it already has one (ours or
// anyone's, e.g. ASan's). Freed when the thread exits. Call before running a fiber.
void ensure_signal_stack();

// Records the guard page [stack.base - stack.size - guard_bytes, stack.base - stack.size) of a
// stack just handed to fiber `name` (copied). REQUIRES: not already registered.
void register_guard(const FiberStack& stack, size_t guard_bytes, const char* name);

// The live stacks of the table (every stack registered and not yet unregistered), with
// mincore's count of their resident pages: StackPool's live_stack_usage().
LiveStackUsage live_stack_usage();

// Forgets the guard page of `stack`. REQUIRES: registered (or refused for lack of slots).
void unregister_guard(const FiberStack& stack);

}  // namespace troupe::fiber_internal
