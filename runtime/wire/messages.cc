#include "runtime/wire/messages.h"

#include "absl/status/status.h"

namespace troupe::wire {

std::string_view message_kind_name(MessageKind kind) {
  switch (kind) {
    case MessageKind::kCreateActor: return "create_actor";
    case MessageKind::kCreateActorReply: return "create_actor_reply";
    case MessageKind::kActorStarted: return "actor_started";
    case MessageKind::kActorState: return "actor_state";
    case MessageKind::kSubscribeActor: return "subscribe_actor";
    case MessageKind::kCall: return "call";
    case MessageKind::kCallReply: return "call_reply";
    case MessageKind::kGetObject: return "get_object";
    case MessageKind::kObjectReply: return "object_reply";
    case MessageKind::kKillActor: return "kill_actor";
    case MessageKind::kLookupName: return "lookup_name";
    case MessageKind::kLookupNameReply: return "lookup_name_reply";
    case MessageKind::kActorExited: return "actor_exited";
    case MessageKind::kFenceWorker: return "fence_worker";
    case MessageKind::kCreatePlacementGroup: return "create_placement_group";
    case MessageKind::kRemovePlacementGroup: return "remove_placement_group";
    case MessageKind::kDescribe: return "describe";
    case MessageKind::kDescribeReply: return "describe_reply";
  }
  return "unknown";
}

absl::StatusOr<Envelope> open_envelope(std::string_view bytes, msgpack::zone& zone) {
  absl::StatusOr<msgpack::object> unpacked = unpack_into(zone, bytes);
  if (!unpacked.ok()) return unpacked.status();
  const msgpack::object& root = *unpacked;
  if (root.type != msgpack::type::ARRAY || root.via.array.size != 2 ||
      root.via.array.ptr[0].type != msgpack::type::POSITIVE_INTEGER) {
    return absl::InvalidArgumentError("malformed message: expected [kind, body]");
  }
  uint64_t kind = root.via.array.ptr[0].via.u64;
  if (kind < 1 || kind > static_cast<uint64_t>(MessageKind::kDescribeReply)) {
    return absl::InvalidArgumentError(fmt::format("malformed message: unknown kind {}", kind));
  }
  return Envelope{static_cast<MessageKind>(kind), root.via.array.ptr[1]};
}

}  // namespace troupe::wire
