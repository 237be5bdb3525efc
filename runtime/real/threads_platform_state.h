// ThreadsPlatform::State: the threads platform's shared state. Internal to runtime/real.
//
// Split out of threads_platform.cc so that the pool's side (threads_platform_worker.cc: draining a
// process's queue, running fibers, reaping dead processes) and the Platform methods
// (threads_platform.cc) each stay one concern. Who may touch what is written on each field; the
// per-process rules are in strand.h.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/random.h"
#include "runtime/fiber/stack_pool.h"
#include "runtime/real/strand.h"
#include "runtime/real/threads_platform.h"
#include "runtime/real/timer_thread.h"

namespace troupe {

using real::FiberSlot;
using real::ProcessStrand;
using real::WorkItem;

struct ThreadsPlatform::State {
  State(ThreadsPlatform* platform, ThreadsPlatformOptions options);

  // Strands (threads_platform_state.cc). Callable from any thread unless noted.

  // The process with this id (alive or a tombstone), or nullptr if there is none.
  ProcessStrand* find(ProcessId id);
  // Queues `item`, scheduling the process if it was idle. False (the item dropped) if dead.
  bool post(ProcessStrand& process, WorkItem item);
  // Marks the process dead and makes sure a strand reaps it. False if it already was dead.
  bool mark_dead(ProcessStrand& process, std::string_view why);
  // Posts on_process_exit(target, why) to `watcher`.
  void notify_exit(ProcessId watcher, ProcessId target, std::string why);
  // An exception escaped a callback or fiber of the process: report it and kill the process.
  void crash(ProcessStrand& process, const std::exception_ptr& error);
  // The running fiber and its process; nullptr while the process is being reaped.
  // REQUIRES: on a fiber of this platform.
  FiberSlot* current_slot(ProcessStrand** process);

  // Pool threads (threads_platform_worker.cc). All but worker_loop run on the process's strand.

  // A pool thread's body: drains ready processes until the ready queue stops.
  void worker_loop();
  void drain(ProcessStrand& process);
  void run_item(ProcessStrand& process, WorkItem& item);
  void run_callback(ProcessStrand& process, absl::AnyInvocable<void()>& callback);
  void deliver(ProcessStrand& process, ProcessId from, std::string payload);
  void start_fiber(ProcessStrand& process, WorkItem& item);
  void resume_fiber(ProcessStrand& process, FiberSlot& slot);
  // Drops the queue, unwinds the fibers, cancels the timers of a dead process. Also called by
  // the platform's destructor, which owns every strand once the pool has stopped.
  void reap(ProcessStrand& process);

  // Lanes (threads_platform_lanes.cc).

  // On the strand, after `slot` switched out of run_parallel: gives it to a lane thread of the
  // pool it asked for (creating the pool), or, if its process died meanwhile, leaves it to reap.
  void hand_to_lane(ProcessStrand& process, FiberSlot& slot);
  // A lane thread's part: runs `slot` (resumed outside the turn) until it switches out, which it
  // does only holding the turn: to go back to the strand (posts its resume item), or to be
  // unwound (its process died). Gives the turn back.
  void run_on_lane(ProcessStrand& process, FiberSlot& slot);
  // Unwinds `slot`'s fiber on this lane thread and erases it. REQUIRES: holding the gate; the
  // process is dead.
  void unwind_on_lane(ProcessStrand& process, FiberSlot& slot);
  // park() and yield() of a fiber holding the turn on its lane (threads_platform.cc calls them).
  void park_on_lane(ProcessStrand& process, FiberSlot& slot);
  void yield_on_lane(ProcessStrand& process, FiberSlot& slot);

  // One line per fiber of a live process: what it waits for. REQUIRES: the pool has stopped
  // (takes each gated process's gate to read its fibers).
  std::string wait_report();

  // What ExecutionContext::platform is for this platform's code (options.context_platform or it).
  Platform* context_platform() const {
    return options.context_platform != nullptr ? options.context_platform : static_cast<Platform*>(platform);
  }
  // Nanoseconds since construction, on the steady clock.
  Nanos now() const;
  bool tracing() const { return options.trace != nullptr; }
  // Fills in time, node and process where zero, and records under trace_mutex.
  void record(TraceEvent event);

  ThreadsPlatform* const platform;
  const ThreadsPlatformOptions options;
  const std::chrono::steady_clock::time_point origin;
  const std::vector<NodeInfo> nodes;
  const int threads;
  const Rng root_rng;

  // Declared before the processes: fibers return their stacks here when they are destroyed.
  StackPool stacks;

  // Index pid - 1. Entries are never erased while pool threads run: a dead process stays as a
  // tombstone so that late sends and timers find it and drop their work.
  std::shared_mutex processes_mutex;
  std::vector<std::unique_ptr<ProcessStrand>> processes;

  std::atomic<uint64_t> next_fiber{1};
  real::ReadyQueue ready;
  real::TimerThread timers;

  std::mutex run_mutex;
  std::condition_variable stop_requested_changed;
  bool stop_requested = false;  // guarded by run_mutex
  bool running = false;         // guarded by run_mutex

  std::mutex outside_rng_mutex;
  Rng outside_rng;  // random_u64() outside any process of this platform

  std::mutex trace_mutex;

  // Debug builds only: the process of every started, unfinished fiber, so that unpark() can
  // assert that it was called from the fiber's own process (its map holds only its own fibers).
  void note_fiber_owner(FiberId fiber, ProcessId process);
  void forget_fiber_owner(FiberId fiber);
  ProcessId fiber_owner(FiberId fiber);
#ifndef NDEBUG
  std::mutex fiber_owners_mutex;
  std::map<FiberId, ProcessId> fiber_owners;
#endif
};

}  // namespace troupe
