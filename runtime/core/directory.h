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
// the lowest node id. The other strategies (Spread, NodeAffinity, PlacementGroup) and the
// placement groups' bundle placement are described in runtime/scheduling.h. A GPU the platform
// reports lost (NodeInfo::gpu_lost) is given to no actor or bundle until its node reboots, so an
// actor whose worker crashed with its device restarts on a healthy one, or waits for one (its
// reason names the lost devices).
//
// Placement groups: reserved atomically (all bundles or none) from the nodes' free resources;
// actors placed in a bundle draw from its reservation. Waiting groups are retried before waiting
// actors whenever resources are freed. A group that is not detached is removed when the process
// that created it ends (its creator is watched like an owner). Once it holds a group the
// directory also watches node failures: the bundles of a node that crashed for good are
// rescheduled (runtime/scheduling.h); those of a rebooting node wait for it.
//
// Not thread-safe (but for describe_state): owned by its process, driven by its messages.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
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
  // A node crashed: when for good, the placement-group bundles on it are rescheduled.
  void on_node_down(NodeId node) override;
  // The pending actors and placement groups with their reasons, for wait and deadlock reports.
  // Safe from any thread (the real platform reports while the directory runs): it returns a
  // snapshot the directory rebuilds whenever a pending reason changes.
  std::string describe_state() override;

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
    int bundle = -1;  // placed in this bundle of spec.placement_group
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
  // One bundle of a placement group: its node and what is left of its reservation (gpu_free: per
  // device of the node, the units this bundle reserved there and no actor took).
  struct BundleRecord {
    wire::BundleSpec spec;
    NodeId node;
    std::vector<uint32_t> gpu_ids;  // the devices it reserved
    double free_cpus = 0;
    int64_t free_memory = 0;
    std::vector<int32_t> gpu_free;
    // Its node crashed for good: nothing is reserved for it (`node` is where it was) until it is
    // rescheduled.
    bool lost = false;
  };
  struct GroupRecord {
    enum State : uint8_t { kPending = 0, kCreated = 1, kRemoved = 2 };
    wire::CreatePlacementGroup spec;
    uint8_t state = kPending;
    std::string pending_reason;
    // When created; while pending after a node died for good (rescheduling), the kept bundles
    // and the lost ones (BundleRecord::lost).
    std::vector<BundleRecord> bundles;
    std::string creator;         // the creating actor ("a2.1") or process ("p1"), for the removal reason
    std::string removal_reason;  // removed because its creator ended: why
    std::vector<std::pair<ProcessId, uint64_t>> ready_waiters;  // Describe{wait_ready} rpcs
  };
  // The devices of `gpu_free` (per device, units free) that fit `units` (a share: the
  // lowest-numbered device with room, so one fills before the next; whole GPUs: the
  // lowest-numbered fully free ones), or empty. Devices marked in `lost` (NodeInfo::gpu_lost) are
  // never chosen.
  static std::vector<uint32_t> fit_gpus(const std::vector<int32_t>& gpu_free, int32_t units,
                                        const std::vector<bool>& lost);

  void on_create(ProcessId from, wire::CreateActor request);
  void on_started(wire::ActorStarted started);
  void on_kill(wire::KillActor kill);
  void on_exited(wire::ActorExited exited);
  void on_subscribe(ProcessId from, wire::SubscribeActor request);
  void on_lookup(ProcessId from, wire::LookupName request);
  void on_create_group(wire::CreatePlacementGroup request);
  void on_remove_group(wire::RemovePlacementGroup request);
  // Removes the group: kills its actors, frees its bundles. `reason`: empty for
  // remove_placement_group, else why (its creator ended), given to its actors' death causes.
  void remove_group(uint64_t id, const std::string& reason);
  // Marks the bundles on nodes that crashed for good as lost, restarts (by policy) the actors
  // that were in them, and tries to reserve them again.
  void reschedule_lost_bundles();
  void on_describe(ProcessId from, wire::Describe request);
  wire::DescribeReply describe_group(const GroupRecord& group) const;
  // The actor's worker ended without the directory ending it: restart it if its policy allows,
  // else it is dead.
  void on_worker_lost(ActorRecord& actor, std::string_view why);
  void release_resources(ActorRecord& actor);

  // Places `actor` if a node fits now; otherwise records why it waits. True when it is done
  // waiting (placed, or found unschedulable and dead).
  bool try_place(ActorRecord& actor);
  // Where an actor that is not in a placement group goes now, by its strategy (gpus: the devices
  // it gets there); nullptr when it must wait (`reason` says why).
  NodeCapacity* choose_node(const wire::ActorSpec& spec, std::vector<uint32_t>& gpus, std::string& reason);
  // Reserves `group` if all its bundles fit now; otherwise records why it waits.
  bool try_reserve(GroupRecord& group);
  // Assigns every bundle of `spec` to a node of `nodes` by its strategy, taking their resources
  // from `nodes`; false (with the first bundle that did not fit in `failed`) when one does not fit.
  // With `current` (rescheduling), only its lost bundles are assigned; the others are kept in
  // `out` as they are and count for the strategy (nodes used, bundles per node).
  static bool assign_bundles(const wire::CreatePlacementGroup& spec, std::vector<NodeCapacity>& nodes,
                             std::vector<BundleRecord>& out, size_t& failed,
                             const std::vector<BundleRecord>* current = nullptr);
  // Why the lost bundles of a rescheduling group do not fit now (`failed`: the first that did not;
  // kNotTried: before trying, the lost bundles only).
  static constexpr size_t kNotTried = ~size_t{0};
  std::string rescheduling_reason(const GroupRecord& group, size_t failed) const;
  std::string group_infeasible_reason(const wire::CreatePlacementGroup& spec) const;
  void set_pending(ActorRecord& actor, std::string reason);
  // Rebuilds the describe_state() snapshot (a pending reason or group state changed).
  void report_changed();
  void refresh_liveness();
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
  // The platform's nodes_version() when nodes_ last took liveness from nodes(); 0: take it again.
  uint64_t nodes_version_seen_ = 0;
  std::map<ActorId, ActorRecord> actors_;
  std::map<std::pair<std::string, std::string>, ActorId> names_;  // (namespace, name)
  std::deque<ActorId> waiting_;  // placement order
  std::map<uint64_t, GroupRecord> groups_;
  std::deque<uint64_t> waiting_groups_;  // creation order
  bool defer_placement_ = false;
  std::mutex report_mutex_;
  std::string report_;  // guarded by report_mutex_  // removing a group: its actors die first, then others are placed
  std::map<ProcessId, ActorId> workers_;  // live worker process -> its actor
  std::set<ProcessId> watched_owners_;
  bool watching_node_failures_ = false;  // asked once the first placement group is created
  wire::MessageReader reader_;
};

}  // namespace troupe::core
