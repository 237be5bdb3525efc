#include "runtime/fiber/stack_pool.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <thread>

#include "runtime/fiber/guard.h"

namespace troupe {
namespace {

size_t page_bytes() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

// A write `offset` bytes below the lowest usable byte of `stack` (0: the top of the guard page).
void write_below(const FiberStack& stack, size_t offset) {
  volatile char* lowest = static_cast<char*>(stack.base) - stack.size;
  lowest[-1 - static_cast<ptrdiff_t>(offset)] = 1;
}

// How an ordinary segfault ends: by SIGSEGV, or under a sanitizer by its report (its handler was
// there before ours, and ours hands such faults back to it).
#if defined(__SANITIZE_ADDRESS__) || defined(TROUPE_ASAN)
#define EXPECT_ORDINARY_SEGFAULT(statement) EXPECT_DEATH(statement, "AddressSanitizer: SEGV")
#elif defined(__SANITIZE_THREAD__)
#define EXPECT_ORDINARY_SEGFAULT(statement) EXPECT_DEATH(statement, "ThreadSanitizer: SEGV")
#else
#define EXPECT_ORDINARY_SEGFAULT(statement) \
  EXPECT_EXIT(statement, testing::KilledBySignal(SIGSEGV), "^$")  // and no overflow report
#endif

TEST(StackPoolTest, StackSizeIsRoundedUpToWholePages) {
  StackPool pool({.stack_bytes = 1000});
  EXPECT_EQ(pool.options().stack_bytes, page_bytes());
  const FiberStack stack = pool.allocate("rounded");
  EXPECT_EQ(stack.size, page_bytes());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(stack.base) % page_bytes(), 0u);
  pool.release(stack);
}

TEST(StackPoolTest, WholeUsableRegionIsWritable) {
  StackPool pool({.stack_bytes = 4 * page_bytes()});
  const FiberStack stack = pool.allocate("writable");
  volatile char* lowest = static_cast<char*>(stack.base) - stack.size;
  for (size_t i = 0; i < stack.size; i += 512) lowest[i] = 1;
  lowest[stack.size - 1] = 1;
  EXPECT_EQ(lowest[0], 1);
  pool.release(stack);
}

TEST(StackPoolTest, ReleasedStacksAreCachedAndHandedOutAgain) {
  StackPool pool({.stack_bytes = 16 * 1024});
  const FiberStack first = pool.allocate("a");
  EXPECT_EQ(pool.live(), 1u);
  EXPECT_EQ(pool.cached(), 0u);
  pool.release(first);
  EXPECT_EQ(pool.live(), 0u);
  EXPECT_EQ(pool.cached(), 1u);
  const FiberStack second = pool.allocate("b");
  EXPECT_EQ(second.base, first.base);
  EXPECT_EQ(pool.cached(), 0u);
  pool.release(second);
}

TEST(StackPoolTest, CacheKeepsAtMostMaxCached) {
  StackPool pool({.stack_bytes = 16 * 1024, .max_cached = 2});
  const FiberStack a = pool.allocate("a");
  const FiberStack b = pool.allocate("b");
  const FiberStack c = pool.allocate("c");
  EXPECT_EQ(pool.live(), 3u);
  pool.release(a);
  pool.release(b);
  pool.release(c);
  EXPECT_EQ(pool.live(), 0u);
  EXPECT_EQ(pool.cached(), 2u);
}

TEST(StackPoolTest, LiveStackUsageCountsLiveStacksAndTheirTouchedPages) {
  const LiveStackUsage before = live_stack_usage();
  StackPool pool({.stack_bytes = 8 * page_bytes(), .max_cached = 0});
  const FiberStack touched = pool.allocate("touched");
  const FiberStack untouched = pool.allocate("untouched");
  volatile char* lowest = static_cast<char*>(touched.base) - touched.size;
  lowest[touched.size - 1] = 1;              // the top page, where a fiber starts
  lowest[touched.size - 1 - page_bytes()] = 1;  // and the one below
  LiveStackUsage usage = live_stack_usage();
  EXPECT_EQ(usage.stacks - before.stacks, 2u);
  EXPECT_EQ(usage.reserved_bytes - before.reserved_bytes, 16 * page_bytes());
  EXPECT_EQ(usage.resident_bytes - before.resident_bytes, 2 * page_bytes());
  pool.release(touched);  // unmapped (max_cached = 0): neither live nor resident any more
  usage = live_stack_usage();
  EXPECT_EQ(usage.stacks - before.stacks, 1u);
  EXPECT_EQ(usage.reserved_bytes - before.reserved_bytes, 8 * page_bytes());
  EXPECT_EQ(usage.resident_bytes - before.resident_bytes, 0u);
  pool.release(untouched);
  EXPECT_EQ(live_stack_usage().stacks, before.stacks);
}

TEST(StackPoolTest, SignalStackIsInstalledOnTheCallingThread) {
  std::thread thread([] {
    troupe::fiber_internal::ensure_signal_stack();
    stack_t current;
    ASSERT_EQ(sigaltstack(nullptr, &current), 0);
    EXPECT_EQ(current.ss_flags & SS_DISABLE, 0);
    EXPECT_GE(current.ss_size, static_cast<size_t>(MINSIGSTKSZ));
  });
  thread.join();
}

TEST(StackPoolDeathTest, ExceedingMaxLiveAbortsNamingTheLimit) {
  EXPECT_DEATH(
      {
        StackPool pool({.stack_bytes = 16 * 1024, .max_live = 2});
        (void)pool.allocate("a");
        (void)pool.allocate("b");
        (void)pool.allocate("c");
      },
      "troupe: StackPoolOptions::max_live \\(2\\) exceeded");
}

TEST(StackPoolDeathTest, FaultOnTheGuardPageNamesTheFiber) {
  StackPool pool({.stack_bytes = 8 * 1024});
  const FiberStack stack = pool.allocate("guarded");
  EXPECT_DEATH(write_below(stack, 0), "troupe: fiber stack overflow in fiber 'guarded' \\(stack of 8192 bytes\\)");
  EXPECT_DEATH(write_below(stack, page_bytes() - 1), "fiber stack overflow in fiber 'guarded'");
  pool.release(stack);
}

TEST(StackPoolDeathTest, LongNamesAreTruncatedInTheReport) {
  StackPool pool({.stack_bytes = 8 * 1024});
  const std::string name(100, 'x');
  const FiberStack stack = pool.allocate(name.c_str());
  const std::string kept(fiber_internal::kGuardNameBytes - 1, 'x');
  EXPECT_DEATH(write_below(stack, 0), "in fiber '" + kept + "' \\(stack");
  pool.release(stack);
}

TEST(StackPoolDeathTest, OrdinarySegfaultStillCrashesAsBefore) {
  StackPool pool;  // installs the handler
  // An inaccessible page that is no fiber's guard (not a null pointer: UBSan would catch that).
  void* page = mmap(nullptr, page_bytes(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  EXPECT_ORDINARY_SEGFAULT(*static_cast<volatile int*>(page) = 1);
  munmap(page, page_bytes());
}

TEST(StackPoolDeathTest, GuardOfAReleasedStackIsNoLongerReported) {
  StackPool pool({.stack_bytes = 8 * 1024});
  const FiberStack stack = pool.allocate("gone");
  pool.release(stack);  // cached: still mapped, guard page still PROT_NONE, but not live
  ASSERT_EQ(pool.cached(), 1u);
  EXPECT_ORDINARY_SEGFAULT(write_below(stack, 0));
}

}  // namespace
}  // namespace troupe
