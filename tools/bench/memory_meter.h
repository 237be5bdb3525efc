// Memory measurements for the benchmarks: live heap bytes through a counting operator new, fiber
// stacks through the stack pools' live_stack_usage(), and the process's resident set.
//
// Method. memory_meter.cc replaces the global operator new and delete (all forms) in the
// troupe_bench binary. They call malloc and free as the default ones do; while a MemoryMeter is
// running they also add malloc_usable_size() of every block allocated, and subtract it for every
// block freed, to a live counter, and keep its high-water mark. Blocks allocated before the meter
// started and freed while it runs count negatively, so `live_bytes()` is exactly the change in
// live heap (in usable bytes, without malloc's 8-byte chunk headers) caused by the code measured.
// Off, the hook costs one relaxed load per allocation, so the other benchmarks are unaffected.
// Not counted: direct malloc calls (msgpack's sbuffer grows with realloc while encoding; those
// buffers are transient) and memory the allocator keeps after a free.
//
// Fiber stacks are mmap'd outside operator new (runtime/fiber/stack_pool.h) and committed lazily,
// so a stack costs the pages its fibers touched, not its 256 KiB reservation; stack_usage()
// reports the live stacks and their resident pages (mincore).
//
// rss_bytes() (/proc/self/statm) and peak_rss_bytes() (VmHWM, reset by reset_peak_rss()) are
// the kernel's view of all of it, with the allocator's slack; they serve as a cross-check.
//
// Not thread-safe to start or stop concurrently; one meter at a time per process.
//
//   MemoryMeter meter;
//   meter.start();
//   ... spawn actors ...
//   int64_t heap = meter.live_bytes();   // heap bytes they hold
//   meter.stop();
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/fiber/stack_pool.h"

namespace troupe::bench {

class MemoryMeter {
 public:
  MemoryMeter() = default;
  ~MemoryMeter() { stop(); }
  MemoryMeter(const MemoryMeter&) = delete;
  MemoryMeter& operator=(const MemoryMeter&) = delete;

  // Zeroes the counters and starts counting. REQUIRES: no other meter is running.
  void start();
  void stop();

  // Heap bytes allocated minus heap bytes freed since start(), and the highest that reached.
  int64_t live_bytes() const;
  int64_t peak_bytes() const;
};

// The live fiber stacks of the process and their resident bytes (StackPool's live_stack_usage).
inline LiveStackUsage stack_usage() { return live_stack_usage(); }

// The process's resident set now, from /proc/self/statm.
int64_t rss_bytes();
// The highest resident set since the last reset_peak_rss() (VmHWM in /proc/self/status).
int64_t peak_rss_bytes();
// Resets VmHWM to the current resident set (writes "5" to /proc/self/clear_refs); false if the
// kernel refused.
bool reset_peak_rss();

}  // namespace troupe::bench
