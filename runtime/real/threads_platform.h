// ThreadsPlatform: the real, in-process platform — a thread pool, the steady clock, and
// processes as serial event loops ("strands") over the pool.
//
// Each process has its own queue of work items (start a fiber, resume a parked fiber, run a
// callback). A process with work is scheduled on one pool thread at a time, which drains its
// queue, so the platform keeps the contract of platform.h: at most one fiber or callback of a
// process runs at once, and different processes run in parallel. Fibers migrate between pool
// threads freely (Boost.Context fibers are not bound to a thread).
//
// `send` encodes nothing itself: the bytes are handed to the target process's on_message on its
// strand (there is no network). Timers live on one timer thread that posts the callback to the
// process's queue when due. `kill_process` marks the process dead and asks its strand to unwind
// its fibers; work queued for a dead process is dropped.
//
// Thread-safe: every Platform method may be called from any pool thread running a process.
// run() blocks the calling (non-pool) thread until stop().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/fiber/stack_pool.h"
#include "runtime/platform.h"
#include "runtime/trace/trace.h"

namespace troupe {

struct ThreadsNodeOptions {
  std::string name;
  double cpus = 8;
  int64_t memory_bytes = int64_t{16} << 30;
};

struct ThreadsPlatformOptions {
  // Pool threads; 0 means std::thread::hardware_concurrency() (at least 2).
  int threads = 0;
  // The nodes the directory schedules on; they share this OS process. Empty means one node
  // named "local" with 64 CPUs.
  std::vector<ThreadsNodeOptions> nodes;
  // Seeds the per-process random streams (runs are not deterministic on this platform).
  uint64_t seed = 0;
  StackPoolOptions stacks;
  // Where trace events go; nullptr records none. Must outlive the platform.
  Trace* trace = nullptr;
};

class ThreadsPlatform final : public Platform {
 public:
  explicit ThreadsPlatform(ThreadsPlatformOptions options = {});
  // Stops the pool and destroys every process (unwinding fibers that are still parked).
  ~ThreadsPlatform() override;

  bool simulated() const override { return false; }
  Nanos now() const override;
  std::vector<NodeInfo> nodes() const override;
  absl::StatusOr<ProcessId> start_process(NodeId node, std::string name,
                                          std::unique_ptr<ProcessHost> host) override;
  void kill_process(ProcessId process, std::string_view why) override;
  void spawn(ProcessId process, std::string name, absl::AnyInvocable<void()> body) override;
  void park(const WaitReason& reason) override;
  void unpark(FiberId fiber) override;
  void yield() override;
  TimerId start_timer(ProcessId process, Nanos deadline, absl::AnyInvocable<void()> callback) override;
  void cancel_timer(TimerId timer) override;
  void send(ProcessId from, ProcessId to, std::string payload) override;
  uint64_t random_u64() override;
  absl::Status run() override;
  void stop() override;
  void trace(TraceEvent event) override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace troupe
