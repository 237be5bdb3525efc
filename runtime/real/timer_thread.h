// TimerThread: the threads platform's timers, a min-heap on (deadline, id) served by one thread.
//
// `add` registers a callback for a process at a deadline (nanoseconds since `origin` on the
// steady clock). When a timer is due, the timer thread calls `fire(process, id)`, which posts a
// work item to the process's strand; the callback itself stays here until the strand `take`s
// it. So a timer cancelled after it was posted but before it ran still does not run, and a
// callback never runs before its deadline (the thread fires only once the clock has passed it).
// Ties at one deadline fire in id order. Ids are counters from 1.
//
// Thread-safe. Callbacks are destroyed outside the lock, since their destructors may start or
// cancel timers.
//
//   TimerThread timers(origin, [&](ProcessId p, TimerId t) { return post_timer_item(p, t); });
//   timers.start();
//   TimerId t = timers.add(p, now + 10 * kMillisecond, [] { ... });
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <queue>
#include <thread>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "runtime/platform.h"

namespace troupe::real {

class TimerThread {
 public:
  using Clock = std::chrono::steady_clock;
  // Called on the timer thread, without the lock, for a due timer. Returns false when the
  // process is gone; the timer is then dropped.
  using FireFunction = absl::AnyInvocable<bool(ProcessId, TimerId)>;

  TimerThread(Clock::time_point origin, FireFunction fire);
  // Stops the thread and destroys the callbacks of timers that never ran.
  ~TimerThread();
  TimerThread(const TimerThread&) = delete;
  TimerThread& operator=(const TimerThread&) = delete;

  // Registers `callback` for `process` at `deadline`. Returns its id.
  TimerId add(ProcessId process, Nanos deadline, absl::AnyInvocable<void()> callback);
  // Forgets a timer that has not run; a no-op otherwise.
  void cancel(TimerId id);
  // Forgets every timer of `process` (it died).
  void cancel_process(ProcessId process);
  // For the strand running a fired timer's work item: the callback, removed, or an empty one if
  // the timer was cancelled meanwhile.
  [[nodiscard]] absl::AnyInvocable<void()> take(TimerId id);

  // Starts the thread. Timers keep their deadlines across stop() and start().
  void start();
  // Stops and joins the thread. Idempotent.
  void stop();

  // Timers added and neither run nor cancelled.
  size_t pending() const;

 private:
  struct Timer {
    ProcessId process;
    Nanos deadline = 0;
    bool posted = false;  // fired: its work item is in the process's queue
    absl::AnyInvocable<void()> callback;
  };
  using HeapEntry = std::pair<Nanos, TimerId>;

  void loop();
  Nanos now() const;
  // Rebuilds the heap without cancelled entries once they outnumber the live ones.
  void compact_locked();

  const Clock::time_point origin_;
  FireFunction fire_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<TimerId, Timer> timers_;
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<>> heap_;  // lazy deletion
  TimerId next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace troupe::real
