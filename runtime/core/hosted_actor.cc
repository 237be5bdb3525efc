// ProcessRuntime, worker side: constructing the hosted actor, per-caller ordering, the executor.
#include <cassert>
#include <utility>

#include "fmt/format.h"
#include "runtime/core/process_runtime.h"
#include "runtime/detail/args.h"

namespace troupe::core {

using wire::MessageKind;
using wire::ObjectPayload;
using wire::ObjectStatus;

std::string ProcessRuntime::actor_label() const {
  std::string label = hosted_->spec.class_name;
  if (hosted_->constructed && hosted_->info->repr != nullptr) {
    label += " " + hosted_->info->repr(hosted_->object);
  }
  return label;
}

void ProcessRuntime::construct_actor() {
  HostedActor& actor = *hosted_;
  ActorId id = ActorId::unpack(actor.spec.actor);
  wire::ActorStarted started{.actor = actor.spec.actor, .incarnation = actor.spec.incarnation};
  const detail::Constructor* ctor = detail::find_constructor(actor.spec.ctor_key);
  std::optional<ObjectPayload> failed;
  if (ctor == nullptr) {
    failed = ObjectPayload{.error_type = "troupe::Error",
                           .error_message = fmt::format("no constructor registered for {}", actor.spec.ctor_key)};
  } else {
    actor.info = ctor->info;
    msgpack::zone zone(wire::kZoneChunkBytes);
    std::string storage;
    std::variant<msgpack::object, ObjectPayload> args = unpack_args(zone, actor.spec.ctor_args, storage);
    if (auto* error = std::get_if<ObjectPayload>(&args)) {
      failed = std::move(*error);
    } else {
      try {
        actor.object = ctor->construct(std::get<msgpack::object>(args));
      } catch (...) {
        failed = detail::exception_payload(std::current_exception());
      }
    }
  }
  if (failed) {
    started.ok = false;
    started.error_type = failed->error_type;
    started.error_message = failed->error_message;
    send(config_.directory, MessageKind::kActorStarted, started);
    return;
  }
  actor.constructed = true;
  platform_.trace({.kind = TraceKind::kActorAlive, .actor = id, .detail = actor_label()});
  send(config_.directory, MessageKind::kActorStarted, started);
  start_executor();
}

void ProcessRuntime::reply(const wire::Call& call, ObjectPayload result) {
  send(ProcessId{call.caller}, MessageKind::kCallReply,
       wire::CallReply{.actor = call.actor, .sequence = call.sequence, .incarnation = reply_incarnation(),
                       .object = call.object, .result = std::move(result)});
}

void ProcessRuntime::on_call(wire::Call call) {
  ActorId target = ActorId::unpack(call.actor);
  auto refuse = [&](ObjectStatus status, std::string message) {
    reply(call, {.status = static_cast<uint8_t>(status), .error_message = std::move(message)});
  };
  if (!hosted_ || target != hosted_actor()) {
    refuse(ObjectStatus::kActorDied, fmt::format("{} does not live in {}", target, self_));
    return;
  }
  HostedActor& actor = *hosted_;
  if (call.incarnation != actor.spec.incarnation) {
    // Meant for another incarnation of this actor (the caller's view is older or newer): refuse.
    // The reply carries this worker's incarnation, so the caller ignores it unless it matches.
    refuse(ObjectStatus::kActorUnavailable, fmt::format("{} incarnation {} got a call for incarnation {}", target,
                                                        actor.spec.incarnation, call.incarnation));
    return;
  }
  if (actor.exit_requested) {
    refuse(ObjectStatus::kActorDied, fmt::format("{} exited (this_actor::exit())", target));
    return;
  }
  HostedActor::CallerQueue& caller = actor.callers[call.caller];
  if (call.sequence < caller.next_sequence) {
    if (call.attempt == 0) return;  // a duplicate (neither platform makes them; kept as a guard)
    // Resent after the caller's connection broke: the first attempt may have run and its reply
    // been lost. At-least-once: it runs again, unless that first attempt still waits its turn.
    for (const HostedActor::Group& group : actor.groups) {
      for (const wire::Call& queued : group.queue) {
        if (queued.caller == call.caller && queued.sequence == call.sequence) return;
      }
    }
    admit(std::move(call));
    return;
  }
  if (call.floor > caller.next_sequence) {
    // The caller abandoned the calls below `floor` (lost, no retries): run what arrived of them,
    // in order, and stop waiting for the rest.
    while (!caller.early.empty() && caller.early.begin()->first < call.floor) {
      auto arrived = caller.early.extract(caller.early.begin());
      admit(std::move(arrived.mapped()));
    }
    caller.next_sequence = call.floor;
  }
  if (call.sequence == caller.next_sequence && caller.early.empty()) {
    ++caller.next_sequence;  // the common case: in order, nothing waiting
    admit(std::move(call));
    return;
  }
  caller.early.emplace(call.sequence, std::move(call));
  // Admit every call whose turn has come, in sequence order.
  while (!caller.early.empty() && caller.early.begin()->first == caller.next_sequence) {
    auto next = caller.early.extract(caller.early.begin());
    ++caller.next_sequence;
    admit(std::move(next.mapped()));
  }
}

bool ProcessRuntime::HostedActor::idle() const {
  for (const Group& group : groups) {
    if (group.running > 0 || !group.queue.empty()) return false;
  }
  return true;
}

void ProcessRuntime::admit(wire::Call&& call) {
  HostedActor& actor = *hosted_;
  size_t g = call.method < actor.method_group.size() ? actor.method_group[call.method] : 0;
  if (!call.concurrency_group.empty()) {
    g = 0;
    while (g < actor.groups.size() && actor.groups[g].name != call.concurrency_group) ++g;
    if (g == actor.groups.size()) {
      std::string known;
      for (const HostedActor::Group& group : actor.groups) {
        if (!group.name.empty()) known += (known.empty() ? "'" : ", '") + group.name + "'";
      }
      reply(call, {.status = static_cast<uint8_t>(ObjectStatus::kTaskError), .error_type = "troupe::Error",
                   .error_message = fmt::format("{} has no concurrency group '{}' (its groups: {})", hosted_actor(),
                                                call.concurrency_group, known.empty() ? "none" : known)});
      return;
    }
  }
  actor.groups[g].queue.push_back(std::move(call));
  dispatch(g);
}

void ProcessRuntime::start_executor() {
  for (size_t g = 0; g < hosted_->groups.size(); ++g) dispatch(g);
}

void ProcessRuntime::dispatch(size_t g) {
  HostedActor& actor = *hosted_;
  if (!actor.constructed) return;
  HostedActor::Group& group = actor.groups[g];
  // A new executor takes its first call from the queue when it starts (capturing the call in the
  // fiber's body would move it twice more and allocate the body on the heap, on every call).
  while (group.running < group.limit && group.queue.size() > static_cast<size_t>(group.starting)) {
    ++group.running;
    ++group.starting;
    platform_.spawn(self_, "execute", [this, g] { run_calls(g); });
  }
}

void ProcessRuntime::run_calls(size_t g) {
  HostedActor& actor = *hosted_;
  --actor.groups[g].starting;
  const bool sequential = actor.mode == Concurrency::kSequential;
  if (actor.mode == Concurrency::kAsync) ExecutionContext::current()->cooperative = true;
  std::optional<msgpack::zone> own_zone;  // concurrent calls each decode into their own zone
  if (!sequential) own_zone.emplace(wire::kZoneChunkBytes);
  msgpack::zone& zone = sequential ? call_zone_ : *own_zone;
  const FiberId self = ExecutionContext::current()->fiber;
  // Another executor of the group may have taken the call this one was started for: then the
  // queue is empty here and this one just ends.
  while (!actor.groups[g].queue.empty()) {
    wire::Call call = std::move(actor.groups[g].queue.front());
    actor.groups[g].queue.pop_front();
    zone.clear();
    actor.running.emplace_back(self, &call);
    ObjectPayload result = execute(call, g, zone);
    for (size_t i = 0; i < actor.running.size(); ++i) {
      if (actor.running[i].first != self) continue;
      actor.running[i] = actor.running.back();
      actor.running.pop_back();
      break;
    }
    reply(call, std::move(result));
  }
  --actor.groups[g].running;
  exit_if_idle();
}

std::string ProcessRuntime::describe_fiber(FiberId fiber) {
  if (!hosted_) return "";
  const wire::Call* running = nullptr;
  for (const auto& [executor, call] : hosted_->running) {
    if (executor == fiber) running = call;
  }
  if (running == nullptr) return "";
  const wire::Call& call = *running;
  return fmt::format("running {}.{} for {}", hosted_->spec.class_name, call.method_name, ProcessId{call.caller});
}

void ProcessRuntime::exit_if_idle() {
  HostedActor& actor = *hosted_;
  if (!actor.exit_requested || actor.exit_sent || !actor.idle()) return;
  actor.exit_sent = true;
  platform_.trace({.kind = TraceKind::kActorDead, .actor = hosted_actor(), .detail = "exited"});
  wire::ActorExited exited{.actor = actor.spec.actor, .incarnation = actor.spec.incarnation};
  for (const auto& [caller, queue] : actor.callers) exited.answered[caller] = queue.next_sequence;
  send(config_.directory, MessageKind::kActorExited, exited);
}

ObjectPayload ProcessRuntime::execute(const wire::Call& call, size_t g, msgpack::zone& zone) {
  HostedActor& actor = *hosted_;
  ObjectId result_id = ObjectId::unpack(call.object);
  platform_.trace({.kind = TraceKind::kCallStart, .peer = ProcessId{call.caller}, .actor = hosted_actor(),
                   .call = call.object, .detail = call.method_name});
  ObjectPayload result;
  if (call.method >= actor.info->methods.size() || actor.info->methods[call.method].name != call.method_name) {
    result = {.status = static_cast<uint8_t>(ObjectStatus::kTaskError), .error_type = "troupe::Error",
              .error_message = fmt::format("{} has no method #{} '{}'", actor.info->name, call.method,
                                           call.method_name)};
  } else {
    std::string storage;
    std::variant<msgpack::object, ObjectPayload> args = unpack_args(zone, call.args, storage);
    if (auto* error = std::get_if<ObjectPayload>(&args)) {
      result = std::move(*error);
    } else if (actor.mode == Concurrency::kThreaded) {
      const detail::MethodInvoker invoke = actor.info->methods[call.method].invoke;
      const msgpack::object& unpacked = std::get<msgpack::object>(args);
      platform_.run_parallel(static_cast<int>(g), actor.groups[g].limit,
                             [&] { result = invoke(actor.object, unpacked); });
    } else {
      result = actor.info->methods[call.method].invoke(actor.object, std::get<msgpack::object>(args));
    }
  }
  platform_.trace({.kind = TraceKind::kCallEnd, .peer = ProcessId{call.caller}, .actor = hosted_actor(),
                   .call = result_id.packed(),
                   .detail = result.status == 0 ? std::string("ok") : fmt::format("error {}", result.error_type)});
  return result;
}

namespace {
ObjectPayload argument_error(std::string message) {
  return {.status = static_cast<uint8_t>(ObjectStatus::kTaskError), .error_type = "troupe::ArgumentError",
          .error_message = std::move(message)};
}
}  // namespace

std::variant<msgpack::object, ObjectPayload> ProcessRuntime::unpack_args(msgpack::zone& zone, const std::string& args,
                                                                         std::string& storage) {
  absl::StatusOr<msgpack::object> unpacked = wire::unpack_into(zone, args);
  if (!unpacked.ok() || unpacked->type != msgpack::type::ARRAY) return argument_error("malformed argument array");
  const msgpack::object_array& array = unpacked->via.array;
  bool has_refs = false;
  for (uint32_t i = 0; i < array.size; ++i) {
    has_refs |= array.ptr[i].type == msgpack::type::EXT && array.ptr[i].via.ext.type() == wire::kRefArgExt;
  }
  if (!has_refs) return *unpacked;
  // Rebuild the array with each Ref replaced by its value's bytes (already msgpack).
  wire::StringWriter writer;
  msgpack::packer<wire::StringWriter> packer(writer);
  packer.pack_array(array.size);
  for (uint32_t i = 0; i < array.size; ++i) {
    const msgpack::object& element = array.ptr[i];
    if (element.type != msgpack::type::EXT || element.via.ext.type() != wire::kRefArgExt) {
      packer.pack(element);
      continue;
    }
    if (element.via.ext.size != 8) return argument_error("malformed Ref argument");
    uint64_t packed = 0;
    for (int b = 0; b < 8; ++b) packed = (packed << 8) | static_cast<uint8_t>(element.via.ext.data()[b]);
    std::optional<ObjectPayload> value = get_object(ObjectId::unpack(packed), std::nullopt);
    if (value->status != 0) return std::move(*value);  // the argument's error becomes the call's
    writer.str().append(value->bytes);
  }
  storage = writer.take();
  absl::StatusOr<msgpack::object> resolved = wire::unpack_into(zone, storage);
  if (!resolved.ok()) return argument_error(std::string(resolved.status().message()));
  return *resolved;
}

void ProcessRuntime::on_fence(const wire::FenceWorker& fence) {
  if (!hosted_ || fence.actor != hosted_->spec.actor || fence.incarnation != hosted_->spec.incarnation) return;
  platform_.kill_process(self_, fmt::format("fenced: the directory replaced incarnation {} of {}", fence.incarnation,
                                            hosted_actor()));
}

void ProcessRuntime::crash_actor() {
  ProcessTurn turn;
  assert(hosted_ && "this_actor::crash() outside an actor");
  platform_.kill_process(self_, "crashed (this_actor::crash())");
}

void ProcessRuntime::exit_actor() {
  ProcessTurn turn;
  assert(hosted_ && "this_actor::exit() outside an actor");
  hosted_->exit_requested = true;
  exit_if_idle();
}

}  // namespace troupe::core
