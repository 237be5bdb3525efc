// ClusterPlatform: the real multi-process platform. A cluster is a head, node daemons and worker
// and driver processes on one machine or many, talking over authenticated TCP links
// (runtime/net/link.h) with the messages of runtime/cluster/cluster_wire.h.
//
// Every OS process of a cluster that runs runtime code holds one ClusterPlatform: the head's hosts
// the directory (Ray's GCS), a driver's hosts its driver process, a worker's hosts the one actor
// process it was started for. Inside, an OS process's own processes run on a ThreadsPlatform
// (fibers, timers, threaded actors' lanes, GPUs) under their cluster-wide ids; the ClusterPlatform
// adds what crosses OS processes:
//   * send: to a process of this OS process, directly; to any other, as a Deliver frame to the
//     head, which routes it on, or, to a worker, on a direct link to that worker once one is open
//     (two hops instead of four for an actor call; nothing is lost between live processes on
//     either channel, and each sender's messages to a receiver arrive in order);
//   * start_process (head only): a process that can move (ProcessHost::boot_image) is started in
//     a worker OS process by the daemon of its node, which re-executes the driver's binary in
//     worker mode (runtime/cluster/cluster_main.h) with CUDA_VISIBLE_DEVICES and the actor's
//     env_vars set; its messages wait at the head until the worker has connected;
//   * kill_process: a worker's OS process is killed with SIGKILL by its node daemon (a real
//     crash); a process that kills itself tells the head why, and its OS process exits;
//   * watch_process and node failures: the head hears of every end (a worker's link closing, its
//     daemon's report of how it exited, a driver disconnecting, a node daemon's link closing or
//     its heartbeats stopping) and tells the watchers;
//   * storage: the head's store (in memory, or a directory on the head's machine), reached by
//     the members over their link.
//
// Nodes: node 0 is the head's own (its resources host workers too, started by the head itself);
// each `troupe node` that registers becomes the next node. The directory hears of new nodes
// through on_node_up and of dead ones through on_node_down.
//
// Thread-safe like ThreadsPlatform: the methods may be called from any thread, with the same
// exceptions (park, unpark, yield). The member factories block until the head has accepted them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/platform.h"
#include "runtime/real/threads_platform.h"

namespace troupe::cluster {

inline constexpr ProcessId kDirectoryProcess{1};

struct HeadOptions {
  std::string bind_address = "127.0.0.1";  // a cluster is not exposed unless asked
  uint16_t port = 0;                        // 0: an ephemeral port (port() says which)
  std::string token;                        // the cluster's shared secret (net::validate_token)
  ThreadsNodeOptions node{.name = "head"};  // node 0: the head's own resources
  std::string storage_directory;            // the cluster store: in memory when empty
  // A node daemon that has sent no heartbeat for this long is declared dead.
  Nanos heartbeat_timeout = 3 * kSecond;
  int threads = 2;                          // the head's pool (the directory is one process)
  uint64_t seed = 0;
};

struct MemberOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string token;
  int threads = 0;   // the local pool; 0: the hardware's
  uint64_t seed = 0;
  Trace* trace = nullptr;
  Nanos deadline = -1;  // ThreadsPlatformOptions::deadline
  bool chaos = false;   // buggify sites answer (ThreadsPlatformOptions::chaos)
  // Messages to a worker go on a direct link to it (and a worker listens for them) instead of
  // through the head, once the head has said where it listens (runtime/cluster/cluster_wire.h).
  bool direct_links = true;
};

class ClusterPlatform final : public Platform {
 public:
  // Starts a head: listens, starts the directory as process 1 on node 0. Unavailable when it
  // cannot listen; InvalidArgument for a bad token or address.
  static absl::StatusOr<std::unique_ptr<ClusterPlatform>> start_head(HeadOptions options);
  // Joins a cluster as a driver running `binary` (its workers run it too). Waits up to `timeout`
  // for at least `min_nodes` nodes (the head's included) to be alive. The driver's process id is
  // assigned_process(); start it with start_local_process.
  static absl::StatusOr<std::unique_ptr<ClusterPlatform>> join_as_driver(MemberOptions options, std::string binary,
                                                                         size_t min_nodes, Nanos timeout);
  // Joins as the worker the head started as `process` on `node`.
  static absl::StatusOr<std::unique_ptr<ClusterPlatform>> join_as_worker(MemberOptions options, ProcessId process,
                                                                         NodeId node, const NodeInfo& node_info);
  ~ClusterPlatform() override;
  ClusterPlatform(const ClusterPlatform&) = delete;
  ClusterPlatform& operator=(const ClusterPlatform&) = delete;

  // The head's port (0 for a member).
  uint16_t port() const;
  // The process a driver or worker runs as; invalid for the head.
  ProcessId assigned_process() const;
  ProcessId directory() const { return kDirectoryProcess; }
  // Starts `host` as `process` in this OS process.
  absl::Status start_local_process(ProcessId process, std::string name, std::unique_ptr<ProcessHost> host);
  // Head: one line per peer it refused ("refused 127.0.0.1:5012: <why>").
  std::vector<std::string> refusals() const;
  // Head: the number of worker processes alive now (for tests and the head's status line).
  size_t live_workers() const;
  // Member: true once the link to the head is gone (run() has then been stopped).
  bool disconnected() const;
  // Driver: has the head kill one live worker with SIGKILL, the one at `pick` modulo the number
  // alive (in process id order), for chaos. Returns "p7 (a2.1 Counter)", or "" when no worker
  // was alive; Unavailable if the head does not answer within 5 s.
  absl::StatusOr<std::string> chaos_kill(uint64_t pick);
  // Member: the processes it sends to on a direct link now (for tests).
  std::vector<ProcessId> direct_peers() const;
  // Member: ends the link to the head after everything sent has been written (at most `wait`).
  void disconnect(Nanos wait = kSecond);

  // Platform.
  bool simulated() const override { return false; }
  Nanos now() const override;
  std::vector<NodeInfo> nodes() const override;
  absl::StatusOr<ProcessId> start_process(NodeId node, std::string name, std::unique_ptr<ProcessHost> host) override;
  void kill_process(ProcessId process, std::string_view why) override;
  void watch_process(ProcessId watcher, ProcessId target) override;
  void watch_nodes(ProcessId watcher) override;
  void watch_node_failures(ProcessId watcher) override;
  void spawn(ProcessId process, std::string name, absl::AnyInvocable<void()> body) override;
  void park(const WaitReason& reason) override;
  void unpark(FiberId fiber) override;
  void yield() override;
  void run_parallel(int pool, int lanes, absl::FunctionRef<void()> body) override;
  void enter_turn() override;
  void leave_turn() override;
  TimerId start_timer(ProcessId process, Nanos deadline, absl::AnyInvocable<void()> callback) override;
  void cancel_timer(TimerId timer) override;
  using Platform::send;
  void send(ProcessId from, ProcessId to, std::string payload, Channel channel) override;
  uint64_t random_u64() override;
  absl::Status run() override;
  void stop() override;
  void trace(TraceEvent event) override;
  StorageService& storage() override;
  bool buggify(std::string_view site) override;
  void bind_gpus(ProcessId process, std::vector<uint32_t> devices, int32_t weight) override;
  absl::Status gpu_run(uint32_t device, const gpu::Work& work, absl::FunctionRef<void()>* kernel) override;
  absl::StatusOr<uint64_t> gpu_alloc(uint32_t device, int64_t bytes) override;
  void gpu_free(uint64_t allocation) override;

  // The local platform (for the head's and the members' internals and tests).
  ThreadsPlatform& local();

  struct Impl;

 private:
  explicit ClusterPlatform(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace troupe::cluster
