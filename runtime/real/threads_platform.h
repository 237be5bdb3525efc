// ThreadsPlatform: the real, in-process platform — a thread pool, the steady clock, and
// processes as serial event loops ("strands") over the pool.
//
// Each process has its own queue of work items (start a fiber, resume a parked fiber, run a
// callback). A process with work is scheduled on one pool thread at a time, which drains up to
// 64 items and then requeues it behind the other ready processes, so the platform keeps the
// contract of platform.h: at most one fiber or callback of a process runs at once, and different
// processes run in parallel. Fibers migrate between pool threads freely (Boost.Context fibers are
// not bound to a thread). Every item runs with the ExecutionContext of its process (and fiber)
// installed.
//
// Wake-ups: a fiber is queued, running or parked; park() and unpark() both run on the fiber's
// own strand (unpark REQUIRES it), so there is no window between deciding to park and
// suspending. unpark queues one resume item and only for a parked fiber: unparking twice resumes
// once, and there are no spurious wake-ups (except that park() returns at once in a fiber that
// is being unwound).
//
// `send` encodes nothing itself: the bytes are handed to the target process's on_message on its
// strand (there is no network), in the order sent by each sender. Timers live on one timer
// thread that posts a due timer to the process's queue; a timer cancelled before its item runs
// does not run, and none runs before its deadline.
//
// Death. `kill_process` marks the process dead at once (later sends, spawns and timers to it are
// dropped, and so are sends *from* it) and its strand, once its current step ends, drops the
// queued items, unwinds its fibers in id order (destructors run, with the fiber's context
// installed) and cancels its timers. A process killing itself from one of its fibers never
// returns from kill_process: that fiber switches out and is unwound with the others. From a
// callback, kill_process returns and the unwinding follows the callback. An exception escaping a
// callback or a fiber body crashes its process the same way (reported on stderr). The host stays
// (a tombstone, as under sim) until the platform is destroyed.
//
// Threaded calls (run_parallel; threads_platform_lanes.cc). A fiber calling run_parallel(pool,
// lanes, body) switches out of its strand, which hands it to lane pool `pool` of its process: up
// to `lanes` OS threads, started on demand and kept until the process is reaped (the platform's
// destructor joins them). A lane thread runs one such fiber from the hand-off until its body
// ends, so at most `lanes` bodies of a pool run at once, and a body stays on one OS thread
// (thread-locals and std::mutex work in user code). The body runs outside the process's serial
// order, beside its strand and the other bodies.
//   The process's turn is its *gate* (strand.h), a binary semaphore. Once the process has handed
// a fiber to a lane it is `gated`: the draining pool thread holds the gate around each item, and
// a fiber on a lane takes it in enter_turn (a ProcessTurn) and gives it back in leave_turn. So
// "strand-owned" state (fibers, rng, queue bookkeeping) is touched only by the gate's holder. In
// a turn, park gives the gate back and blocks the lane thread on the fiber's own semaphore (the
// fiber does not switch), and takes it again when woken: unpark of such a fiber, from the strand
// or from another turn, releases that semaphore instead of queueing a resume item; yield gives the
// gate back and takes it again. A lane fiber switches out of its lane only while holding the
// gate, and only to leave: when its body has ended (the lane thread then posts its resume item to
// the strand, and it returns from run_parallel there; an exception from the body is rethrown
// there), or to be unwound. The lane thread gives the gate back only after the fiber has switched
// out completely, so nobody resumes a fiber that is still running.
//   Deadlock freedom: a gate's holder waits for nothing but leaf mutexes (queues, timers, trace,
// lane pools), which are held briefly and never while taking a gate, and no one takes two gates:
// an item of the strand never waits for a lane (hand-off is a push), and a turn never blocks
// while holding the gate (park and yield give it back first). Lanes wait only for the
// gate or for work. A process that never calls run_parallel never has a lane, and each of its
// items costs one relaxed atomic load more.
//   Death with bodies on lanes: the code of a body keeps running after its process dies, until
// its next enter_turn or the end of the body; the fiber then switches out and its lane thread
// unwinds it (destructors run there, with the fiber's context installed and the gate held). reap
// unwinds the other fibers at once and wakes those parked in a turn, which unwind the same way.
// A body that never takes the turn again keeps its lane thread, and the platform's destructor
// waits for it. A call whose body its lane thread had not begun when the process died (the lane
// was busy, or its thread was slow to start) never runs that body: the lane thread unwinds the
// fiber as soon as it takes it (as a dead Ray actor never starts a queued call).
// After stop(), run() returns while bodies may still run on lanes: they can take turns (the pool
// is gone, so nobody else holds the gate) and their work stays queued for the next run().
//
// Thread-safe: every method may be called from any thread, except park, unpark and yield (on
// the process's own strand or in a turn, as platform.h requires) and run (from one non-pool
// thread). run() starts the pool and timer threads, blocks until stop(), then lets each pool
// thread finish its current item and joins them all: queued work stays queued for the next run()
// or for the destructor. The destructor (REQUIRES: run() is not active) unwinds every fiber still
// parked on the destroying thread (those inside run_parallel on their lanes, which it then
// joins), then destroys the hosts.
//
//   ThreadsPlatform platform({.threads = 4, .seed = 42});
//   ProcessId p = *platform.start_process(NodeId{0}, "driver", std::make_unique<Driver>());
//   platform.spawn(p, "main", [&] { ...; platform.stop(); });
//   absl::Status status = platform.run();
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/fiber/stack_pool.h"
#include "runtime/platform.h"
#include "runtime/real/threads_store.h"
#include "runtime/trace/trace.h"

namespace troupe {

namespace real {
class ThreadsGpus;
}  // namespace real

struct ThreadsNodeOptions {
  std::string name{};
  double cpus = 8;
  int64_t memory_bytes = int64_t{16} << 30;
  int gpus = 0;
  // Each GPU's memory, compute rate and memory bandwidth (runtime/gpu.h): memory is accounted,
  // the rates give gpu::run's wait for a kernel without a callable.
  int64_t gpu_memory_bytes = int64_t{16} << 30;
  double gpu_flops = 100e12;
  double gpu_bandwidth_bytes_per_s = 1e12;
};

struct ThreadsPlatformOptions {
  // Pool threads; 0 (or less) means std::thread::hardware_concurrency(), at least 2.
  int threads = 0;
  // The nodes the directory schedules on; they share this OS process. Empty means one node
  // named "local" with 64 CPUs.
  std::vector<ThreadsNodeOptions> nodes{};
  // Seeds the per-process random streams: process p draws from
  // Rng(seed).fork(kStreamProcessBase + p) (runs are still not deterministic on this platform).
  uint64_t seed = 0;
  StackPoolOptions stacks{};
  // Where trace events go (recorded under a lock); nullptr records none. Must outlive the platform.
  Trace* trace = nullptr;
  // The cluster object store behind Platform::storage(): in memory unless a directory is given.
  ThreadsStorageOptions storage{};
  // Chaos: buggify() sites answer as under the simulator (each enabled in 1 run in 4, then firing 1
  // time in 4; runtime/buggify_sites.h), drawn from `seed`, which the constructor logs to stderr
  // and to the trace. Off (the default): buggify() is always false.
  bool chaos = false;
  // The platform code running here sees as ExecutionContext::platform (troupe::storage, sleep,
  // gpu and friends reach the platform through it): a platform wrapping this one (the cluster
  // platform, runtime/cluster), or null for this one. Must outlive this platform's processes.
  Platform* context_platform = nullptr;
  // Liveness: once this much real time has passed since the platform started, run() stops the
  // pool and returns DeadlineExceeded listing what every fiber of a live process waits for (the
  // simulator's report). The threads platform cannot see a deadlock, so a run that one ends
  // stops here instead of hanging. -1: no deadline.
  Nanos deadline = -1;
};

class ThreadsPlatform final : public Platform {
 public:
  explicit ThreadsPlatform(ThreadsPlatformOptions options = {});
  // Destroys every process: unwinds the fibers still parked (on this thread, in process and
  // fiber id order; those inside run_parallel on their lane threads, which it then joins), then
  // the hosts. REQUIRES: run() is not active.
  ~ThreadsPlatform() override;
  ThreadsPlatform(const ThreadsPlatform&) = delete;
  ThreadsPlatform& operator=(const ThreadsPlatform&) = delete;

  bool simulated() const override { return false; }
  Nanos now() const override;
  std::vector<NodeInfo> nodes() const override;
  absl::StatusOr<ProcessId> start_process(NodeId node, std::string name,
                                          std::unique_ptr<ProcessHost> host) override;
  // The same with the id chosen by the caller, for a platform that numbers processes across a
  // cluster of OS processes (runtime/cluster): each OS process hosts a few of them under their
  // cluster-wide ids, and start_process then continues after the highest. AlreadyExists if `id`
  // is taken; InvalidArgument past kProcessIdMax (the table is indexed by id).
  absl::StatusOr<ProcessId> start_process_as(ProcessId id, NodeId node, std::string name,
                                             std::unique_ptr<ProcessHost> host);
  static constexpr uint32_t kProcessIdMax = 1u << 24;
  // Runs `callback` in `process`'s context (not on a fiber), after the work queued there now;
  // false (and dropped) if the process is dead or unknown. Any thread. The cluster platform
  // delivers what arrives from other OS processes (exit and node notices) this way.
  bool run_in(ProcessId process, absl::AnyInvocable<void()> callback);
  // The host of a process of this platform (alive or a tombstone), or nullptr.
  ProcessHost* host_of(ProcessId process);
  // From one of the process's own fibers, does not return (see the death rules above).
  void kill_process(ProcessId process, std::string_view why) override;
  void watch_process(ProcessId watcher, ProcessId target) override;
  void spawn(ProcessId process, std::string name, absl::AnyInvocable<void()> body) override;
  void park(const WaitReason& reason) override;
  void unpark(FiberId fiber) override;
  void yield() override;
  // Threaded actors: `body` runs on a lane thread of (current process, pool); see the header.
  void run_parallel(int pool, int lanes, absl::FunctionRef<void()> body) override;
  // Blocks this lane thread until the process's turn is free; takes it. If the process has died,
  // does not return: the fiber is unwound (forced unwind).
  void enter_turn() override;
  void leave_turn() override;
  TimerId start_timer(ProcessId process, Nanos deadline, absl::AnyInvocable<void()> callback) override;
  void cancel_timer(TimerId timer) override;
  using Platform::send;
  // Both channels are the same here: nothing is lost between live processes.
  void send(ProcessId from, ProcessId to, std::string payload, Channel channel) override;
  uint64_t random_u64() override;
  // Runs the pool until stop(), then joins it: OkStatus, or DeadlineExceeded once
  // options.deadline has passed (see there). May be called again later.
  // REQUIRES: not on a pool thread, and not concurrently with itself.
  absl::Status run() override;
  // One line per fiber of a live process: what it waits for (the lines run() reports at its
  // deadline). REQUIRES: run() is not active.
  std::string wait_report();
  // Makes run() return (or the next run() return at once if none is active). Any thread.
  void stop() override;
  void trace(TraceEvent event) override;
  // Thread-safe (runtime/real/memory_store.h, file_store.h).
  StorageService& storage() override { return *storage_; }
  // False unless options.chaos; then BuggifySites::evaluate under a lock. Any thread.
  bool buggify(std::string_view site) override;
  // GPUs (runtime/real/threads_gpus.h): a kernel callable runs on the calling thread; without
  // one the fiber waits the kernel's exclusive time (no sharing); memory is accounted per device.
  void bind_gpus(ProcessId process, std::vector<uint32_t> devices, int32_t weight) override;
  absl::Status gpu_run(uint32_t device, const gpu::Work& work, absl::FunctionRef<void()>* kernel) override;
  absl::StatusOr<uint64_t> gpu_alloc(uint32_t device, int64_t bytes) override;
  void gpu_free(uint64_t allocation) override;
  // Bytes allocated on a device (for tests). Any thread.
  int64_t gpu_used_bytes(NodeId node, uint32_t device) const;

 private:
  // Whether `context` belongs to this platform (its platform is this or options.context_platform).
  bool owns(const ExecutionContext* context) const;
  struct State;
  struct Chaos;  // the buggify sites under their lock (threads_platform.cc)
  std::unique_ptr<StorageService> storage_;  // outlives state_: unwinding fibers may still use it
  std::unique_ptr<real::ThreadsGpus> gpus_;  // outlives state_ too: unwinding fibers free GPU memory
  std::unique_ptr<State> state_;
  std::unique_ptr<Chaos> chaos_;  // null unless options.chaos
};

}  // namespace troupe
