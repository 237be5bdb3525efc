// The platform seam: everything the runtime needs from the world it runs in.
//
// The runtime core (submitter, executor, directory, objects) is written once against this
// interface; `sim::World` implements it with virtual time and a seeded scheduler on one thread,
// `ThreadsPlatform` (runtime/real) with a thread pool and the real clock. Nothing else in
// runtime/ touches the OS (LevelDB's Env is the model).
//
// The execution model, identical on both platforms:
//   * The cluster has nodes; a node hosts processes. A process is a serial event loop: at most
//     one of its fibers or callbacks runs at a time, so runtime state owned by a process needs
//     no locks. Different processes run in parallel on the threads platform.
//   * Work in a process is either a callback (a delivered message, a timer; must not block) or a
//     fiber (may block by parking). `spawn` starts a fiber.
//   * Processes talk only by messages: `send` copies bytes to another process, whose
//     ProcessHost::on_message runs there later (after a simulated network latency under sim).
//     A message goes on one of two channels (see Channel): the control channel never loses a
//     message between two live processes; the data channel may, when the network breaks the
//     connection, and then tells both ends (ProcessHost::on_connection_lost).
//   * A parked fiber is woken by `unpark`, called from the same process (a message handler, a
//     timer, another fiber). Cross-process wake-ups are messages.
//
// The current process and fiber are reached through `ExecutionContext::current()`, set by the
// platform around every callback and fiber run: no globals, so one OS process can hold many
// simulated worlds.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "runtime/ids.h"
#include "runtime/storage_service.h"
#include "runtime/trace/trace_event.h"

namespace troupe {

namespace detail {
class Runtime;
}  // namespace detail
namespace gpu {
struct Work;
}  // namespace gpu

// Something a fiber can wait on that has a name and, maybe, a holder: a troupe::Mutex, Event or
// Semaphore (runtime/sync.h). Deadlock reports follow holders to draw the wait-for graph.
class Waitable {
 public:
  virtual ~Waitable() = default;
  // "Mutex 'accounts'", for reports. Called only when a report is made.
  virtual std::string describe() const = 0;
  // The fiber whose progress the waiter needs (a mutex's holder), or an invalid id when no one
  // fiber holds it (an event, a semaphore). An edge of the wait-for graph.
  virtual FiberId holder() const { return {}; }
};

// Why a fiber is parked, for deadlock reports and the trace. Cheap to build (no formatting on
// the hot path): a literal and, when it concerns one, an object or a Waitable.
struct WaitReason {
  std::string_view what;  // "get", "sleep", "wait", "lock", ...; must outlive the park
  uint64_t object = 0;    // the packed ObjectId waited for, if any
  const Waitable* on = nullptr;  // the lock, event or semaphore waited on, if any; outlives the park
  // "get o2.5", "sleep", "lock Mutex 'a' (held by fiber f7)".
  std::string describe() const;
};

// What a process does with its input; implemented by the runtime (core/process_runtime.h).
// Owned by the platform from start_process until the process ends.
class ProcessHost {
 public:
  virtual ~ProcessHost() = default;
  // Runs in the process's context, not on a fiber: must not block (spawn a fiber for that).
  virtual void on_message(ProcessId from, std::string payload) = 0;
  // The runtime that runs user code in this process (the driver's or a worker's), or nullptr
  // (the directory). Saves a dynamic_cast on every call from user code.
  virtual detail::Runtime* user_runtime() { return nullptr; }

  // What a parked fiber of this process waits for, in words, for deadlock reports ("the result
  // of a2.2 Counter.increment (o4.7)"). Called only when a report is made.
  virtual std::string describe_wait(const WaitReason& reason) { return reason.describe(); }
  // What `fiber` of this process is doing, for the same reports ("Transfers.a_then_b for p2"),
  // or "" when there is nothing to add to its name.
  virtual std::string describe_fiber(FiberId fiber) { return ""; }

  // A process this one watches (Platform::watch_process) has ended; called in this process's
  // context, after the platform's failure-detection delay. Must not block.
  virtual void on_process_exit(ProcessId process, std::string_view why) {}

  // Called once, in the process's context, when the process starts: before any of its other
  // work (messages, timers, fibers spawned into it) runs.
  virtual void on_start() {}

  // The data-channel connection between this process and `peer` broke and lost messages, in
  // either direction (a reset, or a partition): any data message sent to or expected from
  // `peer` before now may or may not have arrived. Called in this process's context, after the
  // platform's failure-detection delay; one notice covers every loss up to then. Must not block.
  virtual void on_connection_lost(ProcessId peer) {}

  // A node came back (rebooted, empty) and takes processes again; only for processes that asked
  // (Platform::watch_nodes). Called in this process's context. Must not block.
  virtual void on_node_up(NodeId node) {}

  // A node crashed (NodeInfo::rebooting says whether it will come back); only for processes that
  // asked (Platform::watch_node_failures), after the failure-detection delay. Called in this
  // process's context. Must not block.
  virtual void on_node_down(NodeId node) {}

  // How another OS process rebuilds this process (the cluster platform starts each worker in an
  // OS process of its own, runtime/cluster): bytes from which that process's runtime constructs
  // an equal host, or nullopt for a process that cannot move (the directory, a driver).
  virtual std::optional<std::string> boot_image() const { return std::nullopt; }

  // Lines about this process's state to add to wait and deadlock reports, each "  ...\n" (the
  // directory lists its pending actors and placement groups with their reasons), or "". Called
  // only when a report is made.
  virtual std::string describe_state() { return ""; }
};

// How a message travels between two processes (Platform::send).
enum class Channel : uint8_t {
  // Like one TCP stream per direction: messages may be lost when the network breaks the
  // connection (a reset, a partition); both ends then hear of it through
  // ProcessHost::on_connection_lost. Actor calls, their replies and object fetches use it, as
  // Ray's direct worker-to-worker RPCs do.
  kData,
  // Like a stream that reconnects and resumes (Ray's GCS clients retry until the GCS answers):
  // while both processes live, every message arrives exactly once and in send order, however
  // long a partition delays it. The directory's traffic uses it.
  kControl,
};

// A node's capacity and health, as the directory's scheduler sees it.
struct NodeInfo {
  NodeId id;
  std::string name;
  double cpus = 0;
  int64_t memory_bytes = 0;
  int gpus = 0;  // devices 0 .. gpus-1; actors take whole ones or shares of one (ActorOptions::num_gpus)
  bool alive = true;
  bool rebooting = false;  // down, with a reboot coming (a node down for good has !alive && !rebooting)
  // Each device of the node (runtime/gpu.h): its memory, compute rate and memory bandwidth.
  int64_t gpu_memory_bytes = int64_t{16} << 30;
  double gpu_flops = 100e12;
  double gpu_bandwidth_bytes_per_s = 1e12;
  // Per device (size gpus): lost (sim::World::lose_gpu) until the node reboots. A lost device
  // must not be given to actors.
  std::vector<bool> gpu_lost = std::vector<bool>(static_cast<size_t>(gpus > 0 ? gpus : 0), false);
};


using TimerId = uint64_t;

class Platform {
 public:
  virtual ~Platform() = default;

  // True for the simulator (virtual time, deterministic).
  virtual bool simulated() const = 0;

  // Time since the platform started: virtual under sim, steady clock on real platforms.
  virtual Nanos now() const = 0;

  // The cluster's nodes, ordered by id. Node 0 is the head.
  virtual std::vector<NodeInfo> nodes() const = 0;
  // A number that changes whenever what nodes() returns changes (a node added, crashed,
  // rebooted, a GPU lost), so a caller that looks often (the directory, at every placement) may
  // skip copying nodes() when it has not. 0, the default, means "unknown: look again".
  virtual uint64_t nodes_version() const { return 0; }

  // Starts a process on `node` running `host`; on_start() is called in it soon after.
  // Fails if the node is unknown or dead.
  virtual absl::StatusOr<ProcessId> start_process(NodeId node, std::string name,
                                                  std::unique_ptr<ProcessHost> host) = 0;

  // Ends `process` at once, as a crash does: its fibers are unwound, its timers cancelled,
  // messages to it dropped from now on. A process may kill itself (the call then does not
  // return to its caller: the current fiber is unwound). `why` goes to the trace.
  virtual void kill_process(ProcessId process, std::string_view why) = 0;

  // Tells `watcher` (through ProcessHost::on_process_exit) when `target` ends, after the
  // failure-detection delay (at once if it has already ended). The directory watches workers
  // and owners this way, as Ray's GCS hears from its raylets.
  virtual void watch_process(ProcessId watcher, ProcessId target) = 0;
  // Tells `watcher` (through ProcessHost::on_node_up) whenever a node comes back after a crash,
  // so the directory can place the actors that waited for room. A platform whose nodes never
  // crash never calls it.
  virtual void watch_nodes(ProcessId watcher) {}
  // Tells `watcher` (through ProcessHost::on_node_down) whenever a node crashes from now on. The
  // directory asks only once it holds a placement group (whose bundles it reschedules when their
  // node dies for good), so runs without groups see no extra event. A platform whose nodes never
  // crash never calls it.
  virtual void watch_node_failures(ProcessId watcher) {}

  // Starts a fiber in `process` running `body`. Scheduling point.
  virtual void spawn(ProcessId process, std::string name, absl::AnyInvocable<void()> body) = 0;

  // Suspends the current fiber until unpark(current fiber). A spurious wake-up is allowed:
  // callers re-check their condition. REQUIRES: on a fiber.
  virtual void park(const WaitReason& reason) = 0;

  // Makes a parked fiber of the current process runnable again; a no-op if it is not parked or
  // has gone. REQUIRES: called from the fiber's own process.
  virtual void unpark(FiberId fiber) = 0;

  // Lets other runnable work go first. Scheduling point. REQUIRES: on a fiber.
  virtual void yield() = 0;

  // Threaded actors. Runs `body` on the current fiber outside its process's serial order: on the
  // threads platform on one of `lanes` OS threads that belong to lane pool `pool` of the process
  // (Ray gives each concurrency group its own thread pool; pools are created on first use and
  // live as long as the process), in parallel with the process's other work and with the other
  // bodies; under sim at once, in the process's order, but every runtime call inside `body` is a
  // scheduling point there (see ProcessTurn). While `body` runs, ExecutionContext::parallel is
  // true, and any use of the runtime or the platform from it must happen inside a ProcessTurn.
  // Returns, on the process's turn again, when `body` returns or throws (the exception
  // propagates). REQUIRES: on a fiber; lanes >= 1; not already inside run_parallel.
  virtual void run_parallel(int pool, int lanes, absl::FunctionRef<void()> body);
  // Takes the process's turn for the current fiber, which runs inside run_parallel, and gives it
  // back. Only ProcessTurn calls these. The default (one thread per process) only flips the flag.
  virtual void enter_turn();
  virtual void leave_turn();

  // Runs `callback` in `process` (not on a fiber) at time `deadline` or later.
  virtual TimerId start_timer(ProcessId process, Nanos deadline, absl::AnyInvocable<void()> callback) = 0;
  // Cancels a timer that has not fired; a no-op otherwise.
  virtual void cancel_timer(TimerId timer) = 0;

  // Sends `payload` from `from` to `to` on `channel`. Delivery is asynchronous and, under sim,
  // delayed by the network model. Messages to or from a dead process are dropped. Scheduling
  // point when on a fiber.
  virtual void send(ProcessId from, ProcessId to, std::string payload, Channel channel) = 0;
  // A data-channel message.
  void send(ProcessId from, ProcessId to, std::string payload) {
    send(from, to, std::move(payload), Channel::kData);
  }

  // 64 random bits from the current process's stream (deterministic under sim).
  virtual uint64_t random_u64() = 0;

  // Runs the platform on the calling OS thread until stop() is called. Under sim, returns an
  // error when the run deadlocks (work left but nothing runnable and no pending event; the
  // message lists every parked fiber and what it waits for) or exceeds a limit of its options.
  virtual absl::Status run() = 0;

  // Makes run() return once the current callback or fiber step ends. Callable from any process.
  virtual void stop() = 0;

  // Records an event in the run's trace (the platform fills in time and the current node and
  // process when they are zero).
  virtual void trace(TraceEvent event) = 0;

  // The cluster's durable object store (runtime/storage_service.h). Owned by the platform and
  // shared by all its processes; it outlives every process and node crash.
  virtual StorageService& storage() = 0;
  // Whether the buggify() site `site` fires on this evaluation (runtime/buggify.h): under sim by
  // the seeded rule of runtime/buggify_sites.h, on the threads platform only with chaos on. The
  // default, for a platform without fault injection, is never. REQUIRES: a valid site name.
  virtual bool buggify(std::string_view site) { return false; }

  // GPUs (runtime/gpu.h). A platform without a GPU model keeps the defaults: bind_gpus does
  // nothing and the others fail with Unimplemented, which the API reports as std::logic_error.
  //
  // Binds `process` to `devices` (numbers on its node, from the actor's spec) with `weight`, its
  // share of each in wire::kGpuUnits (10000 = a whole device): the devices its kernels and
  // allocations may use, and whose loss crashes it. Called once by the worker, before its actor
  // is constructed; the process's allocations are freed when it ends.
  virtual void bind_gpus(ProcessId process, std::vector<uint32_t> devices, int32_t weight) {}
  // Runs a kernel of cost `work` on `device` for the current fiber, which blocks (never the
  // platform thread) until it is done. `kernel` is the user's code or null: a real platform runs
  // it instead of waiting the modelled time; the simulator never runs it and shares the device
  // among its kernels (processor sharing). Errors: FailedPrecondition (the process is not bound
  // to `device`), InvalidArgument (a cost beyond the limits), Unavailable (the device is lost).
  // Called without the process's turn (ProcessTurn): the platform takes it where it needs it, so
  // that a real kernel runs beside the process's other work.
  // REQUIRES: on a fiber; `work` holds no negative or non-finite amount.
  virtual absl::Status gpu_run(uint32_t device, const gpu::Work& work, absl::FunctionRef<void()>* kernel);
  // Takes `bytes` of `device`'s memory for the current process; returns the allocation's id
  // (never 0). Errors: ResourceExhausted (does not fit; the message says how full the device is),
  // FailedPrecondition (not bound), Unavailable (lost). REQUIRES: on a fiber, in the process's
  // turn; bytes >= 0.
  virtual absl::StatusOr<uint64_t> gpu_alloc(uint32_t device, int64_t bytes);
  // Gives an allocation back. A no-op if it is gone already (its process ended). Any context.
  virtual void gpu_free(uint64_t allocation) {}
};

// Where the running code is: platform, process and fiber. Set by the platform.
struct ExecutionContext {
  Platform* platform = nullptr;
  NodeId node;
  ProcessId process;
  ProcessHost* host = nullptr;
  FiberId fiber;  // invalid in a callback
  // Inside Platform::run_parallel and outside a ProcessTurn: this fiber runs beside the
  // process's serial work and must take the turn before touching the runtime. Set by the
  // platform (run_parallel, enter_turn, leave_turn).
  bool parallel = false;
  // An async actor's call fiber (set by the runtime when it starts one): the platform never
  // switches away from it on its own initiative (send and spawn are not scheduling points for
  // it); it gives way only where it blocks or yields, as a coroutine does at `await`.
  bool cooperative = false;

  // The context of the code running on this thread, or nullptr outside any platform.
  static ExecutionContext* current();
  // Installs `context` for this thread and returns the previous one. Used by platforms only.
  static ExecutionContext* exchange(ExecutionContext* context);
};

// RAII: the current fiber holds its process's turn for this scope. Every entry from user code
// into the runtime or the platform (System calls, sleep, yield, random, storage, buggify, sync
// primitives, dropping a Ref) opens one, so runtime state owned by a process stays serial even
// when a threaded actor's methods run in parallel (Platform::run_parallel). Outside
// run_parallel, and when the fiber already holds the turn, it does nothing.
class ProcessTurn {
 public:
  ProcessTurn() {
    ExecutionContext* context = ExecutionContext::current();
    if (context != nullptr && context->parallel) {
      context_ = context;
      context->platform->enter_turn();
    }
  }
  ~ProcessTurn() {
    if (context_ != nullptr) context_->platform->leave_turn();
  }
  ProcessTurn(const ProcessTurn&) = delete;
  ProcessTurn& operator=(const ProcessTurn&) = delete;

 private:
  ExecutionContext* context_ = nullptr;
};

// RAII: installs a context for a scope and restores the previous one.
class ScopedExecutionContext {
 public:
  explicit ScopedExecutionContext(ExecutionContext* context) : previous_(ExecutionContext::exchange(context)) {}
  ~ScopedExecutionContext() { ExecutionContext::exchange(previous_); }
  ScopedExecutionContext(const ScopedExecutionContext&) = delete;
  ScopedExecutionContext& operator=(const ScopedExecutionContext&) = delete;

 private:
  ExecutionContext* previous_;
};

}  // namespace troupe
