// ProcessRuntime: the runtime inside one process (Ray's core worker) — the driver's or an actor
// worker's.
//
// It owns the process's objects (call results and puts, with the fibers and borrowers waiting on
// them), the caller side of every actor it talks to (the submitter: sequence numbers, calls
// queued until the actor is placed, calls in flight, the actor's last known state), and, in a
// worker, the hosted actor (its object, its mailbox, per-caller ordering, the executor fiber).
//
// Concurrency: the platform runs a process's callbacks and fibers one at a time, so nothing
// here takes a lock. Blocking operations park the calling fiber. The one exception is a threaded
// actor's method bodies, which run beside the process's serial work (Platform::run_parallel):
// every entry point user code reaches opens a ProcessTurn first.
//
// Ordering: each caller numbers its calls to an actor from 0; the worker runs them strictly in
// that order per caller, whatever order the network delivers them in.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "runtime/actor_class.h"
#include "runtime/core/object_table.h"
#include "runtime/detail/runtime_api.h"
#include "runtime/platform.h"
#include "runtime/system.h"
#include "runtime/wire/messages.h"

namespace troupe::core {

// Facts every process of a cluster shares.
struct ClusterConfig {
  ProcessId directory;  // the directory (GCS) process
};

// Resending calls after a broken connection: the first resend waits kResendDelayMin, each
// consecutive loss doubles the wait, up to kResendDelayMax (a partition may last seconds).
inline constexpr Nanos kResendDelayMin = 10 * kMillisecond;
inline constexpr Nanos kResendDelayMax = 1 * kSecond;

class ProcessRuntime final : public ProcessHost, public detail::Runtime {
 public:
  // A driver when `boot` is empty; otherwise a worker for the actor whose wire::ActorSpec is
  // encoded in `boot` (constructed in on_start()).
  ProcessRuntime(Platform& platform, ClusterConfig config, std::string boot);
  ~ProcessRuntime() override;

  // ProcessHost.
  detail::Runtime* user_runtime() override { return this; }
  void on_start() override;
  void on_message(ProcessId from, std::string payload) override;
  void on_connection_lost(ProcessId peer) override;
  // An owner this process borrows objects from has ended: the objects it has not received from
  // it are lost (Ray's OwnerDiedError), so their getters fail instead of waiting forever.
  void on_process_exit(ProcessId process, std::string_view why) override;
  std::string describe_wait(const WaitReason& reason) override;
  std::string describe_fiber(FiberId fiber) override;
  // A worker's boot bytes (its actor's wire::ActorSpec); nullopt for a driver.
  std::optional<std::string> boot_image() const override;

  // detail::Runtime.
  Platform& platform() override { return platform_; }
  System& system() override { return system_; }
  ProcessId process() const override { return self_; }
  ActorId create_actor(wire::ActorSpec spec) override;
  ObjectId submit_call(ActorId actor, uint32_t method, std::string_view method_name, std::string args,
                       const CallOptions& options) override;
  std::optional<wire::ObjectPayload> get_object(ObjectId id, std::optional<Nanos> deadline) override;
  std::vector<bool> wait_objects(const std::vector<ObjectId>& ids, size_t num_returns,
                                 std::optional<Nanos> deadline) override;
  ObjectId put_object(std::string bytes) override;
  std::shared_ptr<detail::RefToken> ref_token(ObjectId id) override;
  size_t object_count() const override {
    ProcessTurn turn;
    return objects_->size();
  }
  std::optional<detail::NamedActor> lookup_actor(const std::string& name, const std::string& ns) override;
  void kill_actor(ActorId actor, bool no_restart) override;
  ActorId hosted_actor() const override { return hosted_ ? ActorId::unpack(hosted_->spec.actor) : ActorId{}; }
  void exit_actor() override;
  void crash_actor() override;
  int restart_count() const override { return hosted_ ? static_cast<int>(hosted_->spec.incarnation) : 0; }
  std::vector<uint32_t> gpu_ids() const override { return hosted_ ? hosted_->spec.gpu_ids : std::vector<uint32_t>{}; }
  std::optional<std::string> env(const std::string& name) const override;
  std::string working_dir() const override { return hosted_ ? hosted_->spec.working_dir : std::string(); }
  uint64_t create_placement_group(wire::CreatePlacementGroup request) override;
  void remove_placement_group(uint64_t group) override;
  std::optional<wire::DescribeReply> describe(wire::Describe request, std::optional<Nanos> deadline) override;

 private:
  // A call this process made and has no final answer for yet.
  struct PendingCall {
    wire::Call call;
    std::optional<int> max_task_retries;    // the call's own options (CallOptions), else the actor's
    std::optional<RetryExceptions> retry_exceptions;
    int retries_used = 0;
    bool resend_due = false;  // its connection broke; the resend timer sends it again
  };

  // The caller's view of one actor.
  struct RemoteActor {
    uint8_t state = wire::ActorState::kPending;
    ProcessId address;
    uint32_t incarnation = 0;                      // of the worker at `address`
    uint32_t restarting_incarnation = 0;           // the newest incarnation announced as starting
    bool subscribed = false;
    uint64_t next_sequence = 0;                    // per incarnation
    std::deque<PendingCall> queued;                // waiting for the actor to be (re)started
    std::map<uint64_t, PendingCall> in_flight;     // sequence -> call, sent to `incarnation`
    wire::ObjectPayload death;                     // when dead
    // Resending after broken connections: the delay before the next resend (doubling per
    // consecutive loss, reset by a reply) and the pending resend timer, if any.
    Nanos resend_delay = 0;
    TimerId resend_timer = 0;
    // The actor's policy (from its spec when this process created it, else from ActorState).
    int max_pending_calls = -1;
    int max_task_retries = 0;
    RetryExceptions retry_exceptions;
  };

  // The actor this worker hosts.
  //
  // Calls wait in their concurrency group's queue, in the order they were admitted (each
  // caller's in sequence order). A group runs at most `limit` calls at once, each on an executor
  // fiber that takes the next queued call of its group when it finishes one; a sequential actor
  // is one group with limit 1, so one fiber drains it. A threaded actor's method bodies run
  // through Platform::run_parallel (lane pool = group index); an async actor's fibers are
  // cooperative (ExecutionContext::cooperative).
  struct HostedActor {
    struct Group {
      std::string name;  // "" for the default group
      int limit = 1;
      int running = 0;   // executor fibers (each runs one call at a time)
      int starting = 0;  // of those, spawned but not yet started (they take a call when they do)
      std::deque<wire::Call> queue;
    };
    struct CallerQueue {
      uint64_t next_sequence = 0;
      std::map<uint64_t, wire::Call> early;  // arrived ahead of their turn
    };

    wire::ActorSpec spec;
    const detail::ClassInfo* info = nullptr;
    void* object = nullptr;
    bool constructed = false;
    bool exit_requested = false;
    bool exit_sent = false;
    Concurrency mode = Concurrency::kSequential;
    std::vector<Group> groups;            // [0] is the default group
    std::vector<uint32_t> method_group;   // method index -> its group (methods of no group: 0)
    std::map<uint32_t, CallerQueue> callers;
    // Executor fiber -> the call it runs, for reports. A vector (at most the sum of the groups'
    // limits, reused): the per-call cost of a map node would show in the hot path.
    std::vector<std::pair<FiberId, const wire::Call*>> running;

    bool idle() const;
  };

  // A directory request this process waits on.
  struct PendingRpc {
    FiberId waiter;
    std::optional<std::string> reply;  // the encoded reply body, once arrived
  };

  // Messages.
  void on_call(wire::Call call);
  void on_call_reply(wire::CallReply reply);
  void on_actor_state(wire::ActorState state);
  void on_get_object(ProcessId from, wire::GetObject request);
  void on_object_reply(wire::ObjectReply reply);
  void on_rpc_reply(uint64_t rpc, std::string body);
  void on_fence(const wire::FenceWorker& fence);

  // Objects.
  ObjectId new_object_id();
  void fill_object(ObjectId id, wire::ObjectPayload payload);
  void request_if_borrowed(ObjectId id, ObjectEntry& entry);
  // Parks until `id` is ready or `deadline` passes; true when ready.
  bool wait_ready(ObjectId id, std::optional<Nanos> deadline);

  // Submitter.
  RemoteActor& remote(ActorId actor);
  void send_call(RemoteActor& remote, PendingCall call);
  // Fails the queued calls and those in flight with the actor's death, except calls in flight
  // with a sequence below `keep_below` (an exited actor answered them; replies are on the way).
  void fail_calls(RemoteActor& remote, uint64_t keep_below = 0);
  // Takes one retry for `call`; false when it has none left under its policy.
  bool take_retry(const RemoteActor& remote, PendingCall& call) const;
  // The worker of `remote` ended: retry what may be retried, fail the rest as unavailable.
  void on_incarnation_lost(ActorId id, RemoteActor& remote, const std::string& why);
  // The connection to the worker of `remote` lost messages: each call in flight may or may not
  // have run. Those with a retry left are resent after a backoff; the rest fail as unavailable.
  void on_calls_lost(ActorId id, RemoteActor& remote);
  void resend_calls(ActorId id);
  // Asks the owners in refetch_from_ again for the objects still being fetched from them.
  void refetch_objects();

  // Directory requests.
  template <typename Request>
  std::string directory_rpc(wire::MessageKind kind, Request request, std::string_view what);
  // The same, giving up at `deadline` (a late reply is dropped): nullopt then.
  template <typename Request>
  std::optional<std::string> directory_rpc_until(wire::MessageKind kind, Request request, std::string_view what,
                                                 std::optional<Nanos> deadline);
  // Calls, replies and object fetches go on the data channel (worker to worker, and may be lost
  // when a connection breaks); everything to and from the directory on the control channel.
  template <typename Body>
  void send(ProcessId to, wire::MessageKind kind, const Body& body) {
    platform_.send(self_, to, wire::encode_message(kind, body), channel_of(kind));
  }
  static Channel channel_of(wire::MessageKind kind);

  // Hosted actor.
  void construct_actor();
  // Puts an admitted call in its group's queue (or answers it at once when it names a group the
  // actor does not have) and dispatches the group.
  void admit(wire::Call&& call);
  // Dispatches every group (once the actor is constructed).
  void start_executor();
  // Starts an executor fiber for each queued call of group `g` that fits under its limit.
  void dispatch(size_t g);
  // Sends `result` to the caller of `call`, stamped with this worker's incarnation.
  void reply(const wire::Call& call, wire::ObjectPayload result);
  // An executor fiber of group `g`: runs the group's queued calls, one at a time, until the
  // queue is empty.
  void run_calls(size_t g);
  // Runs one call; `zone` holds its decoded arguments.
  wire::ObjectPayload execute(const wire::Call& call, size_t g, msgpack::zone& zone);
  // After this_actor::exit(): tells the directory once every admitted call has run.
  void exit_if_idle();
  // Unpacks an argument array into `zone`, resolving Ref arguments first (which may block);
  // `storage` keeps the bytes of the resolved array. Returns the array, or the error payload
  // (a malformed array, or the failure of a Ref argument's call).
  std::variant<msgpack::object, wire::ObjectPayload> unpack_args(msgpack::zone& zone, const std::string& args,
                                                                 std::string& storage);
  // The class and, if it has one, its repr(): "Counter Counter(3)".
  std::string actor_label() const;
  uint32_t reply_incarnation() const { return hosted_ ? hosted_->spec.incarnation : 0; }

  Platform& platform_;
  ClusterConfig config_;
  ProcessId self_;
  System system_;
  std::shared_ptr<ObjectTable> objects_ = std::make_shared<ObjectTable>();  // Ref tokens hold weak refs
  uint32_t next_object_ = 1;
  uint32_t next_actor_ = 1;
  uint64_t next_rpc_ = 1;
  uint32_t next_group_ = 1;
  std::map<ActorId, RemoteActor> remotes_;  // ordered: failed in id order
  std::map<uint64_t, PendingRpc> rpcs_;
  std::set<ObjectId> fetching_;  // borrowed objects asked of their owners, not arrived yet
  std::set<ProcessId> refetch_from_;  // owners whose connection lost messages: ask them again
  std::set<ProcessId> watched_owners_;  // owners of borrowed objects, watched from the first fetch
  TimerId refetch_timer_ = 0;
  std::unique_ptr<HostedActor> hosted_;
  wire::MessageReader reader_;                         // on_message's
  msgpack::zone call_zone_{wire::kZoneChunkBytes};     // a sequential actor's executor's, cleared per call
};

}  // namespace troupe::core
