// Fiber-aware synchronisation: Mutex, Event, Semaphore.
//
// Actor code blocks on these the way it blocks on `get`: the fiber parks, never the platform
// thread, so an async actor's other calls run meanwhile and a threaded actor's lanes stay busy.
// Every operation is a scheduling point under the simulator, where the strategy decides who gets
// a contended lock; on the threads platform they are real mutual exclusion between the threads
// of a threaded actor (their state is changed only on the process's turn, see ProcessTurn).
//
//   class Account {
//     troupe::Mutex lock_{"balance"};   // the name shows in deadlock reports
//     int64_t balance_ = 0;
//    public:
//     void deposit(int64_t amount) {
//       std::lock_guard guard(lock_);    // Mutex is Lockable: lock_guard, unique_lock, scoped_lock
//       int64_t read = balance_;
//       troupe::sleep(1ms);               // another call may run here; not inside this lock
//       balance_ = read + amount;
//     }
//   };
//
// Waiters are served first come, first served: unlock and release hand the lock or permit to the
// longest waiter (no barging), so the order of acquisition is the order the strategy let the
// waiters arrive in. A fiber waiting on a Mutex is an edge of the wait-for graph: under the
// simulator, a cycle of fibers waiting on each other's Mutexes stops the run at once with a
// deadlock report naming every fiber and lock of the cycle.
//
// REQUIRES (all): called on a fiber of a Troupe platform (else std::logic_error); one object is
// used by the fibers of one process only (an actor's members, a driver's locals: a use from
// another process throws std::logic_error naming both), and outlives every waiter.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>

#include "runtime/ids.h"
#include "runtime/platform.h"

namespace troupe {

namespace detail {
// Remembers the process a primitive is first used in, and refuses use from another: its waiters
// are fibers of that process (unpark works within one process only), and its state is guarded
// by that process's turn.
class ProcessBound {
 protected:
  // Throws std::logic_error naming both processes when `context` is in another process.
  void bind(const ExecutionContext& context, const Waitable& self);

 private:
  ProcessId process_;
};
}  // namespace detail

class Mutex final : public Waitable, private detail::ProcessBound {
 public:
  explicit Mutex(std::string name = "") : name_(std::move(name)) {}
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;
  ~Mutex() override = default;

  // Waits until the mutex is free and takes it. Throws std::logic_error if the calling fiber
  // already holds it (it is not recursive: waiting would never end).
  void lock();
  // Takes the mutex if it is free; never waits.
  bool try_lock();
  // Releases the mutex, handing it to the longest waiter, if any. Throws std::logic_error when
  // the calling fiber does not hold it.
  void unlock();

  // The fiber holding the mutex, or an invalid id when it is free.
  FiberId holder() const override { return holder_; }
  // "Mutex 'balance'" (or "an unnamed Mutex").
  std::string describe() const override;

 private:
  std::string name_;
  FiberId holder_;
  std::deque<FiberId> waiters_;  // in arrival order
};

// A flag that fibers wait for (asyncio.Event): wait() returns once set() was called, until
// clear(). set() wakes every waiter.
class Event final : public Waitable, private detail::ProcessBound {
 public:
  explicit Event(std::string name = "") : name_(std::move(name)) {}
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  void set();
  void clear();
  bool is_set() const;
  // Waits until the event is set (at once if it is).
  void wait();
  // Waits at most `timeout`; true if the event was set.
  bool wait_for(std::chrono::nanoseconds timeout);

  std::string describe() const override;

 private:
  std::string name_;
  bool set_ = false;
  std::deque<FiberId> waiters_;
};

// A counting semaphore (asyncio.Semaphore, std::counting_semaphore): acquire() takes a permit,
// waiting while there are none; release() gives permits back, first to the longest waiters.
class Semaphore final : public Waitable, private detail::ProcessBound {
 public:
  // REQUIRES: permits >= 0.
  explicit Semaphore(int64_t permits, std::string name = "");
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  void acquire();
  bool try_acquire();
  // Returns `count` permits. REQUIRES: count >= 1.
  void release(int64_t count = 1);
  int64_t available() const;

  std::string describe() const override;

 private:
  std::string name_;
  int64_t permits_;
  struct Waiter {
    FiberId fiber;
    bool granted = false;
  };
  std::deque<Waiter*> waiters_;  // in arrival order; each lives on its waiting fiber's stack
};

}  // namespace troupe
