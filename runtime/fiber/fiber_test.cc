#include "runtime/fiber/fiber.h"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace troupe {
namespace {

StackPoolOptions SmallStacks() { return {.stack_bytes = 64 * 1024}; }

// Sets *flag when destroyed: shows which destructors ran on a fiber's stack.
struct SetOnDestruction {
  bool* flag;
  ~SetOnDestruction() { *flag = true; }
};

TEST(FiberTest, PingPongAlternatesInExactOrder) {
  StackPool pool(SmallStacks());
  std::vector<int> log;
  Fiber fiber(pool, "pong", [&] {
    for (int i = 0; i < 3; ++i) {
      log.push_back(10 + i);
      Fiber::suspend();
    }
    log.push_back(99);
  });
  for (int i = 0; i < 3; ++i) {
    fiber.resume();
    log.push_back(i);
    EXPECT_FALSE(fiber.finished());
  }
  fiber.resume();
  EXPECT_TRUE(fiber.finished());
  EXPECT_EQ(log, (std::vector<int>{10, 0, 11, 1, 12, 2, 99}));
}

TEST(FiberTest, CurrentIsTheRunningFiberAndNullOutside) {
  StackPool pool(SmallStacks());
  std::vector<Fiber*> seen;
  Fiber fiber(pool, "me", [&] {
    seen.push_back(Fiber::current());
    Fiber::suspend();
    seen.push_back(Fiber::current());
  });
  EXPECT_EQ(Fiber::current(), nullptr);
  fiber.resume();
  EXPECT_EQ(Fiber::current(), nullptr);
  fiber.resume();
  EXPECT_EQ(Fiber::current(), nullptr);
  EXPECT_EQ(seen, (std::vector<Fiber*>{&fiber, &fiber}));
  EXPECT_EQ(fiber.name(), "me");
}

TEST(FiberTest, NestedFibersSuspendToTheirOwnResumer) {
  StackPool pool(SmallStacks());
  std::vector<std::string> log;
  Fiber* outer_address = nullptr;
  Fiber outer(pool, "outer", [&] {
    Fiber inner(pool, "inner", [&] {
      log.push_back(Fiber::current()->name() + " starts");
      Fiber::suspend();  // back to outer, not to the test
      log.push_back(Fiber::current()->name() + " ends");
    });
    inner.resume();
    log.push_back(Fiber::current()->name() + " after inner suspended");
    EXPECT_EQ(Fiber::current(), outer_address);
    Fiber::suspend();  // back to the test, with inner still suspended
    inner.resume();
    EXPECT_TRUE(inner.finished());
    log.push_back(Fiber::current()->name() + " ends");
  });
  outer_address = &outer;
  outer.resume();
  log.push_back("test");
  EXPECT_EQ(pool.live(), 2u);  // both fibers are suspended mid-body
  outer.resume();
  EXPECT_TRUE(outer.finished());
  EXPECT_EQ(pool.live(), 0u);
  EXPECT_EQ(log, (std::vector<std::string>{"inner starts", "outer after inner suspended", "test", "inner ends",
                                           "outer ends"}));
}

TEST(FiberTest, StackIsTakenOnFirstResumeAndReturnedAtTheEnd) {
  StackPool pool(SmallStacks());
  Fiber fiber(pool, "lazy", [] { Fiber::suspend(); });
  EXPECT_FALSE(fiber.started());
  EXPECT_EQ(pool.live(), 0u);
  fiber.resume();
  EXPECT_TRUE(fiber.started());
  EXPECT_EQ(pool.live(), 1u);
  fiber.resume();
  EXPECT_TRUE(fiber.finished());
  EXPECT_EQ(pool.live(), 0u);
  EXPECT_EQ(pool.cached(), 1u);
}

TEST(FiberTest, DestroyingAnUnstartedFiberRunsNothing) {
  StackPool pool(SmallStacks());
  bool ran = false;
  { Fiber fiber(pool, "never", [&] { ran = true; }); }
  EXPECT_FALSE(ran);
  EXPECT_EQ(pool.live(), 0u);
  EXPECT_EQ(pool.cached(), 0u);
}

TEST(FiberTest, DestroyingASuspendedFiberUnwindsItsStack) {
  StackPool pool(SmallStacks());
  bool destructor_ran = false;
  bool saw_forced_unwind = false;
  Fiber* current_during_unwind = nullptr;
  bool reached_after_suspend = false;
  auto fiber = std::make_unique<Fiber>(pool, "doomed", [&] {
    try {
      SetOnDestruction guard{&destructor_ran};
      struct RecordCurrent {
        Fiber** out;
        ~RecordCurrent() { *out = Fiber::current(); }
      } record{&current_during_unwind};
      Fiber::suspend();
      reached_after_suspend = true;
    } catch (...) {
      saw_forced_unwind = is_forced_unwind(std::current_exception());
      throw;  // as fiber.h demands of anyone who catches everything
    }
  });
  Fiber* address = fiber.get();
  fiber->resume();
  EXPECT_FALSE(destructor_ran);
  EXPECT_EQ(pool.live(), 1u);
  fiber.reset();
  EXPECT_TRUE(destructor_ran);
  EXPECT_TRUE(saw_forced_unwind);
  EXPECT_FALSE(reached_after_suspend);
  EXPECT_EQ(current_during_unwind, address);
  EXPECT_EQ(Fiber::current(), nullptr);
  EXPECT_EQ(pool.live(), 0u);
}

TEST(FiberTest, DestroyingAFiberAlsoUnwindsTheFibersItOwns) {
  StackPool pool(SmallStacks());
  bool inner_destructor_ran = false;
  auto outer = std::make_unique<Fiber>(pool, "owner", [&] {
    Fiber inner(pool, "owned", [&] {
      SetOnDestruction guard{&inner_destructor_ran};
      Fiber::suspend();
    });
    inner.resume();
    Fiber::suspend();
  });
  outer->resume();
  EXPECT_EQ(pool.live(), 2u);
  outer.reset();
  EXPECT_TRUE(inner_destructor_ran);
  EXPECT_EQ(pool.live(), 0u);
}

TEST(FiberTest, IsForcedUnwindRejectsOrdinaryExceptions) {
  EXPECT_FALSE(is_forced_unwind(nullptr));
  EXPECT_FALSE(is_forced_unwind(std::make_exception_ptr(std::runtime_error("no"))));
  EXPECT_FALSE(is_forced_unwind(std::make_exception_ptr(42)));
}

TEST(FiberTest, ExceptionsCaughtInsideTheBodyAreHarmless) {
  StackPool pool(SmallStacks());
  std::string caught;
  Fiber fiber(pool, "catcher", [&] {
    Fiber::suspend();
    try {
      throw std::runtime_error("inside");
    } catch (const std::exception& e) {
      caught = e.what();
    }
  });
  fiber.resume();
  fiber.resume();
  EXPECT_TRUE(fiber.finished());
  EXPECT_EQ(caught, "inside");
}

TEST(FiberTest, ResumesOnAnotherThreadAfterSuspend) {
  // The threads platform moves parked fibers between pool threads: each resume below happens on
  // a new thread, and the fiber must see that thread and itself as current every time.
  StackPool pool(SmallStacks());
  constexpr int kHops = 6;
  std::vector<std::thread::id> ran_on;
  std::vector<bool> current_was_self;
  Fiber fiber(pool, "traveller", [&] {
    for (int i = 0; i < kHops; ++i) {
      ran_on.push_back(std::this_thread::get_id());
      current_was_self.push_back(Fiber::current() != nullptr && Fiber::current()->name() == "traveller");
      Fiber::suspend();
    }
  });
  std::vector<std::thread::id> resumers;
  for (int i = 0; i < kHops; ++i) {
    std::thread thread([&] {
      resumers.push_back(std::this_thread::get_id());
      fiber.resume();
      EXPECT_EQ(Fiber::current(), nullptr);
    });
    thread.join();
  }
  fiber.resume();  // the last step, from the test's own thread
  EXPECT_TRUE(fiber.finished());
  EXPECT_EQ(ran_on, resumers);
  EXPECT_EQ(current_was_self, std::vector<bool>(kHops, true));
  EXPECT_EQ(pool.live(), 0u);
}

TEST(FiberTest, ManyShortFibersReuseAFewStacks) {
  StackPool pool({.stack_bytes = 64 * 1024, .max_cached = 4});
  int ran = 0;
  for (int i = 0; i < 1000; ++i) {
    Fiber fiber(pool, "short", [&] { ++ran; });
    fiber.resume();
    ASSERT_TRUE(fiber.finished());
  }
  EXPECT_EQ(ran, 1000);
  EXPECT_EQ(pool.live(), 0u);
  EXPECT_EQ(pool.cached(), 1u);
}

// Recursion that neither the optimizer nor tail calls can flatten: each frame keeps a buffer.
[[gnu::noinline]] int recurse(int depth) {
  volatile char frame[512];
  frame[0] = static_cast<char>(depth);
  if (depth == -1) return 0;  // never: keeps the recursion finite for the compiler's sake
  return recurse(depth + 1) + frame[0];
}

TEST(FiberDeathTest, DeepRecursionReportsAStackOverflowNamingTheFiber) {
  EXPECT_DEATH(
      {
        StackPool pool(SmallStacks());
        Fiber fiber(pool, "deep", [] { (void)recurse(0); });
        fiber.resume();
      },
      "troupe: fiber stack overflow in fiber 'deep' \\(stack of 65536 bytes\\)");
}

TEST(FiberDeathTest, UncaughtExceptionAbortsNamingTheFiber) {
  EXPECT_DEATH(
      {
        StackPool pool(SmallStacks());
        Fiber fiber(pool, "thrower", [] { throw std::runtime_error("boom"); });
        fiber.resume();
      },
      "troupe: uncaught exception in fiber 'thrower': boom");
}

TEST(FiberDeathTest, SwallowingTheForcedUnwindAborts) {
  EXPECT_DEATH(
      {
        StackPool pool(SmallStacks());
        Fiber fiber(pool, "swallower", [] {
          try {
            Fiber::suspend();
          } catch (...) {  // wrong: drops the forced unwind
          }
        });
        fiber.resume();
      },
      // With asserts on (Debug, ASan), Boost's own check in ~forced_unwind fires first.
      "(fiber 'swallower' swallowed the forced unwind|forced_unwind.*Assertion .caught. failed)");
}

TEST(FiberDeathTest, SuspendOutsideAFiberAborts) {
  EXPECT_DEATH(Fiber::suspend(), "Fiber::suspend\\(\\) called outside a fiber");
}

}  // namespace
}  // namespace troupe
