// Helpers shared by the threads platform's tests (threads_platform_test, threads_parallel_test).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

#include "runtime/real/threads_platform.h"

namespace troupe::testing_support {

// The running context (a test helper: fails loudly outside the platform).
inline ExecutionContext& here() {
  ExecutionContext* context = ExecutionContext::current();
  EXPECT_NE(context, nullptr);
  return *context;
}

// Runs the platform until something calls stop(). A test that forgets to stop fails after a
// minute instead of hanging (a guard only; no outcome depends on timing).
inline void run_until_stopped(ThreadsPlatform& platform) {
  std::mutex mutex;
  std::condition_variable done_changed;
  bool done = false;
  bool timed_out = false;
  std::thread watchdog([&] {
    std::unique_lock lock(mutex);
    if (!done_changed.wait_for(lock, std::chrono::seconds(60), [&] { return done; })) {
      timed_out = true;
      platform.stop();
    }
  });
  absl::Status status = platform.run();
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  done_changed.notify_all();
  watchdog.join();
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_FALSE(timed_out) << "nothing called stop() within 60 s";
}

// Runs `on_destroy` when destroyed: shows that a fiber's stack was unwound.
class Guard {
 public:
  explicit Guard(std::function<void()> on_destroy) : on_destroy_(std::move(on_destroy)) {}
  ~Guard() { on_destroy_(); }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

 private:
  std::function<void()> on_destroy_;
};

}  // namespace troupe::testing_support
