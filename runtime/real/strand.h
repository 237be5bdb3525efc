// Strands: the pieces ThreadsPlatform builds a process out of. Internal to runtime/real.
//
// A process is a strand over the thread pool: a queue of WorkItems that at most one pool thread
// drains at a time. `ProcessStrand::scheduled` is the strand's token: whoever flips it from false
// to true (a poster finding the queue idle, or kill_process) puts the process on the ReadyQueue,
// and it stays true until the worker that drains the process finds the queue empty. So a process
// is never on the ready queue twice and never drained by two threads at once.
//
// Fields are grouped by who may touch them: fixed at start, guarded by `mutex`, and strand-owned
// (only the thread currently draining the process, or the platform's destructor once the pool
// has stopped). Fibers are strand-owned, so their state machine needs no lock: park, unpark and
// yield all run on the process's own strand.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "runtime/core/random.h"
#include "runtime/fiber/fiber.h"
#include "runtime/platform.h"

namespace troupe::real {

// One unit of work in a process's queue.
struct WorkItem {
  enum class Kind : uint8_t {
    kCallback,     // run `body` in the process's callback context (a message, on_start)
    kStartFiber,   // create fiber `fiber` named `name` running `body`, and run it
    kResumeFiber,  // resume fiber `fiber` (queued by unpark or yield)
    kTimer,        // run timer `timer`'s callback unless it was cancelled meanwhile
  };
  Kind kind = Kind::kCallback;
  FiberId fiber{};
  TimerId timer = 0;
  std::string name{};
  absl::AnyInvocable<void()> body{};
};

// A fiber of a process. Strand-owned.
//
// kQueued: exactly one kStartFiber or kResumeFiber item for it is in the queue.
// kRunning: it is on a pool thread now, or it killed its own process and waits to be unwound.
// kParked: suspended in park(); only unpark (which queues one resume item) moves it on.
// A finished fiber is erased from its process at once.
struct FiberSlot {
  enum class State : uint8_t { kQueued, kRunning, kParked };
  FiberId id;
  State state = State::kQueued;
  std::string waiting_for;  // the reason of the last park(), while parked
  ExecutionContext context;  // installed around every step of this fiber; `fiber` is set
  std::unique_ptr<Fiber> fiber;
};

struct ProcessStrand {
  // Fixed when the process starts.
  ProcessId id;
  NodeId node;
  std::string name;
  std::unique_ptr<ProcessHost> host;  // kept after death (a tombstone) until the platform dies
  ExecutionContext callback_context;  // `fiber` invalid

  // Guarded by `mutex`. `alive` is atomic so the strand may read it without the lock; it is
  // written only under the lock and only from true to false.
  std::mutex mutex;
  std::deque<WorkItem> queue;
  bool scheduled = false;
  std::vector<ProcessId> watchers;  // told when this process dies (Platform::watch_process)
  std::string exit_reason;          // set when it dies
  std::atomic<bool> alive{true};

  // Strand-owned.
  std::map<FiberId, std::unique_ptr<FiberSlot>> fibers;  // ordered: unwound in id order
  Rng rng;
  bool reaping = false;  // its fibers are being unwound (park and yield return at once)
  bool reaped = false;   // fibers unwound, queue dropped, timers cancelled
};

// The processes that have work, in FIFO order. Pool threads block in pop().
class ReadyQueue {
 public:
  // Appends `process`. REQUIRES: the caller flipped process->scheduled to true (or holds the
  // strand and is handing it back).
  void push_back(ProcessStrand* process);
  // Prepends `process`: a strand interrupted by a stop goes first in the next run.
  void push_front(ProcessStrand* process);
  // The next process, blocking while none is ready; nullptr once stop() was called.
  ProcessStrand* pop();
  // Wakes every pop() with nullptr. Processes stay queued for the next start().
  void stop();
  void start();
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<ProcessStrand*> queue_;
  std::atomic<bool> stopping_{false};
};

}  // namespace troupe::real
