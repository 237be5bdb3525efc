// Where an actor goes: scheduling strategies (ActorOptions::scheduling), placement groups, and
// what the directory says about a pending actor or group (Ray's scheduling strategies,
// placement groups and `ray list actors` state).
//
//   auto pinned = sys.spawn<Worker>({.scheduling = troupe::NodeAffinity{.node = troupe::NodeId{2}}});
//   auto spread = sys.spawn<Worker>({.scheduling = troupe::Spread{}});
//
//   troupe::PlacementGroupHandle pg = sys.create_placement_group(
//       {.bundles = {{.cpus = 2, .gpus = 1}, {.cpus = 2, .gpus = 1}},
//        .strategy = troupe::PlacementStrategy::kStrictSpread});
//   bool reserved = sys.placement_group_ready(pg, 5s);   // false: placement_group_info(pg) says why
//   auto w = sys.spawn<Worker>({.num_cpus = 2, .num_gpus = 1,
//                               .scheduling = troupe::PlacementGroup{.pg = pg, .bundle = 0}});
//   troupe::ActorInfo info = sys.actor_info(w);   // state, node, gpu_ids, pending_reason, ...
//   sys.remove_placement_group(pg);                // frees the bundles, kills the actors in them
//   auto kept = sys.create_placement_group({.bundles = {{.cpus = 1}},
//                                           .lifetime = troupe::Lifetime::kDetached});  // outlives its creator
//
// Placement rules (all deterministic; docs/semantics.md, "Scheduling"):
//   DefaultScheduling  the node that fits with the most free CPUs; ties to the lowest node id.
//   Spread             the node that fits with the fewest live actors placed on it; ties to the
//                      lowest node id.
//   NodeAffinity       hard (soft = false): only `node`. A node that does not exist, or is down
//                      with no reboot coming, makes the actor unschedulable: it is dead, and its
//                      calls raise ActorUnschedulableError naming the node (also on a restart after
//                      its node crashed for good). A node that is alive but full, or rebooting:
//                      the actor waits with a reason. soft: that node when it fits now, else the
//                      default rule.
//   PlacementGroup     the actor takes its CPUs, memory and GPUs from the reservation of bundle
//                      `bundle` (-1: the lowest-numbered bundle with room), never from the node's
//                      free pool; it waits while the group is not reserved or the bundle is full.
//
// Placement groups are reserved atomically: all bundles or none. The directory places the
// largest bundles first (CPUs, then GPUs, then memory; ties in index order), greedily (it does
// not search other assignments):
//   kPack          all bundles on one node if some node fits them all (most free CPUs first, ties
//                  lowest id); else each bundle on the first node already used by the group that
//                  fits it, else on the node the default rule picks.
//   kSpread        each bundle on the fitting node holding the fewest bundles of the group, then
//                  most free CPUs, then lowest id.
//   kStrictPack    all bundles on one node (most free CPUs first, ties lowest id), or none.
//   kStrictSpread  each bundle on a fitting node that holds no other bundle of the group (most
//                  free CPUs, ties lowest id), or none.
// A group that does not fit now reserves nothing and waits with a reason; it is tried again
// whenever resources are freed (an actor dies, a group is removed, a node comes up). A group
// that can never fit (a bundle larger than every node, STRICT_SPREAD with more bundles than
// nodes, STRICT_PACK larger than every node) is pending with an "infeasible: ..." reason.
//
// Lifetime (Ray's: a group belongs to its job, or is detached): a group belongs to the process
// that created it (the driver, or the worker of the actor that called create_placement_group).
// When that process ends (the driver returns, the actor is killed, exits or crashes, even if it
// restarts as a new incarnation), its groups are removed as by remove_placement_group: their
// actors are killed, their bundles freed, and placement_group_info reports kRemoved with a
// removal_reason ("its creator a2.1 ended (a2.1 was killed by kill())"; a driver is named by its
// process, "p1"). A group created with `lifetime = Lifetime::kDetached` lives until
// remove_placement_group.
//
// A node that crashes: when it will reboot, the bundles stay on it and their actors wait for it
// to come back (a reboot is quicker than moving the reservation, and the node keeps its
// resources). When it crashed for good (NodeInfo: !alive && !rebooting), its bundles are
// rescheduled, as Ray's GCS reschedules the bundles of a dead node: the group goes back to
// kPending with a "rescheduling: ..." reason, its other bundles stay reserved where they are, and
// the lost bundles are reserved again, all or none, by the group's strategy with the other
// bundles kept in view: STRICT_SPREAD on nodes that hold no other bundle of the group; PACK on a
// node the group already uses if one fits, else the default rule; SPREAD on the node holding the
// fewest bundles of the group; STRICT_PACK (all bundles share one node, so all were lost) moves
// the whole group to one node. A bundle that cannot be placed again waits (the reason names it)
// and is retried whenever resources are freed. While rescheduling, placement_group_ready waits
// (or returns false at its timeout) and bundle_nodes is empty; actors already in the kept
// bundles keep running, and actors may be placed in the kept bundles; actors of the lost bundles
// (their workers died with the node) restart by their max_restarts into the replacement bundle,
// whose resources they then use.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "msgpack.hpp"
#include "runtime/ids.h"

namespace troupe {

// Defined in runtime/actor_options.h (kOwned, kDetached), which includes this header: declared
// here with its underlying type, so Lifetime{} is kOwned.
enum class Lifetime;

// A placement group, as returned by System::create_placement_group. Cheap to copy and to pass to
// actors (serializable). `bundles` is the number of bundles, for checks at spawn.
struct PlacementGroupHandle {
  uint64_t id = 0;
  uint32_t bundles = 0;
  bool valid() const { return id != 0; }
  bool operator==(const PlacementGroupHandle&) const = default;
  MSGPACK_DEFINE(id, bundles);
};

// The scheduling strategies of ActorOptions::scheduling.
struct DefaultScheduling {
  bool operator==(const DefaultScheduling&) const = default;
};
struct Spread {
  bool operator==(const Spread&) const = default;
};
struct NodeAffinity {
  NodeId node;
  bool soft = false;
  bool operator==(const NodeAffinity&) const = default;
};
struct PlacementGroup {
  PlacementGroupHandle pg;
  int bundle = -1;  // -1: any bundle with room (the lowest-numbered)
  bool operator==(const PlacementGroup&) const = default;
};
using SchedulingStrategy = std::variant<DefaultScheduling, Spread, NodeAffinity, PlacementGroup>;

enum class PlacementStrategy : uint8_t { kPack = 0, kSpread = 1, kStrictPack = 2, kStrictSpread = 3 };

// One bundle: resources reserved together on one node. gpus follows num_gpus's rules (a share
// of one device to 0.0001, or whole devices).
struct Bundle {
  double cpus = 0;
  double gpus = 0;
  int64_t memory_bytes = 0;
  std::map<std::string, double> resources;  // custom resources (need matching nodes)
};

struct PlacementGroupOptions {
  std::vector<Bundle> bundles;  // at least one
  PlacementStrategy strategy = PlacementStrategy::kPack;
  std::string name;  // for reports; need not be unique
  // kOwned: removed when its creator's process ends; kDetached: lives until removed.
  Lifetime lifetime = Lifetime{};  // Lifetime::kOwned
};

// What the directory knows of an actor (System::actor_info).
struct ActorInfo {
  enum class State { kPending, kAlive, kRestarting, kDead };
  State state = State::kPending;
  std::optional<NodeId> node;       // where it runs (alive, or placed and starting)
  std::vector<uint32_t> gpu_ids;    // its devices on that node
  int restarts = 0;                 // restarts so far
  std::string pending_reason;       // pending or restarting and not placed: why
  std::string death_cause;          // dead: why; restarting: why the last incarnation ended
};

// What the directory knows of a placement group (System::placement_group_info).
struct PlacementGroupInfo {
  enum class State { kPending, kCreated, kRemoved };
  State state = State::kPending;
  std::string pending_reason;          // pending: why (also "rescheduling: ..." after a node died)
  std::vector<NodeId> bundle_nodes;    // created: the node of each bundle, in bundle order
  std::string removal_reason;          // removed by its creator's end: why; else empty
};

}  // namespace troupe
