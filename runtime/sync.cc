#include "runtime/sync.h"

#include <algorithm>
#include <cassert>
#include <stdexcept>

#include "fmt/format.h"

namespace troupe {
namespace {

ExecutionContext& fiber_context(const char* operation) {
  ExecutionContext* context = ExecutionContext::current();
  if (context == nullptr || !context->fiber.valid()) {
    throw std::logic_error(fmt::format("troupe::{} called outside a fiber (a driver, an actor method, or a fiber "
                                       "they spawned)", operation));
  }
  return *context;
}

std::string label(std::string_view kind, const std::string& name) {
  if (name.empty()) return fmt::format("an unnamed {}", kind);
  return fmt::format("{} '{}'", kind, name);
}

// Removes `fiber` from a waiter queue (a waiter unwound while it waited: its process died).
template <typename Queue, typename Match>
void forget(Queue& queue, Match match) {
  queue.erase(std::remove_if(queue.begin(), queue.end(), match), queue.end());
}

}  // namespace

void detail::ProcessBound::bind(const ExecutionContext& context, const Waitable& self) {
  if (!process_.valid()) process_ = context.process;
  if (process_ == context.process) return;
  throw std::logic_error(fmt::format("troupe: {} belongs to process {} but was used from {} (a Mutex, Event or "
                                     "Semaphore serves the fibers of one process: an actor's members, a driver's "
                                     "locals)", self.describe(), process_, context.process));
}

// ---- Mutex --------------------------------------------------------------------------------------

void Mutex::lock() {
  ProcessTurn turn;
  ExecutionContext& context = fiber_context("Mutex::lock");
  bind(context, *this);
  const FiberId self = context.fiber;
  if (holder_ == self) {
    throw std::logic_error(fmt::format("troupe::Mutex::lock: fiber {} already holds {} (it is not recursive)", self,
                                       describe()));
  }
  if (!holder_.valid()) {
    holder_ = self;
    return;
  }
  waiters_.push_back(self);
  // Unlock hands the mutex over (holder_ = self) before unparking; a wake-up without it is
  // spurious. A fiber unwound while it waits (its process died) leaves the queue.
  struct Leave {
    Mutex& mutex;
    FiberId self;
    ~Leave() {
      if (mutex.holder_ == self) return;
      forget(mutex.waiters_, [&](FiberId waiter) { return waiter == self; });
    }
  } leave{*this, self};
  while (holder_ != self) context.platform->park({.what = "lock", .on = this});
}

bool Mutex::try_lock() {
  ProcessTurn turn;
  ExecutionContext& context = fiber_context("Mutex::try_lock");
  bind(context, *this);
  if (holder_.valid()) return false;
  holder_ = context.fiber;
  return true;
}

void Mutex::unlock() {
  ProcessTurn turn;
  ExecutionContext& context = fiber_context("Mutex::unlock");
  bind(context, *this);
  if (holder_ != context.fiber) {
    throw std::logic_error(fmt::format("troupe::Mutex::unlock: fiber {} does not hold {} ({})", context.fiber,
                                       describe(), holder_.valid() ? fmt::format("fiber {} does", holder_)
                                                                   : std::string("it is free")));
  }
  if (waiters_.empty()) {
    holder_ = {};
    return;
  }
  holder_ = waiters_.front();
  waiters_.pop_front();
  context.platform->unpark(holder_);
}

std::string Mutex::describe() const { return label("Mutex", name_); }

// ---- Event --------------------------------------------------------------------------------------

void Event::set() {
  ProcessTurn turn;
  ExecutionContext& context = fiber_context("Event::set");
  bind(context, *this);
  set_ = true;
  std::deque<FiberId> waiters = std::move(waiters_);
  waiters_.clear();
  for (FiberId waiter : waiters) context.platform->unpark(waiter);
}

void Event::clear() {
  ProcessTurn turn;
  set_ = false;
}

bool Event::is_set() const {
  ProcessTurn turn;
  return set_;
}

void Event::wait() {
  ProcessTurn turn;
  ExecutionContext& context = fiber_context("Event::wait");
  bind(context, *this);
  const FiberId self = context.fiber;
  struct Leave {
    Event& event;
    FiberId self;
    ~Leave() { forget(event.waiters_, [&](FiberId waiter) { return waiter == self; }); }
  } leave{*this, self};
  while (!set_) {
    if (std::find(waiters_.begin(), waiters_.end(), self) == waiters_.end()) waiters_.push_back(self);
    context.platform->park({.what = "event", .on = this});
  }
}

bool Event::wait_for(std::chrono::nanoseconds timeout) {
  ProcessTurn turn;
  ExecutionContext& context = fiber_context("Event::wait_for");
  bind(context, *this);
  Platform& platform = *context.platform;
  const FiberId self = context.fiber;
  const Nanos deadline = platform.now() + timeout.count();
  TimerId timer = platform.start_timer(context.process, deadline, [&platform, self] { platform.unpark(self); });
  struct Leave {
    Event& event;
    Platform& platform;
    FiberId self;
    TimerId timer;
    ~Leave() {
      platform.cancel_timer(timer);
      forget(event.waiters_, [&](FiberId waiter) { return waiter == self; });
    }
  } leave{*this, platform, self, timer};
  while (!set_ && platform.now() < deadline) {
    if (std::find(waiters_.begin(), waiters_.end(), self) == waiters_.end()) waiters_.push_back(self);
    platform.park({.what = "event", .on = this});
  }
  return set_;
}

std::string Event::describe() const { return label("Event", name_); }

// ---- Semaphore ----------------------------------------------------------------------------------

Semaphore::Semaphore(int64_t permits, std::string name) : name_(std::move(name)), permits_(permits) {
  if (permits < 0) throw std::invalid_argument(fmt::format("troupe::Semaphore: {} permits (at least 0)", permits));
}

void Semaphore::acquire() {
  ProcessTurn turn;
  ExecutionContext& context = fiber_context("Semaphore::acquire");
  bind(context, *this);
  if (permits_ > 0 && waiters_.empty()) {
    --permits_;
    return;
  }
  Waiter waiter{.fiber = context.fiber};
  waiters_.push_back(&waiter);
  // release() grants the permit (granted = true) before unparking. If the fiber is unwound while
  // it waits, it leaves the queue, or gives back a permit it was granted.
  struct Leave {
    Semaphore& semaphore;
    Waiter& waiter;
    ~Leave() {
      if (!waiter.granted) forget(semaphore.waiters_, [&](Waiter* w) { return w == &waiter; });
      if (waiter.granted && std::uncaught_exceptions() > 0) semaphore.release(1);
    }
  } leave{*this, waiter};
  while (!waiter.granted) context.platform->park({.what = "semaphore", .on = this});
}

bool Semaphore::try_acquire() {
  ProcessTurn turn;
  if (permits_ == 0 || !waiters_.empty()) return false;
  --permits_;
  return true;
}

void Semaphore::release(int64_t count) {
  ProcessTurn turn;
  if (count < 1) throw std::invalid_argument(fmt::format("troupe::Semaphore::release({}): at least 1", count));
  ExecutionContext& context = fiber_context("Semaphore::release");
  bind(context, *this);
  permits_ += count;
  while (permits_ > 0 && !waiters_.empty()) {
    Waiter* next = waiters_.front();
    waiters_.pop_front();
    --permits_;
    next->granted = true;
    context.platform->unpark(next->fiber);
  }
}

int64_t Semaphore::available() const {
  ProcessTurn turn;
  return permits_;
}

std::string Semaphore::describe() const {
  return fmt::format("{} ({} permits free, {} waiting)", label("Semaphore", name_), permits_, waiters_.size());
}

}  // namespace troupe
