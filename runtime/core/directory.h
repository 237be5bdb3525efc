// Directory: the cluster's actor directory and scheduler (Ray's GCS), as one process.
//
// It places actors on nodes with enough free resources (CPUs, memory, custom resources),
// starts a worker process per actor, tracks each actor's state (pending, alive, dead with a
// cause), keeps names unique per namespace, and tells the actor's owner and every subscriber
// each state change. An actor no node can ever hold stays pending with a reason; one that could
// fit later waits in a queue and is placed when resources are freed.
//
// Restarts (with optional exponential backoff): the directory watches every worker; when one ends without the directory having ended
// it (a crash, a kill with no_restart = false), the actor restarts as a new incarnation if
// max_restarts allows (state kRestarting is published first), else it is dead with the cause.
// Owners of non-detached actors are watched too: when one dies, its actors are killed.
//
// Placement (deterministic): among nodes that fit, the one with the most free CPUs; ties go to
// the lowest node id.
//
// Not thread-safe: owned by its process, driven by its messages.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "runtime/core/process_runtime.h"
#include "runtime/platform.h"
#include "runtime/wire/messages.h"

namespace troupe::core {

class Directory final : public ProcessHost {
 public:
  explicit Directory(Platform& platform);

  void on_start() override;
  void on_message(ProcessId from, std::string payload) override;
  // A worker ended (a crash, unless the directory ended it) or an owner died.
  void on_process_exit(ProcessId process, std::string_view why) override;
  // A node rebooted: actors waiting for room may fit now.
  void on_node_up(NodeId node) override;

  // The cluster facts workers need; set by the cluster bootstrap before any actor is created.
  void set_config(ClusterConfig config) { config_ = config; }

 private:
  struct ActorRecord {
    wire::ActorSpec spec;
    uint8_t state = wire::ActorState::kPending;
    uint32_t incarnation = 0;  // of the current (or starting) worker
    int restarts_used = 0;
    NodeId node;
    ProcessId worker;
    bool placed = false;
    uint8_t death_status = 0;
    std::string death_cause;
    std::string pending_reason;
    std::set<ProcessId> subscribers;  // ordered: notified in id order
    std::map<uint32_t, uint64_t> answered;  // exited: calls answered per caller (ActorExited)
  };
  struct NodeCapacity {
    NodeInfo info;
    double free_cpus = 0;
    int64_t free_memory = 0;
    std::vector<int32_t> gpu_free;  // per device, in wire::kGpuUnits
  };
  // The devices of `node` that fit `units` (a share: the lowest-numbered device with room, so one
  // fills before the next; whole GPUs: the lowest-numbered fully free ones), or empty.
  static std::vector<uint32_t> fit_gpus(const NodeCapacity& node, int32_t units);

  void on_create(ProcessId from, wire::CreateActor request);
  void on_started(wire::ActorStarted started);
  void on_kill(wire::KillActor kill);
  void on_exited(wire::ActorExited exited);
  void on_subscribe(ProcessId from, wire::SubscribeActor request);
  void on_lookup(ProcessId from, wire::LookupName request);
  // The actor's worker ended without the directory ending it: restart it if its policy allows,
  // else it is dead.
  void on_worker_lost(ActorRecord& actor, std::string_view why);
  void release_resources(ActorRecord& actor);

  // Places `actor` if a node fits now; otherwise records why it waits.
  bool try_place(ActorRecord& actor);
  void place_waiting();
  void mark_dead(ActorRecord& actor, wire::ObjectStatus status, std::string cause);
  void publish(const ActorRecord& actor);
  static wire::ActorState state_of(const ActorRecord& actor);
  // How long to wait before the `restart`-th restart (1 for the first): 0 without backoff.
  static Nanos restart_backoff(const wire::ActorSpec& spec, int restart);
  std::string infeasible_reason(const wire::ActorSpec& spec) const;
  template <typename Body>
  void send(ProcessId to, wire::MessageKind kind, const Body& body);

  Platform& platform_;
  ClusterConfig config_;
  ProcessId self_;
  std::vector<NodeCapacity> nodes_;
  std::map<ActorId, ActorRecord> actors_;
  std::map<std::pair<std::string, std::string>, ActorId> names_;  // (namespace, name)
  std::deque<ActorId> waiting_;  // placement order
  std::map<ProcessId, ActorId> workers_;  // live worker process -> its actor
  std::set<ProcessId> watched_owners_;
  wire::MessageReader reader_;
};

}  // namespace troupe::core
