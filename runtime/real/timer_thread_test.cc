#include "runtime/real/timer_thread.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace troupe::real {
namespace {

using Clock = TimerThread::Clock;

// Records what the timer thread fires; a test waits for a number of firings.
struct Fired {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<TimerId> ids;
  std::vector<Nanos> at;
  bool accept = true;

  // Waits for `count` firings; false if they do not come within a minute (a hang guard only).
  bool wait_for(size_t count) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(60), [&] { return ids.size() >= count; });
  }
};

TimerThread::FireFunction record_into(Fired& fired, Clock::time_point origin) {
  return [&fired, origin](ProcessId, TimerId id) {
    std::lock_guard lock(fired.mutex);
    fired.ids.push_back(id);
    fired.at.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - origin).count());
    fired.changed.notify_all();
    return fired.accept;
  };
}

TEST(TimerThread, FiresDueTimersInDeadlineOrderThenIdOrder) {
  Fired fired;
  Clock::time_point origin = Clock::now();
  TimerThread timers(origin, record_into(fired, origin));
  TimerId late = timers.add(ProcessId{1}, 3, [] {});
  TimerId first = timers.add(ProcessId{1}, 1, [] {});
  TimerId middle = timers.add(ProcessId{2}, 2, [] {});
  TimerId tie = timers.add(ProcessId{1}, 1, [] {});
  EXPECT_EQ(late, 1u);
  EXPECT_EQ(first, 2u);
  timers.start();
  ASSERT_TRUE(fired.wait_for(4));
  timers.stop();
  EXPECT_EQ(fired.ids, (std::vector<TimerId>{first, tie, middle, late}));
}

TEST(TimerThread, NeverFiresBeforeTheDeadline) {
  Fired fired;
  Clock::time_point origin = Clock::now();
  TimerThread timers(origin, record_into(fired, origin));
  timers.start();
  std::vector<Nanos> deadlines;
  for (int i = 0; i < 5; ++i) {
    Nanos now = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - origin).count();
    deadlines.push_back(now + (i + 1) * kMillisecond);
    timers.add(ProcessId{1}, deadlines.back(), [] {});
  }
  ASSERT_TRUE(fired.wait_for(5));
  timers.stop();
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(fired.ids[i], i + 1);
    EXPECT_GE(fired.at[i], deadlines[i]);
  }
}

TEST(TimerThread, CancelledTimerNeverFires) {
  Fired fired;
  Clock::time_point origin = Clock::now();
  TimerThread timers(origin, record_into(fired, origin));
  TimerId cancelled = timers.add(ProcessId{1}, 0, [] {});
  TimerId kept = timers.add(ProcessId{1}, 1, [] {});
  timers.cancel(cancelled);
  timers.cancel(cancelled);  // a no-op the second time
  timers.start();
  ASSERT_TRUE(fired.wait_for(1));
  timers.stop();
  EXPECT_EQ(fired.ids, (std::vector<TimerId>{kept}));
}

TEST(TimerThread, TakeAfterCancelReturnsNothing) {
  Fired fired;
  Clock::time_point origin = Clock::now();
  TimerThread timers(origin, record_into(fired, origin));
  int runs = 0;
  TimerId a = timers.add(ProcessId{1}, 0, [&] { ++runs; });
  TimerId b = timers.add(ProcessId{1}, 0, [&] { runs += 10; });
  timers.start();
  ASSERT_TRUE(fired.wait_for(2));
  timers.stop();
  // Both fired (their items would be in the process's queue); `a` is cancelled before its item runs.
  timers.cancel(a);
  absl::AnyInvocable<void()> callback_a = timers.take(a);
  absl::AnyInvocable<void()> callback_b = timers.take(b);
  EXPECT_TRUE(callback_a == nullptr);
  ASSERT_TRUE(callback_b != nullptr);
  callback_b();
  EXPECT_EQ(runs, 10);
  EXPECT_TRUE(timers.take(b) == nullptr);  // taken once only
  EXPECT_EQ(timers.pending(), 0u);
}

TEST(TimerThread, TimerOfAGoneProcessIsDroppedWhenItFires) {
  Fired fired;
  fired.accept = false;
  Clock::time_point origin = Clock::now();
  TimerThread timers(origin, record_into(fired, origin));
  TimerId id = timers.add(ProcessId{3}, 0, [] {});
  timers.start();
  ASSERT_TRUE(fired.wait_for(1));
  timers.stop();
  EXPECT_EQ(timers.pending(), 0u);
  EXPECT_TRUE(timers.take(id) == nullptr);
}

TEST(TimerThread, CancelProcessForgetsOnlyThatProcessesTimers) {
  Fired fired;
  Clock::time_point origin = Clock::now();
  TimerThread timers(origin, record_into(fired, origin));
  timers.add(ProcessId{1}, 0, [] {});
  TimerId other = timers.add(ProcessId{2}, 1, [] {});
  timers.add(ProcessId{1}, 2, [] {});
  timers.cancel_process(ProcessId{1});
  EXPECT_EQ(timers.pending(), 1u);
  timers.start();
  ASSERT_TRUE(fired.wait_for(1));
  timers.stop();
  EXPECT_EQ(fired.ids, (std::vector<TimerId>{other}));
}

TEST(TimerThread, ManyCancelledTimersDoNotDelayALiveOne) {
  Fired fired;
  Clock::time_point origin = Clock::now();
  TimerThread timers(origin, record_into(fired, origin));
  for (int i = 0; i < 10'000; ++i) {
    TimerId id = timers.add(ProcessId{1}, kSecond * 3600, [] {});
    timers.cancel(id);
  }
  TimerId last = timers.add(ProcessId{1}, 0, [] {});
  EXPECT_EQ(timers.pending(), 1u);
  timers.start();
  ASSERT_TRUE(fired.wait_for(1));
  timers.stop();
  EXPECT_EQ(fired.ids, (std::vector<TimerId>{last}));
}

}  // namespace
}  // namespace troupe::real
