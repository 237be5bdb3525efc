#include "runtime/cluster/cluster_wire.h"

#include "fmt/format.h"

namespace troupe::cluster {

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::kRegisterNode: return "RegisterNode";
    case Kind::kRegisterDriver: return "RegisterDriver";
    case Kind::kWorkerReady: return "WorkerReady";
    case Kind::kAccepted: return "Accepted";
    case Kind::kDeliver: return "Deliver";
    case Kind::kWatch: return "Watch";
    case Kind::kProcessExited: return "ProcessExited";
    case Kind::kKill: return "Kill";
    case Kind::kProcessEnded: return "ProcessEnded";
    case Kind::kStartWorker: return "StartWorker";
    case Kind::kKillWorker: return "KillWorker";
    case Kind::kWorkerExited: return "WorkerExited";
    case Kind::kHeartbeat: return "Heartbeat";
    case Kind::kNodes: return "Nodes";
    case Kind::kStorage: return "Storage";
    case Kind::kStorageReply: return "StorageReply";
    case Kind::kChaosKill: return "ChaosKill";
    case Kind::kChaosKilled: return "ChaosKilled";
    case Kind::kLocate: return "Locate";
    case Kind::kLocated: return "Located";
    case Kind::kDirectOpen: return "DirectOpen";
    case Kind::kFence: return "Fence";
    case Kind::kFenced: return "Fenced";
  }
  return "?";
}

WireNode to_wire(const NodeInfo& info) {
  return {.id = info.id.value, .name = info.name, .cpus = info.cpus, .memory_bytes = info.memory_bytes,
          .gpus = info.gpus, .gpu_memory_bytes = info.gpu_memory_bytes, .gpu_flops = info.gpu_flops,
          .gpu_bandwidth_bytes_per_s = info.gpu_bandwidth_bytes_per_s, .alive = info.alive};
}

NodeInfo from_wire(const WireNode& node) {
  NodeInfo info{.id = NodeId{node.id}, .name = node.name, .cpus = node.cpus, .memory_bytes = node.memory_bytes,
                .gpus = node.gpus, .alive = node.alive};
  info.gpu_memory_bytes = node.gpu_memory_bytes;
  info.gpu_flops = node.gpu_flops;
  info.gpu_bandwidth_bytes_per_s = node.gpu_bandwidth_bytes_per_s;
  info.gpu_lost.assign(static_cast<size_t>(std::max(node.gpus, 0)), false);
  return info;
}

msgpack::unpack_limit cluster_unpack_limit() {
  // Members are authenticated, but a bug must not become a crash or a huge allocation.
  return msgpack::unpack_limit(/*array=*/1 << 20, /*map=*/1 << 16, /*str=*/64 << 20, /*bin=*/64 << 20,
                               /*ext=*/0, /*depth=*/16);
}

absl::StatusOr<Message> Message::parse(std::string_view frame) {
  Message message;
  try {
    message.handle_ = msgpack::unpack(frame.data(), frame.size(), nullptr, nullptr, cluster_unpack_limit());
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(fmt::format("a frame of {} bytes is not msgpack: {}", frame.size(), e.what()));
  }
  const msgpack::object& object = message.handle_.get();
  if (object.type != msgpack::type::ARRAY || object.via.array.size != 2 ||
      object.via.array.ptr[0].type != msgpack::type::POSITIVE_INTEGER) {
    return absl::InvalidArgumentError("a frame is not a [kind, body] array");
  }
  const uint64_t kind = object.via.array.ptr[0].via.u64;
  if (kind == 0 || kind > kKindMax) return absl::InvalidArgumentError(fmt::format("unknown message kind {}", kind));
  message.kind_ = static_cast<Kind>(kind);
  return message;
}

}  // namespace troupe::cluster
