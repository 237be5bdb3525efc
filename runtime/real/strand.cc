#include "runtime/real/strand.h"

#include <cassert>

namespace troupe::real {

void ReadyQueue::push_back(ProcessStrand* process) {
  assert(process != nullptr);
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(process);
  }
  ready_.notify_one();
}

void ReadyQueue::push_front(ProcessStrand* process) {
  assert(process != nullptr);
  {
    std::lock_guard lock(mutex_);
    queue_.push_front(process);
  }
  ready_.notify_one();
}

ProcessStrand* ReadyQueue::pop() {
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [this] { return stopping_.load(std::memory_order_relaxed) || !queue_.empty(); });
  if (stopping_.load(std::memory_order_relaxed)) return nullptr;
  ProcessStrand* process = queue_.front();
  queue_.pop_front();
  assert(process != nullptr);
  return process;
}

void ReadyQueue::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_.store(true, std::memory_order_release);
  }
  ready_.notify_all();
}

void ReadyQueue::start() {
  std::lock_guard lock(mutex_);
  stopping_.store(false, std::memory_order_release);
}

LanePool::~LanePool() {
  close();
  join();
}

void LanePool::push(FiberSlot* slot) {
  assert(slot != nullptr);
  std::lock_guard lock(mutex_);
  assert(!closed_ && "a fiber handed to a closed lane pool");
  queue_.push_back(slot);
  // Every queued fiber needs a thread that is idle now, or a new one while under the limit.
  if (queue_.size() > static_cast<size_t>(idle_) && threads_.size() < static_cast<size_t>(limit_)) {
    threads_.emplace_back([this] { loop(); });
  } else {
    work_.notify_one();
  }
}

void LanePool::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  work_.notify_all();
}

void LanePool::join() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    assert(closed_);
    threads.swap(threads_);
  }
  for (std::thread& thread : threads) thread.join();
}

void LanePool::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    ++idle_;
    work_.wait(lock, [this] { return closed_ || !queue_.empty(); });
    --idle_;
    if (queue_.empty()) return;  // closed, and nothing left to run
    FiberSlot* slot = queue_.front();
    queue_.pop_front();
    lock.unlock();
    run_(*slot);
    lock.lock();
  }
}

}  // namespace troupe::real
