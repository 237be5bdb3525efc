#include "runtime/core/directory.h"

#include <algorithm>
#include <cassert>
#include <memory>
#include <optional>
#include <type_traits>

#include "fmt/format.h"
#include "runtime/scheduling.h"

namespace troupe::core {

using wire::MessageKind;
using wire::ObjectStatus;

Directory::Directory(Platform& platform) : platform_(platform) {}

void Directory::on_start() {
  self_ = ExecutionContext::current()->process;
  for (const NodeInfo& info : platform_.nodes()) {
    nodes_.push_back({.info = info, .free_cpus = info.cpus, .free_memory = info.memory_bytes,
                      .gpu_free = std::vector<int32_t>(static_cast<size_t>(std::max(info.gpus, 0)), wire::kGpuUnits)});
  }
  platform_.watch_nodes(self_);
}

void Directory::on_node_up(NodeId node) {
  platform_.trace({.kind = TraceKind::kActorCreate, .detail = fmt::format("node {} is up: placing waiting actors", node)});
  place_waiting();
}

void Directory::on_node_down(NodeId node) {
  refresh_liveness();
  if (node.value >= nodes_.size() || nodes_[node.value].info.alive) return;  // back already
  if (nodes_[node.value].info.rebooting) {
    // Its bundles stay: their actors wait for the reboot (try_place says so).
    platform_.trace({.kind = TraceKind::kActorCreate,
                     .detail = fmt::format("node {} is down and will reboot: its bundles wait for it", node)});
    return;
  }
  reschedule_lost_bundles();
}

template <typename Body>
void Directory::send(ProcessId to, MessageKind kind, const Body& body) {
  platform_.send(self_, to, wire::encode_message(kind, body), Channel::kControl);
}

void Directory::on_message(ProcessId from, std::string payload) {
  absl::StatusOr<wire::Envelope> envelope = reader_.open(payload);
  if (!envelope.ok()) {
    platform_.trace({.kind = TraceKind::kDrop, .peer = from, .detail = std::string(envelope.status().message())});
    return;
  }
  // The body as an M, or nullopt after tracing it as a malformed request.
  auto decode = [&]<typename M>(std::type_identity<M>) {
    std::optional<M> body = wire::body_as<M>(*envelope);
    if (!body) platform_.trace({.kind = TraceKind::kDrop, .peer = from, .detail = "malformed directory request"});
    return body;
  };
  using std::type_identity;
  switch (envelope->kind) {
    case MessageKind::kCreateActor:
      if (auto m = decode(type_identity<wire::CreateActor>())) on_create(from, std::move(*m));
      break;
    case MessageKind::kActorStarted:
      if (auto m = decode(type_identity<wire::ActorStarted>())) on_started(std::move(*m));
      break;
    case MessageKind::kKillActor:
      if (auto m = decode(type_identity<wire::KillActor>())) on_kill(*m);
      break;
    case MessageKind::kActorExited:
      if (auto m = decode(type_identity<wire::ActorExited>())) on_exited(*m);
      break;
    case MessageKind::kSubscribeActor:
      if (auto m = decode(type_identity<wire::SubscribeActor>())) on_subscribe(from, *m);
      break;
    case MessageKind::kLookupName:
      if (auto m = decode(type_identity<wire::LookupName>())) on_lookup(from, std::move(*m));
      break;
    case MessageKind::kCreatePlacementGroup:
      if (auto m = decode(type_identity<wire::CreatePlacementGroup>())) on_create_group(std::move(*m));
      break;
    case MessageKind::kRemovePlacementGroup:
      if (auto m = decode(type_identity<wire::RemovePlacementGroup>())) on_remove_group(*m);
      break;
    case MessageKind::kDescribe:
      if (auto m = decode(type_identity<wire::Describe>())) on_describe(from, *m);
      break;
    default:
      platform_.trace({.kind = TraceKind::kDrop, .peer = from,
                       .detail = fmt::format("directory got unexpected {}", wire::message_kind_name(envelope->kind))});
  }
}

void Directory::on_create(ProcessId from, wire::CreateActor request) {
  wire::ActorSpec& spec = request.spec;
  ActorId id = ActorId::unpack(spec.actor);
  auto reply = [&](uint8_t outcome, ActorId actor, std::string class_name, std::string error) {
    if (request.rpc == 0) return;
    send(from, MessageKind::kCreateActorReply,
         wire::CreateActorReply{.rpc = request.rpc, .outcome = outcome, .actor = actor.packed(),
                                .class_name = std::move(class_name), .error = std::move(error)});
  };
  if (spec.num_cpus < 0 || spec.memory_bytes < 0) {
    reply(wire::CreateActorReply::kInvalid, id, "",
          fmt::format("invalid resources for {}: num_cpus {} and memory_bytes {} must not be negative",
                      spec.class_name, spec.num_cpus, spec.memory_bytes));
    return;
  }
  if (!spec.name.empty()) {
    auto key = std::make_pair(spec.ns, spec.name);
    auto it = names_.find(key);
    if (it != names_.end()) {
      const ActorRecord& existing = actors_.at(it->second);
      if (spec.get_if_exists) {
        reply(wire::CreateActorReply::kExisting, it->second, existing.spec.class_name, "");
      } else {
        reply(wire::CreateActorReply::kNameTaken, it->second, existing.spec.class_name,
              fmt::format("the actor name '{}' is taken in namespace '{}' by {} ({})", spec.name, spec.ns, it->second,
                          existing.spec.class_name));
      }
      return;
    }
    names_.emplace(key, id);
  }
  ActorRecord& actor = actors_[id];
  actor.spec = std::move(spec);
  ProcessId owner{actor.spec.owner};
  actor.subscribers.insert(owner);
  if (!actor.spec.detached && watched_owners_.insert(owner).second) platform_.watch_process(self_, owner);
  platform_.trace({.kind = TraceKind::kActorCreate, .actor = id,
                   .detail = fmt::format("{} cpus={} name='{}' ns='{}'", actor.spec.class_name, actor.spec.num_cpus,
                                         actor.spec.name, actor.spec.ns)});
  reply(wire::CreateActorReply::kCreated, id, actor.spec.class_name, "");
  if (!try_place(actor)) waiting_.push_back(id);
}

std::string Directory::infeasible_reason(const wire::ActorSpec& spec) const {
  double max_cpus = 0;
  int64_t max_memory = 0;
  int max_gpus = 0;
  for (const NodeCapacity& node : nodes_) {  // down nodes count: they may reboot
    max_cpus = std::max(max_cpus, node.info.cpus);
    max_memory = std::max(max_memory, node.info.memory_bytes);
    max_gpus = std::max(max_gpus, node.info.gpus);
  }
  const int gpus_needed = (spec.gpu_units + wire::kGpuUnits - 1) / wire::kGpuUnits;
  if (gpus_needed > max_gpus) {
    const double gpus = spec.gpu_units / double{wire::kGpuUnits};
    return fmt::format("infeasible: needs {:g} GPU{}, the largest node has {}", gpus, gpus > 1 ? "s" : "", max_gpus);
  }
  if (spec.num_cpus > max_cpus) {
    return fmt::format("infeasible: needs {} CPUs, the largest node has {}", spec.num_cpus, max_cpus);
  }
  if (spec.memory_bytes > max_memory) {
    return fmt::format("infeasible: needs {} bytes of memory, the largest node has {}", spec.memory_bytes, max_memory);
  }
  for (const auto& [resource, amount] : spec.resources) {
    if (amount > 0) return fmt::format("infeasible: needs {} of resource '{}', which no node has", amount, resource);
  }
  return "";
}

std::vector<uint32_t> Directory::fit_gpus(const std::vector<int32_t>& gpu_free, int32_t units,
                                          const std::vector<bool>& lost) {
  std::vector<uint32_t> devices;
  if (units <= 0) return devices;
  const auto usable = [&](uint32_t device) { return device >= lost.size() || !lost[device]; };
  if (units < wire::kGpuUnits) {
    for (uint32_t device = 0; device < gpu_free.size(); ++device) {
      if (gpu_free[device] >= units && usable(device)) return {device};
    }
    return devices;
  }
  const size_t whole = static_cast<size_t>(units / wire::kGpuUnits);
  for (uint32_t device = 0; device < gpu_free.size() && devices.size() < whole; ++device) {
    if (gpu_free[device] == wire::kGpuUnits && usable(device)) devices.push_back(device);
  }
  if (devices.size() < whole) devices.clear();
  return devices;
}

namespace {

std::string group_label(uint64_t group) {
  return fmt::format("pg{}.{}", static_cast<uint32_t>(group >> 32), static_cast<uint32_t>(group));
}

std::string_view strategy_name(uint8_t strategy) {
  switch (strategy) {
    case 0: return "PACK";
    case 1: return "SPREAD";
    case 2: return "STRICT_PACK";
    case 3: return "STRICT_SPREAD";
  }
  return "?";
}

double gpus_of(int32_t units) { return units / double{wire::kGpuUnits}; }

// "2 CPUs, 0 bytes and 0.5 GPUs"
std::string amounts(double cpus, int64_t memory, int32_t gpu_units) {
  return fmt::format("{} CPUs, {} bytes and {:g} GPUs", cpus, memory, gpus_of(gpu_units));
}

// Per device of a node with `devices` GPUs: what `units` on `ids` take from each.
std::vector<int32_t> gpu_vector(size_t devices, const std::vector<uint32_t>& ids, int32_t units) {
  std::vector<int32_t> out(devices, 0);
  const int32_t per_device = std::min(units, wire::kGpuUnits);
  for (uint32_t device : ids) out[device] += per_device;
  return out;
}

}  // namespace

void Directory::set_pending(ActorRecord& actor, std::string reason) {
  if (actor.pending_reason == reason) return;
  actor.pending_reason = std::move(reason);
  platform_.trace({.kind = TraceKind::kActorCreate, .actor = ActorId::unpack(actor.spec.actor),
                   .detail = "pending: " + actor.pending_reason});
  report_changed();
}

void Directory::refresh_liveness() {
  // Nothing changed since the last look (the simulator says so): skip the copy, which costs as
  // much as a placement's scan of a thousand nodes.
  const uint64_t version = platform_.nodes_version();
  if (version != 0 && version == nodes_version_seen_) return;
  nodes_version_seen_ = version;
  std::vector<NodeInfo> current = platform_.nodes();  // liveness changes (node crash, reboot)
  for (size_t i = 0; i < nodes_.size() && i < current.size(); ++i) {
    nodes_[i].info.alive = current[i].alive;
    nodes_[i].info.rebooting = current[i].rebooting;
    nodes_[i].info.gpu_lost = current[i].gpu_lost;  // a lost GPU is given to no one until a reboot
  }
  // Nodes that joined since (a real cluster's `troupe node`; the simulator's nodes are fixed).
  for (size_t i = nodes_.size(); i < current.size(); ++i) {
    const NodeInfo& info = current[i];
    nodes_.push_back({.info = info, .free_cpus = info.cpus, .free_memory = info.memory_bytes,
                      .gpu_free = std::vector<int32_t>(static_cast<size_t>(std::max(info.gpus, 0)), wire::kGpuUnits)});
  }
}

bool Directory::try_place(ActorRecord& actor) {
  const wire::ActorSpec& spec = actor.spec;
  ActorId id = ActorId::unpack(spec.actor);
  NodeCapacity* target = nullptr;
  BundleRecord* bundle = nullptr;
  int bundle_index = -1;
  std::vector<uint32_t> gpus;
  refresh_liveness();
  if (spec.scheduling == wire::ActorSpec::kPlacementGroup) {
    const std::string label = group_label(spec.placement_group);
    auto found = groups_.find(spec.placement_group);
    if (found == groups_.end()) {
      set_pending(actor, fmt::format("waiting for placement group {} to be created", label));
      return false;
    }
    GroupRecord& group = found->second;
    if (group.state == GroupRecord::kRemoved) {
      mark_dead(actor, ObjectStatus::kUnschedulable,
                fmt::format("{} {} is unschedulable: its placement group {} was removed{}{}", id, spec.class_name,
                            label, group.removal_reason.empty() ? "" : ": ", group.removal_reason));
      return true;
    }
    if (spec.bundle >= 0 && static_cast<size_t>(spec.bundle) >= group.spec.bundles.size()) {
      mark_dead(actor, ObjectStatus::kUnschedulable,
                fmt::format("{} {} is unschedulable: placement group {} has no bundle {} (it has {})", id,
                            spec.class_name, label, spec.bundle, group.spec.bundles.size()));
      return true;
    }
    if (group.state == GroupRecord::kPending && group.bundles.empty()) {
      set_pending(actor, fmt::format("waiting for placement group {} to be reserved ({})", label, group.pending_reason));
      return false;
    }
    // Created, or rescheduling (pending with bundles): the kept bundles take actors, the lost
    // ones wait to be reserved again.
    bool any_feasible = false;
    bool lost = false;
    const NodeId* down = nullptr;
    for (size_t b = 0; b < group.bundles.size() && target == nullptr; ++b) {
      if (spec.bundle >= 0 && b != static_cast<size_t>(spec.bundle)) continue;
      BundleRecord& candidate = group.bundles[b];
      NodeCapacity& node = nodes_[candidate.node.value];
      bool custom = false;
      for (const auto& [resource, amount] : spec.resources) custom |= amount > 0;
      const std::vector<int32_t> reserved =
          gpu_vector(candidate.gpu_free.size(), candidate.gpu_ids, candidate.spec.gpu_units);
      if (custom || spec.num_cpus > candidate.spec.cpus || spec.memory_bytes > candidate.spec.memory_bytes ||
          (spec.gpu_units > 0 && fit_gpus(reserved, spec.gpu_units, {}).empty())) {
        continue;
      }
      any_feasible = true;
      if (candidate.lost) {
        lost = true;
        continue;
      }
      if (!node.info.alive) {
        down = &candidate.node;
        continue;
      }
      if (candidate.free_cpus < spec.num_cpus || candidate.free_memory < spec.memory_bytes) continue;
      std::vector<uint32_t> devices = fit_gpus(candidate.gpu_free, spec.gpu_units, node.info.gpu_lost);
      if (spec.gpu_units > 0 && devices.empty()) continue;
      target = &node;
      bundle = &candidate;
      bundle_index = static_cast<int>(b);
      gpus = std::move(devices);
    }
    if (target == nullptr) {
      const std::string which =
          spec.bundle >= 0 ? fmt::format("bundle {} of placement group {}", spec.bundle, label)
                           : fmt::format("any bundle of placement group {}", label);
      if (!any_feasible) {
        set_pending(actor, fmt::format("infeasible: needs {}, more than {} reserves", 
                                       amounts(spec.num_cpus, spec.memory_bytes, spec.gpu_units), which));
      } else if (lost) {
        set_pending(actor, fmt::format("waiting for placement group {} to be reserved again ({})", label,
                                       group.pending_reason));
      } else if (down != nullptr) {
        set_pending(actor, fmt::format("waiting for node {} of {} to come back", *down, which));
      } else {
        set_pending(actor, fmt::format("waiting for resources: needs {}; {} has not that much left",
                                       amounts(spec.num_cpus, spec.memory_bytes, spec.gpu_units), which));
      }
      return false;
    }
  } else {
    if (spec.scheduling == wire::ActorSpec::kNodeAffinity && !spec.affinity_soft) {
      const NodeId wanted{spec.affinity_node};
      std::string why;
      if (wanted.value >= nodes_.size()) {
        why = fmt::format("which does not exist (the cluster has nodes n0 to n{})", nodes_.size() - 1);
      } else if (!nodes_[wanted.value].info.alive && !nodes_[wanted.value].info.rebooting) {
        why = "which is dead";
      }
      if (!why.empty()) {
        mark_dead(actor, ObjectStatus::kUnschedulable,
                  fmt::format("{} {} is unschedulable: its hard node affinity names node {}, {}", id, spec.class_name,
                              wanted, why));
        return true;
      }
      const NodeInfo& info = nodes_[wanted.value].info;
      bool custom = false;
      for (const auto& [resource, amount] : spec.resources) custom |= amount > 0;
      if (custom || spec.num_cpus > info.cpus || spec.memory_bytes > info.memory_bytes ||
          (spec.gpu_units + wire::kGpuUnits - 1) / wire::kGpuUnits > info.gpus) {
        set_pending(actor, fmt::format("infeasible: needs {}{}; node {} (hard node affinity) has {} CPUs, {} bytes and "
                                       "{} GPUs",
                                       amounts(spec.num_cpus, spec.memory_bytes, spec.gpu_units),
                                       custom ? " and custom resources" : "", wanted, info.cpus, info.memory_bytes,
                                       info.gpus));
        return false;
      }
    } else {
      std::string infeasible = infeasible_reason(spec);
      if (!infeasible.empty()) {
        set_pending(actor, std::move(infeasible));
        return false;
      }
    }
    std::string reason;
    target = choose_node(spec, gpus, reason);
    if (target == nullptr) {
      set_pending(actor, std::move(reason));
      return false;
    }
  }
  // Takes the actor's resources from its bundle or node (sign 1), or gives them back (sign -1).
  auto charge = [&, per_device = std::min(spec.gpu_units, wire::kGpuUnits)](int sign,
                                                                          const std::vector<uint32_t>& devices) {
    double& cpus = bundle != nullptr ? bundle->free_cpus : target->free_cpus;
    int64_t& memory = bundle != nullptr ? bundle->free_memory : target->free_memory;
    std::vector<int32_t>& gpu_free = bundle != nullptr ? bundle->gpu_free : target->gpu_free;
    cpus -= sign * spec.num_cpus;
    memory -= sign * spec.memory_bytes;
    for (uint32_t device : devices) gpu_free[device] -= sign * per_device;
  };
  charge(1, gpus);
  actor.spec.gpu_ids = std::move(gpus);
  actor.node = target->info.id;
  actor.placed = true;
  actor.bundle = bundle_index;
  if (!actor.pending_reason.empty()) {
    actor.pending_reason.clear();
    report_changed();
  }
  actor.spec.incarnation = actor.incarnation;
  absl::StatusOr<ProcessId> worker =
      platform_.start_process(target->info.id, fmt::format("{} {}", id, spec.class_name),
                              std::make_unique<ProcessRuntime>(platform_, config_, wire::encode(actor.spec)));
  if (!worker.ok() && absl::IsUnavailable(worker.status()) && target->info.alive) {
    // The node died after the last look at liveness (a real cluster's head can know before this
    // process hears of it): give the reservation back, count the node as down, and place again.
    charge(-1, actor.spec.gpu_ids);
    actor.spec.gpu_ids.clear();
    actor.placed = false;
    target->info.alive = false;
    nodes_version_seen_ = 0;  // this view now differs from the platform's: take it again next time
    return try_place(actor);
  }
  if (!worker.ok()) {
    mark_dead(actor, ObjectStatus::kActorDied, fmt::format("its worker could not start: {}", std::string(worker.status().message())));
    return true;
  }
  actor.worker = *worker;
  workers_[*worker] = id;
  platform_.watch_process(self_, *worker);
  return true;
}

Directory::NodeCapacity* Directory::choose_node(const wire::ActorSpec& spec, std::vector<uint32_t>& gpus,
                                                std::string& reason) {
  auto fits = [&](NodeCapacity& node, std::vector<uint32_t>& devices) {
    if (!node.info.alive || node.free_cpus < spec.num_cpus || node.free_memory < spec.memory_bytes) return false;
    devices = fit_gpus(node.gpu_free, spec.gpu_units, node.info.gpu_lost);
    return spec.gpu_units == 0 || !devices.empty();
  };
  if (spec.scheduling == wire::ActorSpec::kNodeAffinity && spec.affinity_node < nodes_.size()) {
    NodeCapacity& node = nodes_[spec.affinity_node];
    if (fits(node, gpus)) return &node;
    if (!spec.affinity_soft) {
      reason = !node.info.alive
                   ? fmt::format("waiting for node {} (hard node affinity) to come back", node.info.id)
                   : fmt::format("waiting for resources on node {} (hard node affinity): needs {}; it has {} CPUs, {} "
                                 "bytes free",
                                 node.info.id, amounts(spec.num_cpus, spec.memory_bytes, spec.gpu_units),
                                 node.free_cpus, node.free_memory);
      return nullptr;
    }
  }
  NodeCapacity* best = nullptr;
  if (spec.scheduling == wire::ActorSpec::kSpread) {
    // The fitting node with the fewest live actors placed on it; ties to the lowest id.
    std::vector<int> placed(nodes_.size(), 0);
    for (const auto& [other_id, other] : actors_) {
      if (other.placed) ++placed[other.node.value];
    }
    for (NodeCapacity& node : nodes_) {
      std::vector<uint32_t> devices;
      if (!fits(node, devices)) continue;
      if (best == nullptr || placed[node.info.id.value] < placed[best->info.id.value]) {
        best = &node;
        gpus = std::move(devices);
      }
    }
  } else {
    for (NodeCapacity& node : nodes_) {
      std::vector<uint32_t> devices;
      if (!fits(node, devices)) continue;
      if (best == nullptr || node.free_cpus > best->free_cpus) {
        best = &node;
        gpus = std::move(devices);
      }
    }
  }
  if (best == nullptr) {
    reason = spec.gpu_units == 0
                 ? fmt::format("waiting for resources: needs {} CPUs and {} bytes; no node has them free", spec.num_cpus,
                               spec.memory_bytes)
                 : fmt::format("waiting for resources: needs {} CPUs, {} bytes and {:g} GPUs; no node has them free",
                               spec.num_cpus, spec.memory_bytes, gpus_of(spec.gpu_units));
    std::string lost;
    for (const NodeCapacity& node : nodes_) {
      for (uint32_t device = 0; spec.gpu_units > 0 && device < node.info.gpu_lost.size(); ++device) {
        if (node.info.gpu_lost[device]) lost += fmt::format("{}GPU {} of {}", lost.empty() ? "" : ", ", device, node.info.id);
      }
    }
    if (!lost.empty()) reason += fmt::format(" (lost until their node reboots: {})", lost);
  }
  return best;
}

bool Directory::assign_bundles(const wire::CreatePlacementGroup& spec, std::vector<NodeCapacity>& nodes,
                               std::vector<BundleRecord>& out, size_t& failed,
                               const std::vector<BundleRecord>* current) {
  out.assign(spec.bundles.size(), BundleRecord{});
  if (current != nullptr) out = *current;  // the kept bundles stay as they are
  // Largest bundles first (CPUs, then GPUs, then memory; ties in index order): first fit
  // decreasing, so a small bundle does not take the only node a large one fits.
  std::vector<size_t> by_size(spec.bundles.size());
  for (size_t i = 0; i < by_size.size(); ++i) by_size[i] = i;
  std::stable_sort(by_size.begin(), by_size.end(), [&](size_t a, size_t b) {
    const wire::BundleSpec& x = spec.bundles[a];
    const wire::BundleSpec& y = spec.bundles[b];
    if (x.cpus != y.cpus) return x.cpus > y.cpus;
    if (x.gpu_units != y.gpu_units) return x.gpu_units > y.gpu_units;
    return x.memory_bytes > y.memory_bytes;
  });
  std::vector<int> count(nodes.size(), 0);  // bundles of this group per node
  std::vector<size_t> used;                 // nodes in order of first use
  if (current != nullptr) {  // rescheduling: assign the lost bundles; the kept ones count
    std::erase_if(by_size, [&](size_t i) { return !(*current)[i].lost; });
    for (const BundleRecord& kept : *current) {
      if (!kept.lost && count[kept.node.value]++ == 0) used.push_back(kept.node.value);
    }
  }
  auto fits = [](const NodeCapacity& node, const wire::BundleSpec& b, std::vector<uint32_t>& devices) {
    if (!node.info.alive || node.free_cpus < b.cpus || node.free_memory < b.memory_bytes) return false;
    for (const auto& [resource, amount] : b.resources) {
      if (amount > 0) return false;  // nodes have no custom resources
    }
    devices = fit_gpus(node.gpu_free, b.gpu_units, node.info.gpu_lost);
    return b.gpu_units == 0 || !devices.empty();
  };
  auto take = [&](size_t n, size_t i, const std::vector<uint32_t>& devices) {
    const wire::BundleSpec& b = spec.bundles[i];
    NodeCapacity& node = nodes[n];
    node.free_cpus -= b.cpus;
    node.free_memory -= b.memory_bytes;
    const int32_t per_device = std::min(b.gpu_units, wire::kGpuUnits);
    for (uint32_t device : devices) node.gpu_free[device] -= per_device;
    out[i] = {.spec = b, .node = node.info.id, .gpu_ids = devices, .free_cpus = b.cpus,
              .free_memory = b.memory_bytes, .gpu_free = gpu_vector(node.gpu_free.size(), devices, b.gpu_units)};
    if (count[n]++ == 0) used.push_back(n);
  };
  const auto strategy = static_cast<PlacementStrategy>(spec.strategy);
  if ((strategy == PlacementStrategy::kPack || strategy == PlacementStrategy::kStrictPack) && used.empty()) {
    // All on one node: the nodes by most free CPUs, ties lowest id.
    std::vector<size_t> order(nodes.size());
    for (size_t n = 0; n < order.size(); ++n) order[n] = n;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return nodes[a].free_cpus > nodes[b].free_cpus; });
    for (size_t n : order) {
      NodeCapacity trial = nodes[n];
      bool all = true;
      for (size_t i : by_size) {
        const wire::BundleSpec& b = spec.bundles[i];
        std::vector<uint32_t> devices;
        if (!fits(trial, b, devices)) {
          all = false;
          break;
        }
        trial.free_cpus -= b.cpus;
        trial.free_memory -= b.memory_bytes;
        for (uint32_t device : devices) trial.gpu_free[device] -= std::min(b.gpu_units, wire::kGpuUnits);
      }
      if (!all) continue;
      for (size_t i : by_size) {
        std::vector<uint32_t> devices;
        fits(nodes[n], spec.bundles[i], devices);
        take(n, i, devices);
      }
      return true;
    }
    if (strategy == PlacementStrategy::kStrictPack) {
      failed = 0;
      out.clear();
      return false;
    }
  }
  for (size_t i : by_size) {
    const wire::BundleSpec& b = spec.bundles[i];
    std::optional<size_t> best;
    std::vector<uint32_t> best_devices;
    // kStrictPack gets here only when rescheduling with kept bundles: their node or none.
    if (strategy == PlacementStrategy::kPack || strategy == PlacementStrategy::kStrictPack) {
      for (size_t n : used) {
        std::vector<uint32_t> devices;
        if (fits(nodes[n], b, devices)) {
          best = n;
          best_devices = std::move(devices);
          break;
        }
      }
    }
    if (!best && strategy != PlacementStrategy::kStrictPack) {
      // kPack: no node the group uses fits; the others: every fitting node competes.
      for (size_t m = 0; m < nodes.size(); ++m) {
        std::vector<uint32_t> devices;
        if (!fits(nodes[m], b, devices)) continue;
        if (strategy == PlacementStrategy::kStrictSpread && count[m] > 0) continue;
        bool better = !best;
        if (best && strategy == PlacementStrategy::kSpread && count[m] != count[*best]) {
          better = count[m] < count[*best];
        } else if (best) {
          better = nodes[m].free_cpus > nodes[*best].free_cpus;
        }
        if (better) {
          best = m;
          best_devices = std::move(devices);
        }
      }
    }
    if (!best) {
      failed = i;
      out.clear();
      return false;
    }
    take(*best, i, best_devices);
  }
  return true;
}

std::string Directory::group_infeasible_reason(const wire::CreatePlacementGroup& spec) const {
  for (size_t i = 0; i < spec.bundles.size(); ++i) {
    const wire::BundleSpec& b = spec.bundles[i];
    wire::ActorSpec as_actor;
    as_actor.num_cpus = b.cpus;
    as_actor.memory_bytes = b.memory_bytes;
    as_actor.gpu_units = b.gpu_units;
    as_actor.resources = b.resources;
    std::string reason = infeasible_reason(as_actor);
    if (!reason.empty()) {
      const std::string_view prefix = "infeasible: ";
      return fmt::format("infeasible: bundle {} {}", i, reason.substr(prefix.size()));
    }
  }
  if (static_cast<PlacementStrategy>(spec.strategy) == PlacementStrategy::kStrictSpread &&
      spec.bundles.size() > nodes_.size()) {
    return fmt::format("infeasible: STRICT_SPREAD puts each of its {} bundles on a different node, and the cluster has "
                       "{} nodes",
                       spec.bundles.size(), nodes_.size());
  }
  std::vector<NodeCapacity> empty = nodes_;  // every node up and free: down nodes may reboot
  for (NodeCapacity& node : empty) {
    node.info.alive = true;
    node.free_cpus = node.info.cpus;
    node.free_memory = node.info.memory_bytes;
    node.gpu_free.assign(node.gpu_free.size(), wire::kGpuUnits);
    node.info.gpu_lost.assign(node.info.gpu_lost.size(), false);  // a reboot brings lost GPUs back
  }
  std::vector<BundleRecord> ignored;
  size_t failed = 0;
  if (!assign_bundles(spec, empty, ignored, failed)) {
    return fmt::format("infeasible: its {} bundles do not fit ({}) even on the empty cluster", spec.bundles.size(),
                       strategy_name(spec.strategy));
  }
  return "";
}

bool Directory::try_reserve(GroupRecord& group) {
  if (group.state != GroupRecord::kPending) return true;
  refresh_liveness();
  const std::string label = group_label(group.spec.group);
  // Rescheduling (pending with bundles): only the lost bundles are placed, next to the kept ones.
  const bool rescheduling = !group.bundles.empty();
  std::string reason = rescheduling ? "" : group_infeasible_reason(group.spec);
  std::vector<NodeCapacity> trial = nodes_;
  std::vector<BundleRecord> bundles;
  size_t failed = 0;
  if (reason.empty() &&
      !assign_bundles(group.spec, trial, bundles, failed, rescheduling ? &group.bundles : nullptr)) {
    const auto strategy = static_cast<PlacementStrategy>(group.spec.strategy);
    if (rescheduling) {
      reason = rescheduling_reason(group, failed);
    } else if (strategy == PlacementStrategy::kStrictPack) {
      double cpus = 0;
      int64_t memory = 0;
      int32_t units = 0;
      for (const wire::BundleSpec& b : group.spec.bundles) {
        cpus += b.cpus;
        memory += b.memory_bytes;
        units += b.gpu_units;
      }
      reason = fmt::format("waiting for resources: no node has its {} bundles ({} in all) free together "
                           "(STRICT_PACK); nothing is reserved until they fit",
                           group.spec.bundles.size(), amounts(cpus, memory, units));
    } else {
      const wire::BundleSpec& b = group.spec.bundles[failed];
      reason = fmt::format("waiting for resources: bundle {} ({}) fits no {} ({}); nothing is reserved until all {} "
                           "bundles fit",
                           failed, amounts(b.cpus, b.memory_bytes, b.gpu_units),
                           strategy == PlacementStrategy::kStrictSpread ? "node free of the group's other bundles"
                                                                        : "node's free resources",
                           strategy_name(group.spec.strategy), group.spec.bundles.size());
    }
  }
  if (!reason.empty()) {
    if (group.pending_reason != reason) {
      group.pending_reason = reason;
      platform_.trace({.kind = TraceKind::kActorCreate, .detail = fmt::format("{} pending: {}", label, reason)});
      report_changed();
    }
    return false;
  }
  nodes_ = std::move(trial);
  group.bundles = std::move(bundles);
  group.state = GroupRecord::kCreated;
  group.pending_reason.clear();
  report_changed();
  std::string where;
  for (const BundleRecord& b : group.bundles) where += fmt::format("{}{}", where.empty() ? "" : " ", b.node);
  platform_.trace({.kind = TraceKind::kActorCreate,
                   .detail = fmt::format("{} {} on {}", label, rescheduling ? "rescheduled" : "reserved", where)});
  wire::DescribeReply reply = describe_group(group);
  for (const auto& [waiter, rpc] : group.ready_waiters) {
    reply.rpc = rpc;
    send(waiter, MessageKind::kDescribeReply, reply);
  }
  group.ready_waiters.clear();
  return true;
}

namespace {

// "2", "1 and 2", "0, 1 and 2"
template <typename T>
std::string listing(const std::vector<T>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    out += fmt::format("{}{}", i == 0 ? "" : i + 1 == items.size() ? " and " : ", ", items[i]);
  }
  return out;
}

}  // namespace

std::string Directory::rescheduling_reason(const GroupRecord& group, size_t failed) const {
  std::vector<size_t> lost;
  std::vector<NodeId> lost_nodes;  // in order of first mention
  for (size_t b = 0; b < group.bundles.size(); ++b) {
    if (!group.bundles[b].lost) continue;
    lost.push_back(b);
    if (std::find(lost_nodes.begin(), lost_nodes.end(), group.bundles[b].node) == lost_nodes.end()) {
      lost_nodes.push_back(group.bundles[b].node);
    }
  }
  std::string reason = fmt::format("rescheduling: bundle{} {} {} on node{} {}, which crashed for good",
                                   lost.size() > 1 ? "s" : "", listing(lost), lost.size() > 1 ? "were" : "was",
                                   lost_nodes.size() > 1 ? "s" : "", listing(lost_nodes));
  const auto strategy = static_cast<PlacementStrategy>(group.spec.strategy);
  if (failed == kNotTried) {
    // Not tried yet: no claim about where they fit.
  } else if (strategy == PlacementStrategy::kStrictPack && lost.size() == group.bundles.size()) {
    double cpus = 0;
    int64_t memory = 0;
    int32_t units = 0;
    for (const wire::BundleSpec& b : group.spec.bundles) {
      cpus += b.cpus;
      memory += b.memory_bytes;
      units += b.gpu_units;
    }
    reason += fmt::format("; no live node has its {} bundles ({} in all) free together (STRICT_PACK)",
                          group.bundles.size(), amounts(cpus, memory, units));
  } else {
    const wire::BundleSpec& b = group.spec.bundles[failed];
    reason += fmt::format("; bundle {} ({}) fits no live {} ({})", failed, amounts(b.cpus, b.memory_bytes, b.gpu_units),
                          strategy == PlacementStrategy::kStrictSpread ? "node free of the group's other bundles"
                          : strategy == PlacementStrategy::kStrictPack ? "room on the node of the group's other bundles"
                                                                       : "node's free resources",
                          strategy_name(group.spec.strategy));
  }
  const size_t kept = group.bundles.size() - lost.size();
  if (kept > 0) {
    reason += fmt::format("; the other {} bundle{} stay{} reserved", kept, kept > 1 ? "s" : "", kept > 1 ? "" : "s");
  }
  return reason;
}

void Directory::reschedule_lost_bundles() {
  refresh_liveness();
  const auto dead_for_good = [&](NodeId node) {
    return !nodes_[node.value].info.alive && !nodes_[node.value].info.rebooting;
  };
  const bool deferred = defer_placement_;
  defer_placement_ = true;  // the actors of lost bundles restart first, then all are placed
  for (auto& [id, group] : groups_) {
    if (group.state == GroupRecord::kRemoved || group.bundles.empty()) continue;
    std::vector<size_t> newly_lost;
    for (size_t b = 0; b < group.bundles.size(); ++b) {
      if (!group.bundles[b].lost && dead_for_good(group.bundles[b].node)) newly_lost.push_back(b);
    }
    if (newly_lost.empty()) continue;
    const std::string label = group_label(id);
    for (size_t b : newly_lost) {
      BundleRecord& bundle = group.bundles[b];
      bundle.lost = true;
      // The reservation goes back to the dead node's pool (which no one is given again).
      NodeCapacity& node = nodes_[bundle.node.value];
      node.free_cpus += bundle.spec.cpus;
      node.free_memory += bundle.spec.memory_bytes;
      const int32_t per_device = std::min(bundle.spec.gpu_units, wire::kGpuUnits);
      for (uint32_t device : bundle.gpu_ids) node.gpu_free[device] += per_device;
    }
    const bool was_waiting = group.state == GroupRecord::kPending;
    group.state = GroupRecord::kPending;
    group.pending_reason = rescheduling_reason(group, kNotTried);  // try_reserve below says more
    platform_.trace({.kind = TraceKind::kActorCreate,
                     .detail = fmt::format("{} rescheduling bundles {}: their node crashed for good", label,
                                           listing(newly_lost))});
    report_changed();
    // The actors in the lost bundles lost their workers with the node; the exit notices may not
    // have come yet. They restart by their policy (into the replacement bundle, once reserved).
    for (auto& [actor_id, actor] : actors_) {
      if (actor.state == wire::ActorState::kDead || !actor.placed || actor.bundle < 0 ||
          actor.spec.scheduling != wire::ActorSpec::kPlacementGroup || actor.spec.placement_group != id ||
          !group.bundles[static_cast<size_t>(actor.bundle)].lost || !actor.worker.valid()) {
        continue;
      }
      on_worker_lost(actor, fmt::format("node {} crashed", actor.node));
    }
    if (!try_reserve(group) && !was_waiting) waiting_groups_.push_back(id);
  }
  defer_placement_ = deferred;
  place_waiting();
}

void Directory::place_waiting() {
  if (defer_placement_) return;
  std::deque<uint64_t> groups = std::move(waiting_groups_);
  waiting_groups_.clear();
  for (uint64_t id : groups) {
    GroupRecord& group = groups_.at(id);
    if (group.state != GroupRecord::kPending) continue;
    if (!try_reserve(group)) waiting_groups_.push_back(id);
  }
  std::deque<ActorId> waiting = std::move(waiting_);
  waiting_.clear();
  for (ActorId id : waiting) {
    ActorRecord& actor = actors_.at(id);
    if (actor.state == wire::ActorState::kDead) continue;
    if (!try_place(actor)) waiting_.push_back(id);
  }
}

void Directory::on_started(wire::ActorStarted started) {
  auto it = actors_.find(ActorId::unpack(started.actor));
  if (it == actors_.end() || it->second.state == wire::ActorState::kDead) return;
  ActorRecord& actor = it->second;
  if (started.incarnation != actor.incarnation) return;  // a worker the directory gave up on
  if (!started.ok) {
    mark_dead(actor, ObjectStatus::kActorDied,
              fmt::format("the constructor threw {}: {}", started.error_type, started.error_message));
    return;
  }
  actor.state = wire::ActorState::kAlive;
  publish(actor);
}

void Directory::on_kill(wire::KillActor kill) {
  auto it = actors_.find(ActorId::unpack(kill.actor));
  if (it == actors_.end() || it->second.state == wire::ActorState::kDead) return;
  ActorRecord& actor = it->second;
  if (!kill.no_restart && actor.worker.valid()) {
    // A kill that allows a restart is a crash: the watch on the worker handles what follows.
    platform_.kill_process(actor.worker, "killed by kill(no_restart = false)");
    return;
  }
  mark_dead(actor, ObjectStatus::kActorDied, fmt::format("{} was killed by kill()", it->first));
}

void Directory::on_exited(wire::ActorExited exited) {
  auto it = actors_.find(ActorId::unpack(exited.actor));
  if (it == actors_.end() || it->second.state == wire::ActorState::kDead) return;
  if (exited.incarnation != it->second.incarnation) return;
  it->second.answered = std::move(exited.answered);
  mark_dead(it->second, ObjectStatus::kActorDied, fmt::format("{} exited (this_actor::exit())", it->first));
}

void Directory::mark_dead(ActorRecord& actor, ObjectStatus status, std::string cause) {
  ActorId id = ActorId::unpack(actor.spec.actor);
  actor.state = wire::ActorState::kDead;
  actor.death_status = static_cast<uint8_t>(status);
  actor.death_cause = std::move(cause);
  platform_.trace({.kind = TraceKind::kActorDead, .actor = id, .detail = actor.death_cause});
  if (actor.worker.valid()) {
    workers_.erase(actor.worker);
    platform_.kill_process(actor.worker, actor.death_cause);
  }
  release_resources(actor);
  if (!actor.pending_reason.empty()) report_changed();
  if (!actor.spec.name.empty()) names_.erase({actor.spec.ns, actor.spec.name});
  publish(actor);
  place_waiting();
}

void Directory::release_resources(ActorRecord& actor) {
  if (!actor.placed) return;
  const int32_t per_device = std::min(actor.spec.gpu_units, wire::kGpuUnits);
  if (actor.bundle >= 0) {  // back to its bundle's reservation, not to the node
    BundleRecord& bundle = groups_.at(actor.spec.placement_group).bundles[static_cast<size_t>(actor.bundle)];
    bundle.free_cpus += actor.spec.num_cpus;
    bundle.free_memory += actor.spec.memory_bytes;
    for (uint32_t device : actor.spec.gpu_ids) bundle.gpu_free[device] += per_device;
  } else {
    NodeCapacity& node = nodes_[actor.node.value];
    node.free_cpus += actor.spec.num_cpus;
    node.free_memory += actor.spec.memory_bytes;
    for (uint32_t device : actor.spec.gpu_ids) node.gpu_free[device] += per_device;
  }
  actor.spec.gpu_ids.clear();
  actor.placed = false;
  actor.bundle = -1;
}

void Directory::on_process_exit(ProcessId process, std::string_view why) {
  auto worker = workers_.find(process);
  if (worker != workers_.end()) {
    ActorRecord& actor = actors_.at(worker->second);
    workers_.erase(worker);
    if (actor.state != wire::ActorState::kDead && actor.worker == process) on_worker_lost(actor, why);
    return;
  }
  if (watched_owners_.erase(process) == 0) return;
  // Its placement groups that are not detached are removed (in id order), before its actors die,
  // so that an actor in such a group is killed for the group's removal.
  bool removed_group = false;
  const bool deferred = defer_placement_;
  defer_placement_ = true;
  for (auto& [group_id, group] : groups_) {
    if (group.spec.owner != process.value || group.spec.detached || group.state == GroupRecord::kRemoved) continue;
    remove_group(group_id, fmt::format("its creator {} ended ({})", group.creator, why));
    removed_group = true;
  }
  defer_placement_ = deferred;
  // Fate-sharing: the owner's non-detached actors die with it (in id order).
  for (auto& [id, actor] : actors_) {
    if (actor.spec.owner != process.value || actor.spec.detached || actor.state == wire::ActorState::kDead) continue;
    mark_dead(actor, ObjectStatus::kActorDied, fmt::format("its owner {} died ({})", process, why));
  }
  if (removed_group) place_waiting();
}

void Directory::on_worker_lost(ActorRecord& actor, std::string_view why) {
  ActorId id = ActorId::unpack(actor.spec.actor);
  // The report may be false (the worker is alive but was suspected): fence it off, so it ends
  // itself once this reaches it. Until then it may still answer callers that have not heard.
  send(actor.worker, MessageKind::kFenceWorker, wire::FenceWorker{.actor = actor.spec.actor,
                                                                  .incarnation = actor.incarnation});
  actor.worker = ProcessId{};
  release_resources(actor);
  int allowed = actor.spec.max_restarts;
  if (allowed >= 0 && actor.restarts_used >= allowed) {
    mark_dead(actor, ObjectStatus::kActorDied,
              allowed == 0 ? fmt::format("{} crashed: {} (max_restarts = 0)", id, why)
                           : fmt::format("{} crashed: {}; its {} restarts are used up (max_restarts = {})", id, why,
                                         allowed, allowed));
    return;
  }
  ++actor.restarts_used;
  ++actor.incarnation;
  actor.state = wire::ActorState::kRestarting;
  actor.death_cause = fmt::format("{} crashed: {}", id, why);
  platform_.trace({.kind = TraceKind::kActorDead, .actor = id,
                   .detail = fmt::format("restarting as incarnation {}: {}", actor.incarnation, why)});
  publish(actor);
  Nanos backoff = restart_backoff(actor.spec, actor.restarts_used);
  if (backoff <= 0) {
    if (!try_place(actor)) waiting_.push_back(id);
    return;
  }
  uint32_t incarnation = actor.incarnation;
  platform_.start_timer(self_, platform_.now() + backoff, [this, id, incarnation] {
    auto it = actors_.find(id);
    if (it == actors_.end() || it->second.state != wire::ActorState::kRestarting ||
        it->second.incarnation != incarnation) {
      return;  // killed (or otherwise moved on) while backing off
    }
    if (!try_place(it->second)) waiting_.push_back(id);
  });
}

Nanos Directory::restart_backoff(const wire::ActorSpec& spec, int restart) {
  if (spec.restart_backoff_ns <= 0) return 0;
  // restart_backoff_ns before the first restart, doubling for each later one, capped.
  Nanos delay = spec.restart_backoff_ns;
  for (int i = 1; i < restart && delay < spec.restart_backoff_max_ns; ++i) delay *= 2;
  return std::min(delay, std::max(spec.restart_backoff_max_ns, spec.restart_backoff_ns));
}

wire::ActorState Directory::state_of(const ActorRecord& actor) {
  return {.actor = actor.spec.actor, .state = actor.state, .address = actor.worker.value,
          .incarnation = actor.incarnation, .death_status = actor.death_status, .death_cause = actor.death_cause,
          .max_task_retries = actor.spec.max_task_retries, .retry_exceptions = actor.spec.retry_exceptions,
          .max_pending_calls = actor.spec.max_pending_calls, .retry_exception_types = actor.spec.retry_exception_types,
          .answered = actor.answered};
}

void Directory::publish(const ActorRecord& actor) {
  wire::ActorState state = state_of(actor);
  for (ProcessId subscriber : actor.subscribers) send(subscriber, MessageKind::kActorState, state);
}

void Directory::on_subscribe(ProcessId from, wire::SubscribeActor request) {
  ActorId id = ActorId::unpack(request.actor);
  auto it = actors_.find(id);
  if (it == actors_.end()) {
    // Not created (yet): the creation request may still be on its way. Record the subscriber;
    // the record is completed by on_create.
    actors_[id].subscribers.insert(from);
    actors_[id].spec.actor = request.actor;
    return;
  }
  ActorRecord& actor = it->second;
  actor.subscribers.insert(from);
  if (actor.state != wire::ActorState::kPending) send(from, MessageKind::kActorState, state_of(actor));
}

void Directory::on_lookup(ProcessId from, wire::LookupName request) {
  wire::LookupNameReply reply{.rpc = request.rpc};
  auto it = names_.find({request.ns, request.name});
  if (it != names_.end()) {
    reply.found = true;
    reply.actor = it->second.packed();
    reply.class_name = actors_.at(it->second).spec.class_name;
  }
  send(from, MessageKind::kLookupNameReply, reply);
}

void Directory::on_create_group(wire::CreatePlacementGroup request) {
  const uint64_t id = request.group;
  if (groups_.contains(id)) return;
  GroupRecord& group = groups_[id];
  group.spec = std::move(request);
  const ProcessId creator{group.spec.owner};
  auto creator_actor = workers_.find(creator);
  group.creator = creator_actor != workers_.end() ? fmt::format("{}", creator_actor->second)
                                                  : fmt::format("{}", creator);
  // A group that is not detached is removed when its creator ends.
  if (!group.spec.detached && watched_owners_.insert(creator).second) platform_.watch_process(self_, creator);
  if (!watching_node_failures_) {  // from now on, bundles on a node that dies for good move
    watching_node_failures_ = true;
    platform_.watch_node_failures(self_);
  }
  platform_.trace({.kind = TraceKind::kActorCreate,
                   .detail = fmt::format("{} '{}' created: {} bundles, {}", group_label(id), group.spec.name,
                                         group.spec.bundles.size(), strategy_name(group.spec.strategy))});
  if (!try_reserve(group)) {
    waiting_groups_.push_back(id);
    place_waiting();  // actors waiting for the group to exist now wait for its reservation
    return;
  }
  place_waiting();
}

void Directory::on_remove_group(wire::RemovePlacementGroup request) {
  auto found = groups_.find(request.group);
  if (found == groups_.end() || found->second.state == GroupRecord::kRemoved) return;
  remove_group(request.group, "");
}

void Directory::remove_group(uint64_t id, const std::string& reason) {
  GroupRecord& group = groups_.at(id);
  group.state = GroupRecord::kRemoved;
  group.pending_reason.clear();
  group.removal_reason = reason;
  report_changed();
  const std::string label = group_label(id);
  const std::string removed = reason.empty() ? "" : ": " + reason;
  platform_.trace({.kind = TraceKind::kActorCreate, .detail = fmt::format("{} removed{}", label, removed)});
  // Ray's rule: the actors placed in the group (or waiting for it) are killed, in id order. No
  // placement until all are dead (a freed bundle must not take the next of them).
  const bool deferred = defer_placement_;
  defer_placement_ = true;
  for (auto& [actor_id, actor] : actors_) {
    if (actor.state == wire::ActorState::kDead || actor.spec.scheduling != wire::ActorSpec::kPlacementGroup ||
        actor.spec.placement_group != id) {
      continue;
    }
    mark_dead(actor, ObjectStatus::kActorDied,
              fmt::format("{} was killed: its placement group {} was removed{}", actor_id, label, removed));
  }
  defer_placement_ = deferred;
  // Reserved bundles (all of a created group; the kept ones of a rescheduling group) are freed.
  for (const BundleRecord& bundle : group.bundles) {
    if (bundle.lost) continue;
    NodeCapacity& node = nodes_[bundle.node.value];
    node.free_cpus += bundle.spec.cpus;
    node.free_memory += bundle.spec.memory_bytes;
    const int32_t per_device = std::min(bundle.spec.gpu_units, wire::kGpuUnits);
    for (uint32_t device : bundle.gpu_ids) node.gpu_free[device] += per_device;
  }
  wire::DescribeReply reply = describe_group(group);
  for (const auto& [waiter, rpc] : group.ready_waiters) {
    reply.rpc = rpc;
    send(waiter, MessageKind::kDescribeReply, reply);
  }
  group.ready_waiters.clear();
  place_waiting();
}

wire::DescribeReply Directory::describe_group(const GroupRecord& group) const {
  wire::DescribeReply reply{.found = true, .state = group.state, .pending_reason = group.pending_reason,
                            .death_cause = group.removal_reason};
  if (group.state == GroupRecord::kCreated) {
    for (const BundleRecord& bundle : group.bundles) reply.bundle_nodes.push_back(bundle.node.value);
  }
  return reply;
}

void Directory::on_describe(ProcessId from, wire::Describe request) {
  wire::DescribeReply reply;
  if (request.actor != 0) {
    auto found = actors_.find(ActorId::unpack(request.actor));
    if (found != actors_.end() && !found->second.spec.class_name.empty()) {
      const ActorRecord& actor = found->second;
      reply = {.found = true, .state = actor.state, .placed = actor.placed, .node = actor.node.value,
               .gpu_ids = actor.spec.gpu_ids, .restarts = actor.restarts_used,
               .pending_reason = actor.placed || actor.state == wire::ActorState::kDead ? "" : actor.pending_reason,
               .death_cause = actor.death_cause};
    }
  } else {
    auto found = groups_.find(request.group);
    if (found != groups_.end()) {
      if (request.wait_ready && found->second.state == GroupRecord::kPending) {
        found->second.ready_waiters.emplace_back(from, request.rpc);
        return;
      }
      reply = describe_group(found->second);
    }
  }
  reply.rpc = request.rpc;
  send(from, MessageKind::kDescribeReply, reply);
}

std::string Directory::describe_state() {
  std::lock_guard lock(report_mutex_);
  return report_;
}

void Directory::report_changed() {
  std::string lines;
  for (const auto& [id, group] : groups_) {
    if (group.state != GroupRecord::kPending) continue;
    lines += fmt::format("  directory: placement group {} '{}' ({}, {} bundles) is pending: {}\n", group_label(id),
                         group.spec.name, strategy_name(group.spec.strategy), group.spec.bundles.size(),
                         group.pending_reason);
  }
  for (const auto& [id, actor] : actors_) {
    if (actor.placed || actor.state == wire::ActorState::kDead || actor.pending_reason.empty()) continue;
    lines += fmt::format("  directory: {} {} is pending: {}\n", id, actor.spec.class_name, actor.pending_reason);
  }
  std::lock_guard lock(report_mutex_);
  report_ = std::move(lines);
}

}  // namespace troupe::core
