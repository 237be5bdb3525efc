// World: the simulated platform — virtual time, a seeded scheduler, nodes, processes, a network.
//
// One World is one simulated cluster on one OS thread. It implements the platform seam
// (runtime/platform.h), so the unmodified runtime core runs inside it. Everything that happens
// is an item: a fiber to resume, or a callback (a message delivery, a timer) due at a virtual
// time. Items due now are "ready"; when several are ready the scheduling strategy picks one
// (random by default, seeded; fifo for a fixed order). When none is ready, virtual time jumps
// to the next pending event, so a simulated hour of sleeping costs microseconds of wall time.
//
// Determinism: every random choice comes from an Rng forked from `seed` (one stream for the
// scheduler, one for the network, one per process); ties between events at the same time break
// by sequence number; ids are counters. Nothing here reads a real clock or depends on an
// address or on hash-map order. The same seed gives the same trace hash under any compiler.
//
// Several Worlds may exist in one process; each runs only inside its own run() call.
//
//   sim::World world({.seed = 42});
//   auto node = world.add_node({.name = "head", .cpus = 8});
//   ... start processes through the Platform interface, then world.run() ...
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "runtime/buggify_sites.h"
#include "runtime/core/random.h"
#include "runtime/fiber/stack_pool.h"
#include "runtime/platform.h"
#include "runtime/trace/trace.h"
#include "sim/event_queue.h"
#include "sim/gpus.h"
#include "sim/network.h"
#include "sim/storage.h"
#include "sim/strategy.h"

namespace troupe::sim {

struct NodeOptions {
  std::string name;
  double cpus = 8;
  int64_t memory_bytes = int64_t{16} << 30;
  int gpus = 0;
  // Each GPU's memory, compute rate and memory bandwidth (runtime/gpu.h, sim/gpus.h).
  int64_t gpu_memory_bytes = int64_t{16} << 30;
  double gpu_flops = 100e12;
  double gpu_bandwidth_bytes_per_s = 1e12;
};

// A process as fault injection and reports see it.
struct ProcessInfo {
  ProcessId id;
  NodeId node;
  std::string name;
  bool alive = true;
};

// The stream that draws the simulated CPU time of threaded actors' method bodies (preemptions).
inline constexpr uint64_t kStreamPreemption = 6;

struct WorldOptions {
  uint64_t seed = 1;
  StrategyKind strategy = StrategyKind::kRandom;
  StrategyOptions strategy_options = {};  // pct's depth and steps, replay's schedule
  NetworkOptions network;
  StackPoolOptions stacks;
  // Limits: a run that exceeds one stops with ResourceExhausted naming the limit.
  uint64_t max_steps = 50'000'000;             // items run (fiber steps and callbacks)
  Nanos max_time = int64_t{24} * 3600 * kSecond;  // virtual time
  // How long after a process ends its watchers hear of it (Platform::watch_process), and after
  // a data connection loses messages its ends hear of it (ProcessHost::on_connection_lost).
  Nanos failure_detection_ns = kMillisecond;
  // How long a control-channel message the network lost waits before it is sent again (a
  // reconnecting stream's retry interval); it keeps being resent until it gets through.
  Nanos retransmit_ns = 50 * kMillisecond;
  // Where trace events go; nullptr means the World's own Trace (hash only).
  Trace* trace = nullptr;
  // The cluster object store (sim/storage.h): latencies and capacity.
  StorageOptions storage = {};
  // Liveness: when the next pending event lies after `deadline` (>= 0), run() stops with
  // DeadlineExceeded at exactly `deadline`, naming what every parked fiber waits for (the
  // deadlock report's wait-for lines, see wait_report). Events at the deadline itself still run.
  // -1: no deadline (max_time still applies).
  Nanos deadline = -1;
  // Threaded actors: code runs in zero simulated time, so two method bodies would only overlap
  // if their calls arrived at the same nanosecond. Real threads overlap because code takes time
  // and the OS preempts it. So at each runtime call a threaded method body makes (a ProcessTurn),
  // the World preempts it for a duration drawn uniformly from [0, preemption_max_ns] (its own
  // stream), as if the code before the call had taken that long: calls that arrive within that
  // window of each other interleave. 0: only yield (a scheduling point at the same instant).
  Nanos preemption_max_ns = 100 * kMicrosecond;
};

class World final : public Platform {
 public:
  explicit World(WorldOptions options = {});
  // Destroys every process, unwinding fibers that are still parked.
  ~World() override;
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // Adds a node; returns its id (0 for the first, the head).
  NodeId add_node(NodeOptions options);

  // Every process started so far, alive or not, in id order.
  std::vector<ProcessInfo> processes() const;

  // Crashes `node`: every process on it ends (as kill_process, with the reason "node n1
  // crashed"), and the node takes no new processes until it reboots, empty, `reboot_after` later
  // (never when reboot_after < 0). The trace records both.
  void crash_node(NodeId node, Nanos reboot_after);

  // A false suspicion: the failure detector reports `process` as ended ("suspected: <why>") to
  // its watchers, after the failure-detection delay, though it keeps running (a split brain).
  // Traced as a fault. A no-op for a process that has ended.
  void suspect_process(ProcessId process, std::string_view why);

  // GPU faults (sim/gpus.h), each traced (TraceKind::kGpu). REQUIRES: `device` < the node's gpus.
  // For `duration`, the device runs at 1/slowdown of its speed (kernels in flight slow down, and
  // speed up again after). Overlapping throttles: the largest slowdown applies.
  // REQUIRES: 1 <= slowdown <= Gpus::kMaxSlowdown (kept to a thousandth), duration >= 0.
  void throttle_gpu(NodeId node, uint32_t device, double slowdown, Nanos duration);
  // For `duration`, a neighbour holds up to `bytes` of the device's free memory (as much as is
  // free now, if less): allocations that no longer fit throw GpuOutOfMemory; existing ones stay.
  void pressure_gpu_memory(NodeId node, uint32_t device, int64_t bytes, Nanos duration);
  // The device is lost: every process bound to it (Platform::bind_gpus) crashes with "GPU 1 of
  // n2 lost", ending its kernels; later use fails (GpuLostError) and NodeInfo::gpu_lost marks it
  // until the node reboots (crash_node with a reboot).
  void lose_gpu(NodeId node, uint32_t device);
  // The GPU model, for tests (bytes in use, lost devices).
  const Gpus& gpus() const { return *gpus_; }

  // Runs `action` at virtual time `time` (now if earlier), outside any process: the hook for
  // fault injection and for tests that act on the World mid-run.
  void at(Nanos time, absl::AnyInvocable<void()> action);

  // The trace this World records into (options.trace or its own).
  Trace& trace_log() { return *trace_; }
  uint64_t steps() const { return steps_; }
  const WorldOptions& options() const { return options_; }
  // The scheduling strategy (for its at_end() check after a run).
  const Strategy& strategy() const { return *strategy_; }
  // The simulated network, for injecting faults (partitions, clogs, resets); each is traced.
  Network& network() { return network_; }
  // True while `process` runs (false once it has ended, and for an unknown id).
  bool process_alive(ProcessId process) const;
  // The run's buggify() sites (runtime/buggify_sites.h), for forcing sites on and for tests.
  BuggifySites& buggify_sites() { return buggify_; }
  // One line per fiber of a live process: what it waits for (the deadlock report's lines).
  std::string wait_report() const { return deadlock_report(); }

  // Platform.
  bool simulated() const override { return true; }
  Nanos now() const override { return now_; }
  std::vector<NodeInfo> nodes() const override;
  uint64_t nodes_version() const override { return nodes_version_; }
  absl::StatusOr<ProcessId> start_process(NodeId node, std::string name,
                                          std::unique_ptr<ProcessHost> host) override;
  void kill_process(ProcessId process, std::string_view why) override;
  void watch_process(ProcessId watcher, ProcessId target) override;
  void watch_nodes(ProcessId watcher) override { node_watchers_.push_back(watcher); }
  void watch_node_failures(ProcessId watcher) override { node_failure_watchers_.push_back(watcher); }
  void spawn(ProcessId process, std::string name, absl::AnyInvocable<void()> body) override;
  void park(const WaitReason& reason) override;
  void unpark(FiberId fiber) override;
  void yield() override;
  // A threaded actor's method entering the runtime: a scheduling point (the simulator's stand-in
  // for threads that may be preempted anywhere), unless the fiber is being unwound.
  void enter_turn() override;
  TimerId start_timer(ProcessId process, Nanos deadline, absl::AnyInvocable<void()> callback) override;
  void cancel_timer(TimerId timer) override;
  using Platform::send;
  void send(ProcessId from, ProcessId to, std::string payload, Channel channel) override;
  uint64_t random_u64() override;
  absl::Status run() override;
  void stop() override { stop_requested_ = true; }
  void trace(TraceEvent event) override;
  // The simulated object store, for storage calls and for injecting storage faults.
  Storage& storage() override { return *storage_; }
  bool buggify(std::string_view site) override { return buggify_.evaluate(site); }
  void bind_gpus(ProcessId process, std::vector<uint32_t> devices, int32_t weight) override;
  absl::Status gpu_run(uint32_t device, const gpu::Work& work, absl::FunctionRef<void()>* kernel) override;
  absl::StatusOr<uint64_t> gpu_alloc(uint32_t device, int64_t bytes) override;
  void gpu_free(uint64_t allocation) override { gpus_->free(allocation); }

 private:
  struct SimFiber;
  struct SimProcess;

  SimProcess* find_process(ProcessId id);
  SimFiber* current_fiber();
  void make_ready(ReadyItem item);
  void schedule(Nanos at, ReadyItem item);
  void run_item(ReadyItem& item);
  void deliver(ReadyItem& item);
  // Routes one message through the network: schedules its delivery, or handles its loss.
  void route_message(SimProcess& source, SimProcess& target, std::string payload, Channel channel,
                     uint32_t stream_sequence);
  // The network lost `payload`: a control message is sent again after retransmit_ns (while both
  // ends live); a data message is gone, and both ends hear of it (connection_lost).
  void lost_in_network(ProcessId from, ProcessId to, std::string payload, Channel channel, uint32_t stream_sequence);
  // Tells both ends that their data connection lost messages, after the failure-detection delay
  // (one notice per end until it is delivered).
  void connection_lost(ProcessId a, ProcessId b);
  // Hands a delivered message to the process's host.
  void hand_over(SimProcess& process, ProcessId from, std::string payload);
  void resume_fiber(SimFiber& fiber);
  void switch_out_of_fiber();  // from a fiber: back to the scheduler loop
  void destroy_process_fibers(SimProcess& process);
  void notify_watchers(SimProcess& process, std::string_view why);
  // Runs `call` on `process`'s host, in its context, after the failure-detection delay (skipped
  // if the process has ended by then): how exits, lost connections and rebooted nodes are heard.
  void call_host_after_detection(ProcessId process, absl::AnyInvocable<void(ProcessHost&)> call);
  // Tells `watcher` that `target` ended, after the failure-detection delay.
  void notify_exit(ProcessId watcher, ProcessId target, std::string why);
  std::string deadlock_report() const;
  // When `fiber` is about to park on a Waitable with a holder: the wait-for cycle of locks it
  // closes, one line per fiber, or "" if it closes none.
  std::string lock_cycle(const SimFiber& fiber) const;
  // One line for a parked fiber: node, process, fiber and what it waits for.
  std::string describe_parked(const SimFiber& fiber) const;

  WorldOptions options_;
  std::unique_ptr<Trace> own_trace_;
  Trace* trace_;
  Rng root_rng_;
  Rng network_rng_;
  Rng preemption_rng_;
  std::unique_ptr<Strategy> strategy_;
  StackPool stacks_;
  Network network_;
  BuggifySites buggify_;  // from the seed (its kStreamBuggify stream); events go to trace()

  Nanos now_ = 0;
  uint64_t steps_ = 0;
  bool running_ = false;
  bool stop_requested_ = false;
  absl::Status stop_status_;  // why run() stops early (a lock cycle), when not OK
  EventQueue events_;
  std::vector<ReadyItem> ready_;

  std::vector<NodeInfo> nodes_;
  uint64_t nodes_version_ = 1;  // bumped whenever nodes() would change (Platform::nodes_version)
  std::vector<std::unique_ptr<SimProcess>> processes_;  // index = ProcessId - 1 (dense counters)
  absl::flat_hash_map<uint64_t, SimFiber*> fibers_;              // lookup only, never iterated
  absl::flat_hash_set<TimerId> pending_timers_;                  // lookup only
  uint32_t next_process_ = 1;
  uint64_t next_fiber_ = 1;
  TimerId next_timer_ = 1;
  uint64_t next_sequence_ = 0;
  // The control channel: one stream per (from, to) pair of process ids, delivered in order.
  struct Stream {
    uint32_t next_send = 0;
    uint32_t next_deliver = 0;
    std::map<uint32_t, std::string> held;  // arrived ahead of a resent message
  };
  std::map<std::pair<uint32_t, uint32_t>, Stream> streams_;
  std::vector<ProcessId> node_watchers_;  // told when a node reboots, in order
  std::vector<ProcessId> node_failure_watchers_;  // told when a node crashes, in order
  std::set<std::pair<uint32_t, uint32_t>> lost_notices_;  // (process, peer): a notice is on its way
  ExecutionContext callback_context_;
  std::unique_ptr<Storage> storage_;               // draws from its own stream (kStreamStorage)
  std::unique_ptr<Gpus> gpus_;                     // draws nothing: no random choice in the model
};

}  // namespace troupe::sim
