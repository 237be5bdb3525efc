// ProcessRuntime: message dispatch, objects, the submitter and directory requests.
// The hosted actor's side lives in hosted_actor.cc.
#include "runtime/core/process_runtime.h"

#include <algorithm>
#include <cassert>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "runtime/errors.h"

namespace troupe::core {

using wire::MessageKind;
using wire::ObjectPayload;
using wire::ObjectStatus;

ProcessRuntime::ProcessRuntime(Platform& platform, ClusterConfig config, std::string boot)
    : platform_(platform), config_(config), system_(*this) {
  if (!boot.empty()) {
    absl::StatusOr<wire::ActorSpec> spec = wire::decode<wire::ActorSpec>(boot, "the actor spec");
    assert(spec.ok() && "a worker was started with a corrupt actor spec");
    hosted_ = std::make_unique<HostedActor>();
    hosted_->spec = std::move(*spec);
    HostedActor& actor = *hosted_;
    actor.mode = static_cast<Concurrency>(actor.spec.concurrency);
    actor.groups.push_back({.name = "", .limit = std::max(actor.spec.max_concurrency, 1)});
    for (const wire::ConcurrencyGroupSpec& group : actor.spec.concurrency_groups) {
      for (uint32_t method : group.methods) {
        if (method >= actor.method_group.size()) actor.method_group.resize(method + 1, 0);
        actor.method_group[method] = static_cast<uint32_t>(actor.groups.size());
      }
      actor.groups.push_back({.name = group.name, .limit = std::max(group.max_concurrency, 1)});
    }
  }
}

ProcessRuntime::~ProcessRuntime() {
  if (hosted_ && hosted_->object != nullptr) hosted_->info->destroy(hosted_->object);
}

std::optional<std::string> ProcessRuntime::boot_image() const {
  if (!hosted_) return std::nullopt;
  return wire::encode(hosted_->spec);
}

std::optional<std::string> ProcessRuntime::env(const std::string& name) const {
  if (!hosted_) return std::nullopt;
  if (name == "CUDA_VISIBLE_DEVICES") {  // the runtime's, from the actor's GPUs (Ray's rule)
    std::string devices;
    for (uint32_t device : hosted_->spec.gpu_ids) devices += fmt::format("{}{}", devices.empty() ? "" : ",", device);
    return devices;
  }
  auto found = hosted_->spec.env_vars.find(name);
  if (found == hosted_->spec.env_vars.end()) return std::nullopt;
  return found->second;
}

void ProcessRuntime::on_start() {
  self_ = ExecutionContext::current()->process;
  if (hosted_ && !hosted_->spec.gpu_ids.empty()) {
    // The worker's devices (runtime/gpu.h): its kernels and memory go there, and it crashes if one is lost.
    platform_.bind_gpus(self_, hosted_->spec.gpu_ids, std::min(hosted_->spec.gpu_units, wire::kGpuUnits));
  }
  if (hosted_) {
    platform_.spawn(self_, "construct", [this] { construct_actor(); });
  }
}

using wire::body_as;

void ProcessRuntime::on_message(ProcessId from, std::string payload) {
  // The two messages of every call are read straight from their bytes; anything the fast
  // readers do not take (another kind, an unusual encoding, a malformed frame) goes the general
  // way below, which decides exactly as before.
  if (wire::Call call; wire::read_call(payload, call)) {
    on_call(std::move(call));
    return;
  }
  if (wire::CallReply reply; wire::read_call_reply(payload, reply)) {
    on_call_reply(std::move(reply));
    return;
  }
  absl::StatusOr<wire::Envelope> envelope = reader_.open(payload);
  if (!envelope.ok()) {
    platform_.trace({.kind = TraceKind::kDrop, .peer = from, .detail = std::string(envelope.status().message())});
    return;
  }
  bool ok = true;
  switch (envelope->kind) {
    case MessageKind::kCall:
      if (auto m = body_as<wire::Call>(*envelope)) on_call(std::move(*m)); else ok = false;
      break;
    case MessageKind::kCallReply:
      if (auto m = body_as<wire::CallReply>(*envelope)) on_call_reply(std::move(*m)); else ok = false;
      break;
    case MessageKind::kActorState:
      if (auto m = body_as<wire::ActorState>(*envelope)) on_actor_state(std::move(*m)); else ok = false;
      break;
    case MessageKind::kGetObject:
      if (auto m = body_as<wire::GetObject>(*envelope)) on_get_object(from, *m); else ok = false;
      break;
    case MessageKind::kObjectReply:
      if (auto m = body_as<wire::ObjectReply>(*envelope)) on_object_reply(std::move(*m)); else ok = false;
      break;
    case MessageKind::kCreateActorReply:
      if (auto m = body_as<wire::CreateActorReply>(*envelope)) on_rpc_reply(m->rpc, std::move(payload)); else ok = false;
      break;
    case MessageKind::kFenceWorker:
      if (auto m = body_as<wire::FenceWorker>(*envelope)) on_fence(*m); else ok = false;
      break;
    case MessageKind::kLookupNameReply:
      if (auto m = body_as<wire::LookupNameReply>(*envelope)) on_rpc_reply(m->rpc, std::move(payload)); else ok = false;
      break;
    case MessageKind::kDescribeReply:
      if (auto m = body_as<wire::DescribeReply>(*envelope)) on_rpc_reply(m->rpc, std::move(payload)); else ok = false;
      break;
    default:
      ok = false;
  }
  if (!ok) {
    platform_.trace({.kind = TraceKind::kDrop, .peer = from,
                     .detail = fmt::format("unexpected or malformed {}", wire::message_kind_name(envelope->kind))});
  }
}

Channel ProcessRuntime::channel_of(MessageKind kind) {
  switch (kind) {
    case MessageKind::kCall:
    case MessageKind::kCallReply:
    case MessageKind::kGetObject:
    case MessageKind::kObjectReply:
      return Channel::kData;
    default:
      return Channel::kControl;
  }
}

void ProcessRuntime::on_connection_lost(ProcessId peer) {
  for (auto& [id, r] : remotes_) {  // in actor id order
    if (r.address != peer || r.in_flight.empty()) continue;
    if (r.state == wire::ActorState::kAlive) on_calls_lost(id, r);
    if (r.state == wire::ActorState::kDead) fail_calls(r);  // an exited actor's lost answers
  }
  // Object fetches are idempotent: ask again, after the same first delay as calls.
  refetch_from_.insert(peer);
  if (refetch_timer_ == 0) {
    refetch_timer_ = platform_.start_timer(self_, platform_.now() + kResendDelayMin, [this] { refetch_objects(); });
  }
}

void ProcessRuntime::refetch_objects() {
  refetch_timer_ = 0;
  std::set<ProcessId> owners = std::move(refetch_from_);
  refetch_from_.clear();
  std::vector<ObjectId> refetch;  // fetching_ is ordered: asked in id order
  for (ObjectId id : fetching_) {
    if (owners.contains(ProcessId{id.owner})) refetch.push_back(id);
  }
  for (ObjectId id : refetch) send(ProcessId{id.owner}, MessageKind::kGetObject, wire::GetObject{.object = id.packed()});
}

std::string ProcessRuntime::describe_wait(const WaitReason& reason) {
  if (reason.object == 0) return reason.describe();
  ObjectId object = ObjectId::unpack(reason.object);
  for (const auto& [actor, r] : remotes_) {  // ordered; only walked for a report
    for (const auto& [sequence, pending] : r.in_flight) {
      if (pending.call.object == reason.object) {
        return fmt::format("the result of {}.{} ({}, sent to {}{})", actor, pending.call.method_name, object,
                           r.address, pending.resend_due ? "; its connection broke, resending" : "");
      }
    }
    for (const PendingCall& pending : r.queued) {
      if (pending.call.object == reason.object) {
        return fmt::format("the result of {}.{} ({}, not sent yet: the actor is not running)", actor,
                           pending.call.method_name, object);
      }
    }
  }
  return reason.describe();
}

// ---- Objects ---------------------------------------------------------------------------------

ObjectId ProcessRuntime::new_object_id() { return ObjectId{self_.value, next_object_++}; }

void ProcessRuntime::fill_object(ObjectId id, ObjectPayload payload) {
  ObjectEntry* found = id.owner == self_.value ? objects_->find(id) : &objects_->get_or_create(id);
  if (found == nullptr) return;  // owned and already released: nobody can ask for it
  ObjectEntry& entry = *found;
  if (entry.ready) return;  // immutable: the first value wins
  if (entry.released) {
    assert(entry.waiters.empty() && entry.borrowers.empty());
    objects_->erase(id);
    return;
  }
  entry.ready = true;
  entry.payload = std::move(payload);
  if (entry.fetch_sent) fetching_.erase(id);
  for (ProcessId borrower : entry.borrowers) {
    send(borrower, MessageKind::kObjectReply, wire::ObjectReply{.object = id.packed(), .payload = entry.payload});
  }
  entry.borrowers.clear();
  std::vector<FiberId> waiters = std::move(entry.waiters);
  entry.waiters.clear();
  for (FiberId fiber : waiters) platform_.unpark(fiber);
}

void ProcessRuntime::request_if_borrowed(ObjectId id, ObjectEntry& entry) {
  if (id.owner == self_.value || entry.ready || entry.fetch_sent) return;
  entry.fetch_sent = true;
  fetching_.insert(id);
  const ProcessId owner{id.owner};
  if (watched_owners_.insert(owner).second) platform_.watch_process(self_, owner);
  send(owner, MessageKind::kGetObject, wire::GetObject{.object = id.packed()});
}

void ProcessRuntime::on_process_exit(ProcessId process, std::string_view why) {
  // A later fetch from it watches it again, and hears at once that it has ended.
  watched_owners_.erase(process);
  std::vector<ObjectId> lost;  // fetching_ is ordered: failed in id order
  for (ObjectId id : fetching_) {
    if (id.owner == process.value) lost.push_back(id);
  }
  for (ObjectId id : lost) {
    fill_object(id, ObjectPayload{.status = static_cast<uint8_t>(ObjectStatus::kObjectLost),
                                  .error_message = fmt::format("{} is lost: its owner {} died ({})", id, process, why)});
  }
}

bool ProcessRuntime::wait_ready(ObjectId id, std::optional<Nanos> deadline) {
  ExecutionContext* context = ExecutionContext::current();
  assert(context != nullptr && context->fiber.valid() && "get/wait must be called on a fiber");
  FiberId self = context->fiber;
  ObjectEntry& entry = objects_->get_or_create(id);
  if (entry.ready) return true;
  request_if_borrowed(id, entry);
  TimerId timer = 0;
  if (deadline) timer = platform_.start_timer(self_, *deadline, [this, self] { platform_.unpark(self); });
  while (!entry.ready) {
    if (deadline && platform_.now() >= *deadline) break;
    entry.waiters.push_back(self);
    platform_.park({.what = "get", .object = id.packed()});
  }
  if (timer != 0) platform_.cancel_timer(timer);
  // Timed out: leave the waiters, or filling the object later would wake this fiber wherever it
  // is parked then (and a released object would still list it).
  if (!entry.ready) std::erase(entry.waiters, self);
  return entry.ready;
}

std::optional<ObjectPayload> ProcessRuntime::get_object(ObjectId id, std::optional<Nanos> deadline) {
  ProcessTurn turn;
  if (!wait_ready(id, deadline)) return std::nullopt;
  return objects_->find(id)->payload;
}

std::vector<bool> ProcessRuntime::wait_objects(const std::vector<ObjectId>& ids, size_t num_returns,
                                               std::optional<Nanos> deadline) {
  ProcessTurn turn;
  FiberId self = ExecutionContext::current()->fiber;
  auto count_ready = [&] {
    size_t ready = 0;
    for (ObjectId id : ids) ready += objects_->get_or_create(id).ready ? 1 : 0;
    return ready;
  };
  for (ObjectId id : ids) request_if_borrowed(id, objects_->get_or_create(id));
  TimerId timer = 0;
  if (deadline) timer = platform_.start_timer(self_, *deadline, [this, self] { platform_.unpark(self); });
  while (count_ready() < num_returns) {
    if (deadline && platform_.now() >= *deadline) break;
    for (ObjectId id : ids) {
      ObjectEntry& entry = objects_->get_or_create(id);
      if (!entry.ready) entry.waiters.push_back(self);
    }
    platform_.park({.what = "wait"});
  }
  if (timer != 0) platform_.cancel_timer(timer);
  std::vector<bool> ready;
  ready.reserve(ids.size());
  for (ObjectId id : ids) {
    ObjectEntry& entry = objects_->get_or_create(id);
    // Enough were ready, or the time ran out: this fiber no longer waits for the others.
    if (!entry.ready) std::erase(entry.waiters, self);
    ready.push_back(entry.ready);
  }
  return ready;
}

namespace {
// Frees an owned object when the last copy of its Ref in the owner goes, unless it escaped.
class OwnedRefToken final : public detail::RefToken {
 public:
  OwnedRefToken(std::weak_ptr<ObjectTable> table, ObjectId id) : table_(std::move(table)), id_(id) {}
  ~OwnedRefToken() override {
    if (escaped()) return;
    ProcessTurn turn;
    if (std::shared_ptr<ObjectTable> table = table_.lock()) table->release(id_);
  }

 private:
  std::weak_ptr<ObjectTable> table_;
  ObjectId id_;
};
}  // namespace

std::shared_ptr<detail::RefToken> ProcessRuntime::ref_token(ObjectId id) {
  ProcessTurn turn;
  if (id.owner != self_.value) return nullptr;
  return std::make_shared<OwnedRefToken>(objects_, id);
}

ObjectId ProcessRuntime::put_object(std::string bytes) {
  ProcessTurn turn;
  ObjectId id = new_object_id();
  objects_->get_or_create(id);
  fill_object(id, ObjectPayload{.bytes = std::move(bytes)});
  return id;
}

void ProcessRuntime::on_get_object(ProcessId from, wire::GetObject request) {
  ObjectId id = ObjectId::unpack(request.object);
  ObjectEntry* entry = objects_->find(id);
  if (entry == nullptr) {
    send(from, MessageKind::kObjectReply,
         wire::ObjectReply{.object = request.object,
                           .payload = {.status = static_cast<uint8_t>(ObjectStatus::kObjectLost),
                                       .error_message = fmt::format("{} is unknown to its owner {}", id, self_)}});
  } else if (entry->ready) {
    send(from, MessageKind::kObjectReply, wire::ObjectReply{.object = request.object, .payload = entry->payload});
  } else if (std::find(entry->borrowers.begin(), entry->borrowers.end(), from) == entry->borrowers.end()) {
    entry->borrowers.push_back(from);  // once, however often it asks (it asks again after a lost reply)
  }
}

void ProcessRuntime::on_object_reply(wire::ObjectReply reply) {
  fill_object(ObjectId::unpack(reply.object), std::move(reply.payload));
}

// ---- Submitter ---------------------------------------------------------------------------------

ProcessRuntime::RemoteActor& ProcessRuntime::remote(ActorId actor) {
  RemoteActor& remote = remotes_[actor];
  if (!remote.subscribed) {
    remote.subscribed = true;
    // The creator is subscribed by the directory itself; everyone else asks.
    if (actor.creator != self_.value) {
      send(config_.directory, MessageKind::kSubscribeActor, wire::SubscribeActor{.actor = actor.packed()});
    }
  }
  return remote;
}

ActorId ProcessRuntime::create_actor(wire::ActorSpec spec) {
  ProcessTurn turn;
  ActorId id{self_.value, next_actor_++};
  spec.actor = id.packed();
  spec.owner = self_.value;
  if (spec.ns.empty()) spec.ns = kDefaultNamespace;
  RemoteActor& r = remote(id);
  r.max_pending_calls = spec.max_pending_calls;
  r.max_task_retries = spec.max_task_retries;
  r.retry_exceptions = spec.retry_exceptions ? RetryExceptions(true) : RetryExceptions(spec.retry_exception_types);
  if (spec.name.empty()) {
    send(config_.directory, MessageKind::kCreateActor, wire::CreateActor{.rpc = 0, .spec = std::move(spec)});
    return id;
  }
  std::string name = spec.name;
  std::string reply_bytes = directory_rpc(MessageKind::kCreateActor, wire::CreateActor{.spec = std::move(spec)},
                                          "create_actor");
  msgpack::zone zone(wire::kZoneChunkBytes);
  absl::StatusOr<wire::Envelope> envelope = wire::open_envelope(reply_bytes, zone);
  wire::CreateActorReply reply = *body_as<wire::CreateActorReply>(*envelope);
  switch (reply.outcome) {
    case wire::CreateActorReply::kCreated:
      return id;
    case wire::CreateActorReply::kExisting:
      remotes_.erase(id);
      return ActorId::unpack(reply.actor);
    case wire::CreateActorReply::kNameTaken:
      remotes_.erase(id);
      throw ActorNameTakenError(reply.error);
    default:
      remotes_.erase(id);
      throw Error(reply.error);
  }
}

ObjectId ProcessRuntime::submit_call(ActorId actor, uint32_t method, std::string_view method_name, std::string args,
                                     const CallOptions& options) {
  ProcessTurn turn;
  RemoteActor& r = remote(actor);
  int limit = r.max_pending_calls;
  if (limit >= 0 && r.state != wire::ActorState::kDead &&
      r.queued.size() + r.in_flight.size() >= static_cast<size_t>(limit)) {
    throw PendingCallsLimitExceeded(fmt::format("{} has {} calls pending from {} (max_pending_calls = {})", actor,
                                                r.queued.size() + r.in_flight.size(), self_, limit));
  }
  ObjectId result = new_object_id();
  objects_->get_or_create(result);
  if (r.state == wire::ActorState::kDead) {
    fill_object(result, r.death);
    return result;
  }
  PendingCall pending{.call = {.actor = actor.packed(), .caller = self_.value, .object = result.packed(),
                               .method = method, .method_name = std::string(method_name), .args = std::move(args),
                               .concurrency_group = options.concurrency_group.value_or("")},
                      .max_task_retries = options.max_task_retries,
                      .retry_exceptions = options.retry_exceptions};
  if (r.state == wire::ActorState::kAlive) {
    send_call(r, std::move(pending));
  } else if (r.state == wire::ActorState::kRestarting && !take_retry(r, pending)) {
    // Ray: a call submitted while the actor restarts consumes a retry; with none, it fails now.
    fill_object(result, {.status = static_cast<uint8_t>(ObjectStatus::kActorUnavailable),
                         .error_message = fmt::format("{} is restarting and the call has no retries left "
                                                      "(max_task_retries = {})",
                                                      actor, pending.max_task_retries.value_or(r.max_task_retries))});
  } else {
    r.queued.push_back(std::move(pending));
  }
  return result;
}

bool ProcessRuntime::take_retry(const RemoteActor& r, PendingCall& call) const {
  int allowed = call.max_task_retries.value_or(r.max_task_retries);
  if (allowed >= 0 && call.retries_used >= allowed) return false;
  ++call.retries_used;
  return true;
}

void ProcessRuntime::send_call(RemoteActor& r, PendingCall pending) {
  pending.call.sequence = r.next_sequence++;
  pending.call.incarnation = r.incarnation;
  pending.call.attempt = 0;
  uint64_t sequence = pending.call.sequence;
  auto [it, inserted] = r.in_flight.emplace(sequence, std::move(pending));
  assert(inserted);
  it->second.call.floor = r.in_flight.begin()->first;
  send(r.address, MessageKind::kCall, it->second.call);
}

void ProcessRuntime::fail_calls(RemoteActor& r, uint64_t keep_below) {
  std::deque<PendingCall> queued = std::move(r.queued);
  r.queued.clear();
  std::map<uint64_t, PendingCall> in_flight = std::move(r.in_flight);
  r.in_flight.clear();
  for (auto& [sequence, pending] : in_flight) {
    if (sequence < keep_below) {
      r.in_flight.emplace(sequence, std::move(pending));  // answered: its reply is on the way
      continue;
    }
    fill_object(ObjectId::unpack(pending.call.object), r.death);
  }
  for (const PendingCall& pending : queued) fill_object(ObjectId::unpack(pending.call.object), r.death);
}

void ProcessRuntime::on_incarnation_lost(ActorId id, RemoteActor& r, const std::string& why) {
  // In submission order: the calls that were sent come before the ones still queued.
  std::deque<PendingCall> retry;
  std::map<uint64_t, PendingCall> in_flight = std::move(r.in_flight);
  r.in_flight.clear();
  for (auto& [sequence, pending] : in_flight) {
    pending.resend_due = false;
    if (take_retry(r, pending)) {
      retry.push_back(std::move(pending));
    } else {
      fill_object(ObjectId::unpack(pending.call.object),
                  {.status = static_cast<uint8_t>(ObjectStatus::kActorUnavailable),
                   .error_message = fmt::format("{} failed while the call was in flight ({}); it may or may not "
                                                "have run, and has no retries left",
                                                id, why)});
    }
  }
  for (PendingCall& pending : r.queued) retry.push_back(std::move(pending));
  r.queued = std::move(retry);
  r.resend_delay = 0;
}

void ProcessRuntime::on_calls_lost(ActorId id, RemoteActor& r) {
  // Ray: a broken connection fails the calls on it; those with a retry left are submitted again.
  // A call already waiting for its resend is not charged twice for the same outage.
  bool resend = false;
  for (auto it = r.in_flight.begin(); it != r.in_flight.end();) {
    PendingCall& pending = it->second;
    if (pending.resend_due || take_retry(r, pending)) {
      pending.resend_due = true;
      resend = true;
      ++it;
      continue;
    }
    fill_object(ObjectId::unpack(pending.call.object),
                {.status = static_cast<uint8_t>(ObjectStatus::kActorUnavailable),
                 .error_message = fmt::format("the connection to {} (worker {}) broke while the call was in "
                                              "flight; it may or may not have run, and has no retries left",
                                              id, r.address)});
    it = r.in_flight.erase(it);
  }
  if (!resend || r.resend_timer != 0) return;
  r.resend_delay = r.resend_delay == 0 ? kResendDelayMin : std::min(2 * r.resend_delay, kResendDelayMax);
  r.resend_timer = platform_.start_timer(self_, platform_.now() + r.resend_delay, [this, id] { resend_calls(id); });
}

void ProcessRuntime::resend_calls(ActorId id) {
  RemoteActor& r = remotes_.at(id);
  r.resend_timer = 0;
  // A restart or death since then moved or failed the calls (and cleared resend_due).
  if (r.state != wire::ActorState::kAlive || r.in_flight.empty()) return;
  uint64_t floor = r.in_flight.begin()->first;
  for (auto& [sequence, pending] : r.in_flight) {  // in submission order
    if (!pending.resend_due) continue;
    pending.resend_due = false;
    pending.call.attempt = static_cast<uint32_t>(pending.retries_used);
    pending.call.floor = floor;
    send(r.address, MessageKind::kCall, pending.call);
  }
}

void ProcessRuntime::on_actor_state(wire::ActorState state) {
  ActorId id = ActorId::unpack(state.actor);
  RemoteActor& r = remote(id);
  if (r.state == wire::ActorState::kDead) return;  // death is final
  r.max_task_retries = state.max_task_retries;
  r.retry_exceptions = state.retry_exceptions ? RetryExceptions(true) : RetryExceptions(state.retry_exception_types);
  r.max_pending_calls = state.max_pending_calls;
  switch (state.state) {
    case wire::ActorState::kPending:
      break;
    case wire::ActorState::kRestarting:
      // The notice may arrive after the new incarnation's "alive" (the network reorders): then
      // it is old news, and acting on it would strand the caller in kRestarting.
      if (state.incarnation <= r.incarnation) break;
      r.restarting_incarnation = std::max(r.restarting_incarnation, state.incarnation);
      if (r.state == wire::ActorState::kAlive) on_incarnation_lost(id, r, state.death_cause);
      r.state = state.state;
      break;
    case wire::ActorState::kAlive: {
      // News of an older incarnation, arriving late (even one this caller never saw alive).
      if (state.incarnation < r.incarnation || state.incarnation < r.restarting_incarnation) break;
      if (r.state == wire::ActorState::kAlive && state.incarnation > r.incarnation) {
        on_incarnation_lost(id, r, "it restarted");  // the restarting notice was missed
      }
      bool fresh = state.incarnation != r.incarnation || r.state != wire::ActorState::kAlive;
      r.state = state.state;
      r.address = ProcessId{state.address};
      if (fresh && state.incarnation != r.incarnation) r.next_sequence = 0;  // numbering is per incarnation
      r.incarnation = state.incarnation;
      std::deque<PendingCall> queued = std::move(r.queued);
      r.queued.clear();
      for (PendingCall& pending : queued) send_call(r, std::move(pending));
      break;
    }
    case wire::ActorState::kDead: {
      r.state = state.state;
      r.death = {.status = state.death_status, .error_message = state.death_cause};
      // An actor that exited answered its admitted calls first; their replies may still be on
      // the way (the worker's data channel and the directory's notice race). Keep waiting for
      // those, from the incarnation that answered them; fail the rest.
      auto answered = state.answered.find(self_.value);
      uint64_t keep_below = answered != state.answered.end() && state.incarnation == r.incarnation ? answered->second : 0;
      fail_calls(r, keep_below);
      break;
    }
  }
}

void ProcessRuntime::on_call_reply(wire::CallReply reply) {
  auto it = remotes_.find(ActorId::unpack(reply.actor));
  if (it == remotes_.end()) return;
  RemoteActor& r = it->second;
  // Fenced by incarnation: an answer from a worker this caller no longer talks to (a crashed or
  // falsely suspected one) is ignored; its call was retried or failed already.
  // A dead actor's replies count only for the calls it answered before exiting (fail_calls kept
  // exactly those in flight).
  if (reply.incarnation != r.incarnation ||
      (r.state != wire::ActorState::kAlive && r.state != wire::ActorState::kDead)) {
    return;
  }
  auto call = r.in_flight.find(reply.sequence);
  if (call == r.in_flight.end()) return;
  PendingCall pending = std::move(call->second);
  r.in_flight.erase(call);
  r.resend_delay = 0;  // the connection works again
  bool threw = reply.result.status == static_cast<uint8_t>(ObjectStatus::kTaskError);
  if (threw && r.state == wire::ActorState::kAlive &&
      pending.retry_exceptions.value_or(r.retry_exceptions).covers(reply.result.error_type) &&
      take_retry(r, pending)) {
    send_call(r, std::move(pending));  // a new sequence number: it runs after what is queued now
    return;
  }
  fill_object(ObjectId::unpack(reply.object), std::move(reply.result));
}

void ProcessRuntime::kill_actor(ActorId actor, bool no_restart) {
  ProcessTurn turn;
  RemoteActor& r = remote(actor);
  // With no_restart the caller knows at once that the actor is gone; otherwise the directory
  // treats the kill as a crash and says whether the actor restarts.
  if (no_restart && r.state != wire::ActorState::kDead) {
    r.state = wire::ActorState::kDead;
    r.death = {.status = static_cast<uint8_t>(ObjectStatus::kActorDied),
               .error_message = fmt::format("{} was killed by kill()", actor)};
    fail_calls(r);
  }
  send(config_.directory, MessageKind::kKillActor, wire::KillActor{.actor = actor.packed(), .no_restart = no_restart});
}

// ---- Directory requests ------------------------------------------------------------------------

template <typename Request>
std::optional<std::string> ProcessRuntime::directory_rpc_until(MessageKind kind, Request request, std::string_view what,
                                                               std::optional<Nanos> deadline) {
  ExecutionContext* context = ExecutionContext::current();
  assert(context != nullptr && context->fiber.valid() && "directory requests block: call them on a fiber");
  FiberId self = context->fiber;
  uint64_t rpc = next_rpc_++;
  request.rpc = rpc;
  rpcs_[rpc] = PendingRpc{.waiter = self};
  send(config_.directory, kind, request);
  TimerId timer = 0;
  if (deadline) timer = platform_.start_timer(self_, *deadline, [this, self] { platform_.unpark(self); });
  while (!rpcs_[rpc].reply) {
    if (deadline && platform_.now() >= *deadline) break;
    platform_.park({.what = what});
  }
  if (timer != 0) platform_.cancel_timer(timer);
  std::optional<std::string> reply = std::move(rpcs_[rpc].reply);
  rpcs_.erase(rpc);
  return reply;
}

template <typename Request>
std::string ProcessRuntime::directory_rpc(MessageKind kind, Request request, std::string_view what) {
  ExecutionContext* context = ExecutionContext::current();
  assert(context != nullptr && context->fiber.valid() && "directory requests block: call them on a fiber");
  uint64_t rpc = next_rpc_++;
  request.rpc = rpc;
  rpcs_[rpc] = PendingRpc{.waiter = context->fiber};
  send(config_.directory, kind, request);
  while (!rpcs_[rpc].reply) platform_.park({.what = what});
  std::string reply = std::move(*rpcs_[rpc].reply);
  rpcs_.erase(rpc);
  return reply;
}

void ProcessRuntime::on_rpc_reply(uint64_t rpc, std::string body) {
  auto it = rpcs_.find(rpc);
  if (it == rpcs_.end()) return;
  it->second.reply = std::move(body);
  platform_.unpark(it->second.waiter);
}

std::optional<detail::NamedActor> ProcessRuntime::lookup_actor(const std::string& name, const std::string& ns) {
  ProcessTurn turn;
  std::string reply_bytes = directory_rpc(
      MessageKind::kLookupName, wire::LookupName{.name = name, .ns = ns.empty() ? kDefaultNamespace : ns},
      "lookup_name");
  msgpack::zone zone(wire::kZoneChunkBytes);
  absl::StatusOr<wire::Envelope> envelope = wire::open_envelope(reply_bytes, zone);
  wire::LookupNameReply reply = *body_as<wire::LookupNameReply>(*envelope);
  if (!reply.found) return std::nullopt;
  return detail::NamedActor{ActorId::unpack(reply.actor), reply.class_name};
}

uint64_t ProcessRuntime::create_placement_group(wire::CreatePlacementGroup request) {
  ProcessTurn turn;
  request.group = (uint64_t{self_.value} << 32) | next_group_++;
  request.owner = self_.value;
  const uint64_t group = request.group;
  send(config_.directory, MessageKind::kCreatePlacementGroup, request);
  return group;
}

void ProcessRuntime::remove_placement_group(uint64_t group) {
  ProcessTurn turn;
  send(config_.directory, MessageKind::kRemovePlacementGroup, wire::RemovePlacementGroup{.group = group});
}

std::optional<wire::DescribeReply> ProcessRuntime::describe(wire::Describe request, std::optional<Nanos> deadline) {
  ProcessTurn turn;
  std::optional<std::string> reply_bytes =
      directory_rpc_until(MessageKind::kDescribe, request, request.wait_ready ? "placement_group_ready" : "describe",
                          deadline);
  if (!reply_bytes) return std::nullopt;
  msgpack::zone zone(wire::kZoneChunkBytes);
  absl::StatusOr<wire::Envelope> envelope = wire::open_envelope(*reply_bytes, zone);
  return *body_as<wire::DescribeReply>(*envelope);
}

}  // namespace troupe::core
