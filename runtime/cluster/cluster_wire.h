// The messages of a real cluster (runtime/cluster), one per frame on a Link (runtime/net/link.h)
// after its handshake: a msgpack array [kind, body], body a msgpack array of the kind's fields.
//
// The topology is a star: every member (a node daemon, a worker, a driver) has one link to the
// head, and the head routes process messages between them (Deliver). Who sends what:
//
//   node -> head    RegisterNode, Heartbeat, WorkerExited
//   driver -> head  RegisterDriver
//   worker -> head  WorkerReady
//   member -> head  Deliver, Watch, Kill, ProcessEnded, Storage
//   driver -> head  ChaosKill (head -> driver: ChaosKilled)
//   member -> head  Locate (head -> member: Located), DirectOpen (routed on like Deliver)
//   member <-> worker, on a direct link: Deliver, Fence, Fenced
//   head -> node    Accepted, StartWorker, KillWorker
//   head -> member  Accepted, Deliver, ProcessExited, Nodes, StorageReply
//
// Direct links. A worker also listens (on the address its link to the head leaves from) and says
// where in its WorkerReady. A member that sends to a worker asks the head where it listens
// (Locate), connects to it (a link of role "direct", named "p<process> <link>"), and switches
// its Deliver frames for that worker from the head's route to the direct link; the worker does
// the same for its frames back. Each side's switch is ordered by a DirectOpen it sends through
// the head just before its first direct frame: the receiver holds what arrives on the direct link
// until that DirectOpen has come through the head, so everything the sender routed through the
// head before arrives first, and each sender's messages to a receiver still arrive in order.
// A worker whose process ends on its own (it crashed, was fenced) first sends Fence on each direct
// link it sends on and waits for the peer's Fenced (or the link's end, at most 2 s) before it
// tells the head: what it sent directly reaches its peers before the news of its end.
//
// A peer that sends a frame that does not decode, or a kind its role may not send, is refused
// (the head logs why and closes the link).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "fmt/format.h"
#include "msgpack.hpp"
#include "runtime/platform.h"

namespace troupe::cluster {

enum class Kind : uint8_t {
  kRegisterNode = 1,
  kRegisterDriver = 2,
  kWorkerReady = 3,
  kAccepted = 4,
  kDeliver = 5,
  kWatch = 6,
  kProcessExited = 7,
  kKill = 8,
  kProcessEnded = 9,
  kStartWorker = 10,
  kKillWorker = 11,
  kWorkerExited = 12,
  kHeartbeat = 13,
  kNodes = 14,
  kStorage = 15,
  kStorageReply = 16,
  kChaosKill = 17,
  kChaosKilled = 18,
  kLocate = 19,
  kLocated = 20,
  kDirectOpen = 21,
  kFence = 22,
  kFenced = 23,
};
inline constexpr uint8_t kKindMax = 23;

// "Deliver", for refusals and logs.
std::string_view kind_name(Kind kind);

// A node as the cluster sees it (NodeInfo on the wire).
struct WireNode {
  uint32_t id = 0;
  std::string name;
  double cpus = 0;
  int64_t memory_bytes = 0;
  int32_t gpus = 0;
  int64_t gpu_memory_bytes = 0;
  double gpu_flops = 0;
  double gpu_bandwidth_bytes_per_s = 0;
  bool alive = true;
  MSGPACK_DEFINE(id, name, cpus, memory_bytes, gpus, gpu_memory_bytes, gpu_flops, gpu_bandwidth_bytes_per_s, alive);
};
WireNode to_wire(const NodeInfo& info);
NodeInfo from_wire(const WireNode& node);

struct RegisterNode {
  WireNode node;  // id ignored: the head assigns it
  MSGPACK_DEFINE(node);
};

struct RegisterDriver {
  std::string binary;  // the driver's executable: workers of its actors run it
  MSGPACK_DEFINE(binary);
};

struct WorkerReady {
  uint32_t process = 0;
  // Where the worker accepts direct links (port 0: it does not).
  std::string direct_host;
  uint16_t direct_port = 0;
  MSGPACK_DEFINE(process, direct_host, direct_port);
};

// The head's answer to a registration: the member's node (a node) or process (a driver), the
// directory's process, and the nodes so far.
struct Accepted {
  uint32_t node = 0;
  uint32_t process = 0;
  uint32_t directory = 0;
  std::vector<WireNode> nodes;
  MSGPACK_DEFINE(node, process, directory, nodes);
};

struct Deliver {
  uint32_t from = 0;
  uint32_t to = 0;
  uint8_t channel = 0;  // Channel
  std::string payload;
  MSGPACK_DEFINE(from, to, channel, payload);
};

struct Watch {
  uint32_t watcher = 0;
  uint32_t target = 0;
  MSGPACK_DEFINE(watcher, target);
};

struct ProcessExited {
  uint32_t watcher = 0;
  uint32_t target = 0;
  std::string why;
  MSGPACK_DEFINE(watcher, target, why);
};

// Kill a process (Platform::kill_process of a process in another OS process).
struct Kill {
  uint32_t process = 0;
  std::string why;
  MSGPACK_DEFINE(process, why);
};

// A member's own process ended (it crashed, was fenced): why, before its OS process exits.
struct ProcessEnded {
  uint32_t process = 0;
  std::string why;
  MSGPACK_DEFINE(process, why);
};

struct StartWorker {
  uint32_t process = 0;
  uint32_t node = 0;
  uint32_t directory = 0;
  std::string name;
  std::string binary;
  std::string boot;  // ProcessHost::boot_image()
  std::vector<std::pair<std::string, std::string>> env;
  MSGPACK_DEFINE(process, node, directory, name, binary, boot, env);
};

struct KillWorker {
  uint32_t process = 0;
  MSGPACK_DEFINE(process);
};

struct WorkerExited {
  uint32_t process = 0;
  std::string why;  // "killed by signal 9 (SIGKILL)"
  MSGPACK_DEFINE(process, why);
};

struct Heartbeat {
  uint64_t sequence = 0;
  MSGPACK_DEFINE(sequence);
};

struct Nodes {
  std::vector<WireNode> nodes;
  MSGPACK_DEFINE(nodes);
};

// A StorageService operation on the head's store.
struct Storage {
  enum Op : uint8_t { kPut = 1, kGet = 2, kRemove = 3 };
  uint64_t request = 0;
  uint8_t op = 0;
  std::string key;
  std::string value;
  uint64_t fence = 0;
  MSGPACK_DEFINE(request, op, key, value, fence);
};

struct StorageReply {
  uint64_t request = 0;
  int32_t code = 0;  // absl::StatusCode
  std::string message;
  bool found = false;
  std::string value;
  MSGPACK_DEFINE(request, code, message, found, value);
};

// Chaos (--chaos-kills): SIGKILL of the live worker at index pick % (live workers), by process id.
struct ChaosKill {
  uint64_t request = 0;
  uint64_t pick = 0;
  MSGPACK_DEFINE(request, pick);
};

struct ChaosKilled {
  uint64_t request = 0;
  uint32_t process = 0;  // 0: no worker was alive
  std::string name;      // "a2.1 Counter"
  MSGPACK_DEFINE(request, process, name);
};

// Where a worker accepts direct links: asked by a member about to send to `process`.
struct Locate {
  uint64_t request = 0;
  uint32_t process = 0;
  MSGPACK_DEFINE(request, process);
};

// The answer: port 0 when there is no direct link to `process` (not a live worker that listens);
// `later` when it is a worker still starting (ask again).
struct Located {
  uint64_t request = 0;
  uint32_t process = 0;
  std::string host;
  uint16_t port = 0;
  bool later = false;
  MSGPACK_DEFINE(request, process, host, port, later);
};

// From `from`'s OS process to `to`'s, through the head: "my frames to you now come on direct link
// `link`" (the initiator's process << 32 | its counter).
struct DirectOpen {
  uint32_t from = 0;
  uint32_t to = 0;
  uint64_t link = 0;
  MSGPACK_DEFINE(from, to, link);
};

// On a direct link only: "tell me once you have taken in everything I sent before" (Fenced).
struct Fence {
  uint64_t sequence = 0;
  MSGPACK_DEFINE(sequence);
};

// The bytes of a frame holding `body` as `kind`.
template <typename Body>
std::string encode_frame_body(Kind kind, const Body& body) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_array(2);
  packer.pack(static_cast<uint8_t>(kind));
  packer.pack(body);
  return std::string(buffer.data(), buffer.size());
}

// The limits every cluster message and launch blob is unpacked with: a bug or a hostile peer must
// not become a huge allocation.
msgpack::unpack_limit cluster_unpack_limit();

// Decodes `bytes` as a T (a launch blob read from stdin) under cluster_unpack_limit();
// InvalidArgument naming `what` otherwise.
template <typename T>
absl::StatusOr<T> decode_limited(std::string_view bytes, std::string_view what) {
  T out{};
  try {
    msgpack::object_handle handle =
        msgpack::unpack(bytes.data(), bytes.size(), nullptr, nullptr, cluster_unpack_limit());
    handle.get().convert(out);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(fmt::format("{} of {} bytes does not decode: {}", what, bytes.size(), e.what()));
  }
  return out;
}

// A decoded frame: its kind and its body, still packed (decode it with body<T>()).
class Message {
 public:
  // InvalidArgument naming what is wrong: not msgpack, not [kind, body], an unknown kind.
  static absl::StatusOr<Message> parse(std::string_view frame);
  Kind kind() const { return kind_; }
  template <typename Body>
  absl::StatusOr<Body> body() const {
    Body out;
    try {
      handle_.get().via.array.ptr[1].convert(out);
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(fmt::format("a {} frame does not decode: {}", kind_name(kind_), e.what()));
    }
    return out;
  }

 private:
  Kind kind_ = Kind::kDeliver;
  msgpack::object_handle handle_;
};

}  // namespace troupe::cluster

namespace troupe::cluster {

// What a node daemon hands a worker OS process on its stdin: everything it needs to join the
// cluster as `process` and rebuild its ProcessHost from `boot`.
struct WorkerBoot {
  std::string host;
  uint16_t port = 0;
  std::string token;
  uint32_t process = 0;
  std::string name;
  WireNode node;
  uint32_t directory = 0;
  std::string boot;
  MSGPACK_DEFINE(host, port, token, process, name, node, directory, boot);
};

}  // namespace troupe::cluster
