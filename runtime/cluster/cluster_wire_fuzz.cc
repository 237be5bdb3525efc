// libFuzzer target: the cluster's messages (runtime/cluster/cluster_wire.h) and the settings a
// worker or daemon reads from its stdin, against arbitrary bytes. The head parses every frame of
// an authenticated peer with Message::parse and the kind's body; none of it may crash, leak or
// allocate beyond the unpack limits.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/cluster/cluster_main.h"
#include "runtime/cluster/cluster_wire.h"

namespace {

using namespace troupe::cluster;

void decode_body(const Message& message) {
  switch (message.kind()) {
    case Kind::kRegisterNode: (void)message.body<RegisterNode>(); break;
    case Kind::kRegisterDriver: (void)message.body<RegisterDriver>(); break;
    case Kind::kWorkerReady: (void)message.body<WorkerReady>(); break;
    case Kind::kAccepted: (void)message.body<Accepted>(); break;
    case Kind::kDeliver: (void)message.body<Deliver>(); break;
    case Kind::kWatch: (void)message.body<Watch>(); break;
    case Kind::kProcessExited: (void)message.body<ProcessExited>(); break;
    case Kind::kKill: (void)message.body<Kill>(); break;
    case Kind::kProcessEnded: (void)message.body<ProcessEnded>(); break;
    case Kind::kStartWorker: (void)message.body<StartWorker>(); break;
    case Kind::kKillWorker: (void)message.body<KillWorker>(); break;
    case Kind::kWorkerExited: (void)message.body<WorkerExited>(); break;
    case Kind::kHeartbeat: (void)message.body<Heartbeat>(); break;
    case Kind::kNodes: (void)message.body<Nodes>(); break;
    case Kind::kStorage: (void)message.body<Storage>(); break;
    case Kind::kStorageReply: (void)message.body<StorageReply>(); break;
    case Kind::kChaosKill: (void)message.body<ChaosKill>(); break;
    case Kind::kChaosKilled: (void)message.body<ChaosKilled>(); break;
    case Kind::kLocate: (void)message.body<Locate>(); break;
    case Kind::kLocated: (void)message.body<Located>(); break;
    case Kind::kDirectOpen: (void)message.body<DirectOpen>(); break;
    case Kind::kFence: (void)message.body<Fence>(); break;
    case Kind::kFenced: (void)message.body<Fence>(); break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (absl::StatusOr<Message> message = Message::parse(bytes); message.ok()) decode_body(*message);
  (void)decode_limited<WorkerBoot>(bytes, "the worker boot");
  (void)decode_limited<LaunchSettings>(bytes, "the launch settings");
  return 0;
}
