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

}  // namespace troupe::real
