#include "runtime/real/timer_thread.h"

#include <cassert>

namespace troupe::real {

TimerThread::TimerThread(Clock::time_point origin, FireFunction fire)
    : origin_(origin), fire_(std::move(fire)) {
  assert(fire_ != nullptr);
}

TimerThread::~TimerThread() {
  stop();
  std::map<TimerId, Timer> doomed;
  {
    std::lock_guard lock(mutex_);
    doomed.swap(timers_);
  }
}

TimerId TimerThread::add(ProcessId process, Nanos deadline, absl::AnyInvocable<void()> callback) {
  assert(process.valid());
  assert(callback != nullptr);
  TimerId id;
  {
    std::lock_guard lock(mutex_);
    id = next_id_++;
    timers_.emplace(id, Timer{.process = process, .deadline = deadline, .callback = std::move(callback)});
    heap_.emplace(deadline, id);
    compact_locked();
  }
  changed_.notify_one();
  return id;
}

void TimerThread::cancel(TimerId id) {
  absl::AnyInvocable<void()> doomed;
  std::lock_guard lock(mutex_);
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  doomed = std::move(it->second.callback);  // destroyed after the lock is released
  timers_.erase(it);
}

void TimerThread::cancel_process(ProcessId process) {
  std::vector<absl::AnyInvocable<void()>> doomed;
  std::lock_guard lock(mutex_);
  for (auto it = timers_.begin(); it != timers_.end();) {
    if (it->second.process == process) {
      doomed.push_back(std::move(it->second.callback));
      it = timers_.erase(it);
    } else {
      ++it;
    }
  }
}

absl::AnyInvocable<void()> TimerThread::take(TimerId id) {
  std::lock_guard lock(mutex_);
  auto it = timers_.find(id);
  if (it == timers_.end()) return nullptr;
  assert(it->second.posted && "a timer's item ran before the timer fired");
  absl::AnyInvocable<void()> callback = std::move(it->second.callback);
  timers_.erase(it);
  return callback;
}

void TimerThread::start() {
  std::lock_guard lock(mutex_);
  assert(!thread_.joinable() && "TimerThread started twice");
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void TimerThread::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t TimerThread::pending() const {
  std::lock_guard lock(mutex_);
  return timers_.size();
}

Nanos TimerThread::now() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - origin_).count();
}

void TimerThread::compact_locked() {
  if (heap_.size() <= 2 * timers_.size() + 64) return;
  std::vector<HeapEntry> live;
  live.reserve(timers_.size());
  for (const auto& [id, timer] : timers_) {
    if (!timer.posted) live.emplace_back(timer.deadline, id);
  }
  heap_ = decltype(heap_)(std::greater<>(), std::move(live));
  assert(heap_.size() <= timers_.size());
}

void TimerThread::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (heap_.empty()) {
      changed_.wait(lock);
      continue;
    }
    auto [deadline, id] = heap_.top();
    auto it = timers_.find(id);
    if (it == timers_.end() || it->second.posted) {  // cancelled (or a stale duplicate)
      heap_.pop();
      continue;
    }
    if (now() < deadline) {
      changed_.wait_until(lock, origin_ + std::chrono::nanoseconds(deadline));
      continue;
    }
    heap_.pop();
    it->second.posted = true;
    ProcessId process = it->second.process;
    lock.unlock();
    bool posted = fire_(process, id);
    lock.lock();
    if (!posted) {
      auto gone = timers_.find(id);
      if (gone == timers_.end()) continue;
      absl::AnyInvocable<void()> doomed = std::move(gone->second.callback);
      timers_.erase(gone);
      lock.unlock();
      doomed = nullptr;
      lock.lock();
    }
  }
}

}  // namespace troupe::real
