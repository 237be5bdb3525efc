#include "runtime/core/directory.h"

#include <cassert>
#include <memory>

#include "fmt/format.h"

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
  auto decode = [&](auto& body) {
    bool ok = wire::convert(envelope->body, body, wire::message_kind_name(envelope->kind)).ok();
    if (!ok) platform_.trace({.kind = TraceKind::kDrop, .peer = from, .detail = "malformed directory request"});
    return ok;
  };
  switch (envelope->kind) {
    case MessageKind::kCreateActor: {
      wire::CreateActor m;
      if (decode(m)) on_create(from, std::move(m));
      break;
    }
    case MessageKind::kActorStarted: {
      wire::ActorStarted m;
      if (decode(m)) on_started(std::move(m));
      break;
    }
    case MessageKind::kKillActor: {
      wire::KillActor m;
      if (decode(m)) on_kill(m);
      break;
    }
    case MessageKind::kActorExited: {
      wire::ActorExited m;
      if (decode(m)) on_exited(m);
      break;
    }
    case MessageKind::kSubscribeActor: {
      wire::SubscribeActor m;
      if (decode(m)) on_subscribe(from, m);
      break;
    }
    case MessageKind::kLookupName: {
      wire::LookupName m;
      if (decode(m)) on_lookup(from, std::move(m));
      break;
    }
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

std::vector<uint32_t> Directory::fit_gpus(const NodeCapacity& node, int32_t units) {
  std::vector<uint32_t> devices;
  if (units <= 0) return devices;
  if (units < wire::kGpuUnits) {
    for (uint32_t device = 0; device < node.gpu_free.size(); ++device) {
      if (node.gpu_free[device] >= units) return {device};
    }
    return devices;
  }
  const size_t whole = static_cast<size_t>(units / wire::kGpuUnits);
  for (uint32_t device = 0; device < node.gpu_free.size() && devices.size() < whole; ++device) {
    if (node.gpu_free[device] == wire::kGpuUnits) devices.push_back(device);
  }
  if (devices.size() < whole) devices.clear();
  return devices;
}

bool Directory::try_place(ActorRecord& actor) {
  const wire::ActorSpec& spec = actor.spec;
  ActorId id = ActorId::unpack(spec.actor);
  std::string infeasible = infeasible_reason(spec);
  if (!infeasible.empty()) {
    if (actor.pending_reason != infeasible) {
      actor.pending_reason = infeasible;
      platform_.trace({.kind = TraceKind::kActorCreate, .actor = id, .detail = "pending: " + infeasible});
    }
    return false;
  }
  std::vector<NodeInfo> current = platform_.nodes();  // liveness changes (node crash, reboot)
  for (size_t i = 0; i < nodes_.size() && i < current.size(); ++i) nodes_[i].info.alive = current[i].alive;
  NodeCapacity* best = nullptr;
  std::vector<uint32_t> best_gpus;
  for (NodeCapacity& node : nodes_) {
    if (!node.info.alive || node.free_cpus < spec.num_cpus || node.free_memory < spec.memory_bytes) continue;
    std::vector<uint32_t> gpus = fit_gpus(node, spec.gpu_units);
    if (spec.gpu_units > 0 && gpus.empty()) continue;
    if (best == nullptr || node.free_cpus > best->free_cpus) {
      best = &node;
      best_gpus = std::move(gpus);
    }
  }
  if (best == nullptr) {
    std::string reason =
        spec.gpu_units == 0
            ? fmt::format("waiting for resources: needs {} CPUs and {} bytes; no node has them free", spec.num_cpus,
                          spec.memory_bytes)
            : fmt::format("waiting for resources: needs {} CPUs, {} bytes and {:g} GPUs; no node has them free",
                          spec.num_cpus, spec.memory_bytes, spec.gpu_units / double{wire::kGpuUnits});
    if (actor.pending_reason != reason) {
      actor.pending_reason = reason;
      platform_.trace({.kind = TraceKind::kActorCreate, .actor = id, .detail = "pending: " + reason});
    }
    return false;
  }
  best->free_cpus -= spec.num_cpus;
  best->free_memory -= spec.memory_bytes;
  const int32_t per_device = std::min(spec.gpu_units, wire::kGpuUnits);
  for (uint32_t device : best_gpus) best->gpu_free[device] -= per_device;
  actor.spec.gpu_ids = std::move(best_gpus);
  actor.node = best->info.id;
  actor.placed = true;
  actor.pending_reason.clear();
  actor.spec.incarnation = actor.incarnation;
  absl::StatusOr<ProcessId> worker =
      platform_.start_process(best->info.id, fmt::format("{} {}", id, spec.class_name),
                              std::make_unique<ProcessRuntime>(platform_, config_, wire::encode(actor.spec)));
  if (!worker.ok()) {
    mark_dead(actor, ObjectStatus::kActorDied, fmt::format("its worker could not start: {}", std::string(worker.status().message())));
    return true;
  }
  actor.worker = *worker;
  workers_[*worker] = id;
  platform_.watch_process(self_, *worker);
  return true;
}

void Directory::place_waiting() {
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
  if (!actor.spec.name.empty()) names_.erase({actor.spec.ns, actor.spec.name});
  publish(actor);
  place_waiting();
}

void Directory::release_resources(ActorRecord& actor) {
  if (!actor.placed) return;
  NodeCapacity& node = nodes_[actor.node.value];
  node.free_cpus += actor.spec.num_cpus;
  node.free_memory += actor.spec.memory_bytes;
  const int32_t per_device = std::min(actor.spec.gpu_units, wire::kGpuUnits);
  for (uint32_t device : actor.spec.gpu_ids) node.gpu_free[device] += per_device;
  actor.spec.gpu_ids.clear();
  actor.placed = false;
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
  // Fate-sharing: the owner's non-detached actors die with it (in id order).
  for (auto& [id, actor] : actors_) {
    if (actor.spec.owner != process.value || actor.spec.detached || actor.state == wire::ActorState::kDead) continue;
    mark_dead(actor, ObjectStatus::kActorDied, fmt::format("its owner {} died ({})", process, why));
  }
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

}  // namespace troupe::core
