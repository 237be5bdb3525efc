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
// yield all run on the process's own strand (or in its turn, below).
//
// Threaded actors (Platform::run_parallel) add the process's *gate* and its lane pools: once a
// process has used run_parallel (`gated`), "strand-owned" means "owned by whoever holds `gate`":
// the draining thread for each item, or a lane thread whose fiber holds the process's turn. See
// threads_platform.h for the protocol.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "runtime/core/random.h"
#include "runtime/fiber/fiber.h"
#include "runtime/platform.h"

namespace troupe::real {

// A binary semaphore (not owner-bound: any thread may release it) on a mutex and a condition
// variable. Not std::binary_semaphore: libstdc++ 12 builds it on its futex-based atomic wait, whose
// release() carries a FIXME about not waking a waiter (bits/semaphore_base.h); after one hang of
// threads_parallel_test under TSan that could not be explained otherwise, the platform does not
// depend on it. Costs a mutex per acquire and release, only for processes with lanes.
class Semaphore01 {
 public:
  explicit Semaphore01(bool available) : available_(available) {}
  Semaphore01(const Semaphore01&) = delete;
  Semaphore01& operator=(const Semaphore01&) = delete;

  // Waits until available, then takes it.
  void acquire() {
    std::unique_lock lock(mutex_);
    if (!available_) {
      ++waiters_;
      changed_.wait(lock, [this] { return available_; });
      --waiters_;
    }
    available_ = false;
  }
  // Makes it available. REQUIRES: it was taken.
  void release() {
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      available_ = true;
      wake = waiters_ > 0;
    }
    if (wake) changed_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool available_;   // guarded by mutex_
  int waiters_ = 0;  // guarded by mutex_
};

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
//
// Inside run_parallel (`on_lane`), the fiber belongs to one lane thread from the hand-off to the
// hand-back, and it is never resumed by the strand meanwhile:
// kOnLane: waiting for a lane thread, or running its body there outside the process's turn.
// kRunning: holding the turn on its lane (inside a ProcessTurn).
// kParkedOnLane: parked inside a turn; its lane thread blocks on `wake` (it gave the turn back).
//   unpark (and the reaper) move it to kQueued and release `wake`.
struct FiberSlot {
  enum class State : uint8_t { kQueued, kRunning, kParked, kOnLane, kParkedOnLane };
  FiberId id;
  State state = State::kQueued;
  // The reason of the last park(), while parked. A get or a sleep keeps the reason as given
  // (`what` outlives the park) and is put into words only when a report asks; a wait on a lock,
  // event or semaphore is put into words at once (`waiting_on`), because the Waitable may be gone
  // by the time another thread makes a report. Formatting every park cost 1-2.5% of a
  // ping-pong's time.
  std::string_view waiting_what;
  uint64_t waiting_object = 0;
  std::string waiting_on;
  void set_waiting(const WaitReason& reason) {
    waiting_what = reason.what;
    waiting_object = reason.object;
    if (reason.on != nullptr) waiting_on = reason.describe();
  }
  void clear_waiting() {
    waiting_what = {};
    waiting_object = 0;
    waiting_on.clear();
  }
  std::string describe_waiting() const {
    return waiting_on.empty() ? WaitReason{.what = waiting_what, .object = waiting_object}.describe() : waiting_on;
  }
  ExecutionContext context;  // installed around every step of this fiber; `fiber` is set
  std::unique_ptr<Fiber> fiber;

  // Threaded actors; all strand-owned (under the process's gate).
  bool on_lane = false;     // between run_parallel's hand-off to a lane and the hand-back
  bool unwinding = false;   // a lane thread is unwinding it (park, yield, turns are no-ops)
  int lane_pool = 0;        // the hand-off request: pool and lanes of run_parallel
  int lane_count = 0;
  Semaphore01 wake{false};  // a fiber parked on its lane waits here; at most one release per park
};

class LanePool;

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
  bool reaped = false;   // fibers unwound (but those on lanes), queue dropped, timers cancelled

  // Threaded actors (threads_platform.h). `gate` is the process's turn: a binary semaphore (not
  // owner-bound) that the draining thread holds around each item once `gated`, and that a lane
  // thread holds while its fiber is inside a ProcessTurn. `gated` only goes from false to true,
  // written by the strand when it first hands a fiber to a lane; before that no lane exists, so
  // ordinary processes pay one relaxed load per item.
  Semaphore01 gate{true};
  std::atomic<bool> gated{false};
  std::map<int, std::unique_ptr<LanePool>> lane_pools;  // strand-owned; by pool number
};

// The OS threads of one lane pool of one process: at most `limit` of them, started on demand and
// kept until the pool closes. A lane thread takes one handed-off fiber at a time and keeps it
// until its body ends (the fiber is pinned to that thread: user code may rely on thread-locals and
// on unlocking a std::mutex on the thread that locked it), so at most `limit` bodies run at once.
// Thread-safe.
class LanePool {
 public:
  // `run` runs one handed-off fiber on the calling lane thread until it leaves the lane.
  LanePool(int limit, std::function<void(FiberSlot&)> run) : limit_(limit), run_(std::move(run)) {}
  // Closes and joins.
  ~LanePool();
  LanePool(const LanePool&) = delete;
  LanePool& operator=(const LanePool&) = delete;

  int limit() const { return limit_; }
  // Queues `slot` for the next free lane thread, starting one if none is idle and fewer than
  // `limit` exist. REQUIRES: not closed.
  void push(FiberSlot* slot);
  // Lane threads exit once the queue is empty; idle ones at once.
  void close();
  // Waits for every lane thread to exit. REQUIRES: closed.
  void join();

 private:
  void loop();

  const int limit_;
  const std::function<void(FiberSlot&)> run_;
  std::mutex mutex_;
  std::condition_variable work_;
  std::deque<FiberSlot*> queue_;  // guarded by mutex_
  int idle_ = 0;                  // threads waiting for work; guarded by mutex_
  bool closed_ = false;           // guarded by mutex_
  std::vector<std::thread> threads_;  // guarded by mutex_ (join() takes them out)
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
