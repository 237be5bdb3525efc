// ClusterPlatform::Impl and the head's router. Internal to runtime/cluster.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
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
  // Connects to the head and registers with the frame `registration` makes (it may read the link,
  // e.g. the local address a worker's direct server binds).
  absl::StatusOr<Accepted> join(const MemberOptions& options, const net::PeerIdentity& identity,
                                const std::function<std::string()>& registration);
  void on_member_frame(std::string frame);
  void on_member_closed(const std::string& why);
  std::future<StorageReply> storage_request(Storage request);

  // Direct links (cluster_wire.h). All under `mutex` but those that say otherwise.
  //
  // A member's Deliver for a remote process: on its direct link once that is open, through the
  // head otherwise (asking the head where the process listens the first time).
  void send_remote(ProcessId from, ProcessId to, std::string payload, Channel channel);
  // Hands `deliver` to its local process (or keeps it in `early` until that one starts).
  void deliver_locked(Deliver deliver);
  // The head answered a Locate: connect (on the io thread, without the mutex).
  void on_located(const Located& located);
  // The connection of direct link `key` to `process` ended its handshake (io thread).
  void on_direct_connected(uint32_t process, uint64_t key, absl::StatusOr<net::LinkPtr> link);
  // A DirectOpen came through the head: release what the link held, and switch back.
  void on_direct_open(const DirectOpen& open);
  // The acceptor's side: its own frames to the initiator's process go on link `key` from now on.
  void switch_back_locked(uint64_t key);
  // Frames and ends of direct links (their io threads).
  void on_direct_frame(uint64_t key, const net::LinkPtr& link, std::string frame);
  void on_direct_closed(uint64_t key, const net::LinkPtr& link);
  net::LinkHandlers direct_handlers(std::optional<uint64_t> key);
  // Workers: starts accepting direct links on `address` (not under the mutex).
  absl::Status listen_direct(const std::string& address);
  // Every direct link, taken out of the maps (to close them without the mutex).
  std::vector<net::LinkPtr> take_direct_links_locked();
  void close_direct_links();
  // Sends Fence on every direct link this member sends on and waits until each peer has answered
  // Fenced (everything sent before is in its process's queue) or the link ended, at most `wait`.
  void fence_direct_links(std::chrono::milliseconds wait);
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

  // Direct links. Outgoing: by the peer's process. Incoming: by link key (the initiator's process
  // << 32 | its counter); the initiator's own links are in both (they carry both directions).
  struct DirectOut {
    enum class State { kLocating, kConnecting, kOpen, kRetry, kNever };
    State state = State::kLocating;
    net::LinkPtr link;                              // kOpen
    std::chrono::steady_clock::time_point retry_at;  // kRetry: when to ask the head again
  };
  struct DirectIn {
    net::LinkPtr link;          // once open (null again once closed)
    uint32_t peer = 0;          // the other side's process
    bool switched = false;      // the peer's DirectOpen came through the head
    bool closed = false;
    bool fence_held = false;    // a Fence came before that DirectOpen: answer it once released
    std::vector<Deliver> held;  // arrived on the link before that DirectOpen
  };
  bool direct_links = true;                    // fixed at join (MemberOptions::direct_links)
  std::string token;                           // fixed at join: direct links authenticate with it
  std::map<uint32_t, DirectOut> direct_out;    // guarded by mutex
  std::map<uint64_t, DirectIn> direct_in;      // guarded by mutex
  uint32_t next_direct = 1;                    // guarded by mutex
  bool direct_stopped = false;                 // guarded by mutex: shutting down, no new links
  std::set<const net::Link*> fences;           // guarded by mutex: links whose Fenced is awaited
  std::condition_variable fences_changed;
  std::unique_ptr<net::LinkServer> direct_server;  // workers: set in join, before any frame
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
