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
  std::string label = fmt::format("{} {}", ActorId::unpack(hosted_->spec.actor), hosted_->spec.class_name);
  if (hosted_->constructed && hosted_->info->repr != nullptr) {
    label += " " + hosted_->info->repr(hosted_->object);
  }
  return label;
}

void ProcessRuntime::construct_actor() {
  HostedActor& actor = *hosted_;
  ActorId id = ActorId::unpack(actor.spec.actor);
  wire::ActorStarted started{.actor = actor.spec.actor};
  const detail::Constructor* ctor = detail::find_constructor(actor.spec.ctor_key);
  std::string args;
  std::optional<ObjectPayload> failed;
  if (ctor == nullptr) {
    failed = ObjectPayload{.error_type = "troupe::Error",
                           .error_message = fmt::format("no constructor registered for {}", actor.spec.ctor_key)};
  } else {
    actor.info = ctor->info;
    failed = resolve_args(actor.spec.ctor_args, args);
  }
  if (!failed) {
    absl::StatusOr<msgpack::object_handle> unpacked = wire::unpack(args);
    try {
      actor.object = ctor->construct(unpacked->get());
    } catch (...) {
      failed = detail::exception_payload(std::current_exception());
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

void ProcessRuntime::on_call(wire::Call call) {
  ActorId target = ActorId::unpack(call.actor);
  if (!hosted_ || target != hosted_actor()) {
    send(ProcessId{call.caller}, MessageKind::kCallReply,
         wire::CallReply{.actor = call.actor, .sequence = call.sequence, .object = call.object,
                         .result = {.status = static_cast<uint8_t>(ObjectStatus::kActorDied),
                                    .error_message = fmt::format("{} does not live in {}", target, self_)}});
    return;
  }
  HostedActor& actor = *hosted_;
  if (actor.exit_requested) {
    send(ProcessId{call.caller}, MessageKind::kCallReply,
         wire::CallReply{.actor = call.actor, .sequence = call.sequence, .object = call.object,
                         .result = {.status = static_cast<uint8_t>(ObjectStatus::kActorDied),
                                    .error_message = fmt::format("{} exited (this_actor::exit())", target)}});
    return;
  }
  HostedActor::CallerQueue& caller = actor.callers[call.caller];
  if (call.sequence < caller.next_sequence) return;  // a duplicate
  caller.early.emplace(call.sequence, std::move(call));
  // Admit every call whose turn has come, in sequence order.
  for (auto it = caller.early.begin(); it != caller.early.end() && it->first == caller.next_sequence;
       it = caller.early.erase(it)) {
    actor.mailbox.push_back(std::move(it->second));
    ++caller.next_sequence;
  }
  start_executor();
}

void ProcessRuntime::start_executor() {
  HostedActor& actor = *hosted_;
  if (!actor.constructed || actor.executor_running || actor.mailbox.empty()) return;
  actor.executor_running = true;
  platform_.spawn(self_, fmt::format("execute {}", hosted_actor()), [this] { run_executor(); });
}

void ProcessRuntime::run_executor() {
  HostedActor& actor = *hosted_;
  while (!actor.mailbox.empty()) {
    wire::Call call = std::move(actor.mailbox.front());
    actor.mailbox.pop_front();
    ObjectPayload result = execute(call);
    send(ProcessId{call.caller}, MessageKind::kCallReply,
         wire::CallReply{.actor = call.actor, .sequence = call.sequence, .object = call.object,
                         .result = std::move(result)});
  }
  actor.executor_running = false;
  if (actor.exit_requested) {
    platform_.trace({.kind = TraceKind::kActorDead, .actor = hosted_actor(), .detail = "exited"});
    send(config_.directory, MessageKind::kActorExited, wire::ActorExited{.actor = actor.spec.actor});
  }
}

ObjectPayload ProcessRuntime::execute(const wire::Call& call) {
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
    std::string args;
    std::optional<ObjectPayload> failed = resolve_args(call.args, args);
    if (failed) {
      result = std::move(*failed);
    } else {
      absl::StatusOr<msgpack::object_handle> unpacked = wire::unpack(args);
      if (!unpacked.ok()) {
        result = {.status = static_cast<uint8_t>(ObjectStatus::kTaskError), .error_type = "troupe::ArgumentError",
                  .error_message = std::string(unpacked.status().message())};
      } else {
        result = actor.info->methods[call.method].invoke(actor.object, unpacked->get());
      }
    }
  }
  platform_.trace({.kind = TraceKind::kCallEnd, .peer = ProcessId{call.caller}, .actor = hosted_actor(),
                   .call = result_id.packed(),
                   .detail = result.status == 0 ? std::string("ok") : fmt::format("error {}", result.error_type)});
  return result;
}

std::optional<ObjectPayload> ProcessRuntime::resolve_args(const std::string& args, std::string& resolved) {
  absl::StatusOr<msgpack::object_handle> unpacked = wire::unpack(args);
  if (!unpacked.ok() || unpacked->get().type != msgpack::type::ARRAY) {
    return ObjectPayload{.status = static_cast<uint8_t>(ObjectStatus::kTaskError),
                         .error_type = "troupe::ArgumentError", .error_message = "malformed argument array"};
  }
  const msgpack::object_array& array = unpacked->get().via.array;
  bool has_refs = false;
  for (uint32_t i = 0; i < array.size; ++i) {
    has_refs |= array.ptr[i].type == msgpack::type::EXT && array.ptr[i].via.ext.type() == wire::kRefArgExt;
  }
  if (!has_refs) {
    resolved = args;
    return std::nullopt;
  }
  wire::StringWriter writer;
  msgpack::packer<wire::StringWriter> packer(writer);
  packer.pack_array(array.size);
  for (uint32_t i = 0; i < array.size; ++i) {
    const msgpack::object& element = array.ptr[i];
    if (element.type != msgpack::type::EXT || element.via.ext.type() != wire::kRefArgExt) {
      packer.pack(element);
      continue;
    }
    if (element.via.ext.size != 8) {
      return ObjectPayload{.status = static_cast<uint8_t>(ObjectStatus::kTaskError),
                           .error_type = "troupe::ArgumentError", .error_message = "malformed Ref argument"};
    }
    uint64_t packed = 0;
    for (int b = 0; b < 8; ++b) packed = (packed << 8) | static_cast<uint8_t>(element.via.ext.data()[b]);
    std::optional<ObjectPayload> value = get_object(ObjectId::unpack(packed), std::nullopt);
    if (value->status != 0) return value;  // the argument's error becomes the call's
    writer.str().append(value->bytes);
  }
  resolved = writer.take();
  return std::nullopt;
}

void ProcessRuntime::exit_actor() {
  assert(hosted_ && "this_actor::exit() outside an actor");
  hosted_->exit_requested = true;
  if (!hosted_->executor_running) {
    send(config_.directory, MessageKind::kActorExited, wire::ActorExited{.actor = hosted_->spec.actor});
  }
}

}  // namespace troupe::core
