// ClusterPlatform::Impl and the head's router. Internal to runtime/cluster.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runtime/cluster/cluster_platform.h"
#include "runtime/cluster/cluster_wire.h"
#include "runtime/net/link.h"

namespace troupe::cluster {

enum class Role { kHead, kDriver, kWorker };

class Head;

// Requests to the head awaiting their reply (Storage -> StorageReply, ChaosKill -> ChaosKilled),
// by request id.
template <typename Reply>
using Waiters = std::map<uint64_t, std::shared_ptr<std::promise<Reply>>>;

struct ClusterPlatform::Impl {
  explicit Impl(Role role);
  ~Impl();

  void make_local(ThreadsPlatformOptions options);
  bool is_local(ProcessId process);
  // Runs `watcher`'s on_process_exit(target, why) in its context.
  void tell_exit(ProcessId watcher, ProcessId target, std::string why);
  // Destroys the link threads, the head and then the local platform, in that order.
  void shutdown();

  // Members.
  absl::StatusOr<Accepted> join(const MemberOptions& options, const net::PeerIdentity& identity,
                                std::string registration);
  void on_member_frame(std::string frame);
  void on_member_closed(const std::string& why);
  std::future<StorageReply> storage_request(Storage request);
  // Numbers `body` (its `request` field), sends it as `kind` and returns the future of its reply;
  // nullopt once the link to the head is gone.
  template <typename Reply, typename Body>
  std::optional<std::future<Reply>> request(Kind kind, Body body, Waiters<Reply>& waiters) {
    auto waiter = std::make_shared<std::promise<Reply>>();
    std::future<Reply> reply = waiter->get_future();
    {
      std::lock_guard lock(mutex);
      if (disconnected) return std::nullopt;
      body.request = next_request++;
      waiters.emplace(body.request, std::move(waiter));
    }
    link->send(encode_frame_body(kind, body));
    return reply;
  }
  // Hands `reply` to the request it answers, if that one still waits.
  template <typename Reply>
  void answer(Waiters<Reply>& waiters, Reply reply) {
    std::shared_ptr<std::promise<Reply>> waiter;
    {
      std::lock_guard lock(mutex);
      auto found = waiters.find(reply.request);
      if (found == waiters.end()) return;
      waiter = std::move(found->second);
      waiters.erase(found);
    }
    waiter->set_value(std::move(reply));
  }

  const Role role;
  ClusterPlatform* self = nullptr;
  // Set once by make_local, under `mutex`: a driver makes it after joining, while its link's io
  // thread may already run on_member_closed, which reads it under `mutex` too. Other readers run
  // on threads that start after make_local.
  std::unique_ptr<ThreadsPlatform> local;
  std::unique_ptr<StorageService> store;  // members: the head's, remotely
  std::unique_ptr<Head> head;             // the head only
  ProcessId assigned;

  // Members' link.
  std::unique_ptr<net::IoThread> io;
  net::LinkPtr link;
  std::shared_ptr<std::promise<Accepted>> accepted_promise;  // until the head accepts

  mutable std::mutex mutex;
  std::condition_variable nodes_changed;
  std::set<uint32_t> local_processes;      // guarded by mutex
  std::vector<Deliver> early;              // guarded by mutex: for a local process not started yet
  std::vector<NodeInfo> node_snapshot;     // guarded by mutex (members)
  bool disconnected = false;               // guarded by mutex
  std::string disconnect_reason;           // guarded by mutex
  uint64_t next_request = 1;               // guarded by mutex
  Waiters<StorageReply> storage_waiters;   // guarded by mutex
  Waiters<ChaosKilled> chaos_waiters;      // guarded by mutex
};

// The head's side: the node table, the routes of every process, watches, heartbeats, the store
// served to members, and node 0's worker processes. Thread-safe (one mutex).
class Head {
 public:
  static absl::StatusOr<std::unique_ptr<Head>> create(ClusterPlatform::Impl& impl, const HeadOptions& options);
  ~Head();
  void stop();

  uint16_t port() const;
  std::vector<std::string> refusals() const;
  size_t live_workers() const;
  std::vector<NodeInfo> nodes() const;

  absl::StatusOr<ProcessId> start_process(NodeId node, std::string name, std::unique_ptr<ProcessHost> host);
  void kill(ProcessId process, std::string_view why);
  void watch(ProcessId watcher, ProcessId target);
  void watch_nodes(ProcessId watcher, bool failures);
  void route(ProcessId from, ProcessId to, std::string payload, Channel channel);

  struct State;

 private:
  explicit Head(ClusterPlatform::Impl& impl);
  std::unique_ptr<State> state_;
};

}  // namespace troupe::cluster
