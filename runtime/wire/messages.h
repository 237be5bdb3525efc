// The messages processes exchange, and their envelope.
//
// Every message is msgpack `[kind, body]`, where body is one of the structs below (each a msgpack
// array through MSGPACK_DEFINE). Ids travel packed into uint64 (ActorId::packed, ObjectId::packed)
// and processes as their uint32 value. Payloads that are themselves msgpack (call arguments,
// results) travel as byte strings, decoded by the receiver that knows their type.
//
// Who sends what:
//   caller   -> directory  CreateActor, SubscribeActor, KillActor, LookupName
//   directory-> caller     CreateActorReply, ActorState, LookupNameReply
//   worker   -> directory  ActorStarted, ActorExited
//   caller   -> worker     Call;           worker -> caller  CallReply
//   borrower -> owner      GetObject;      owner  -> borrower ObjectReply
//   caller   -> directory  CreatePlacementGroup, RemovePlacementGroup, Describe
//   directory-> caller     DescribeReply
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "msgpack.hpp"
#include "runtime/wire/codec.h"

namespace troupe::wire {

enum class MessageKind : uint8_t {
  kCreateActor = 1,
  kCreateActorReply = 2,
  kActorStarted = 3,
  kActorState = 4,
  kSubscribeActor = 5,
  kCall = 6,
  kCallReply = 7,
  kGetObject = 8,
  kObjectReply = 9,
  kKillActor = 10,
  kLookupName = 11,
  kLookupNameReply = 12,
  kActorExited = 13,
  kFenceWorker = 14,
  kCreatePlacementGroup = 15,
  kRemovePlacementGroup = 16,
  kDescribe = 17,
  kDescribeReply = 18,
};

std::string_view message_kind_name(MessageKind kind);

// How an object (a call's result or a put value) ended up. 0 = a value.
enum class ObjectStatus : uint8_t {
  kOk = 0,
  kTaskError = 1,         // the method threw
  kActorDied = 2,         // the actor is dead (cause in error_message)
  kActorUnavailable = 3,  // the actor could not be reached; the call may or may not have run
  kUnschedulable = 4,     // the actor can never be placed
  kObjectLost = 5,        // the owner of the object is gone
};

// A value or the error that took its place.
struct ObjectPayload {
  uint8_t status = 0;  // ObjectStatus
  std::string bytes;   // the msgpack value when status == kOk
  std::string error_type;
  std::string error_message;
  MSGPACK_DEFINE(status, bytes, error_type, error_message);
};

// A concurrency group as the worker sees it: its limit and the methods (indices in TROUPE_ACTOR's
// list) that run in it unless a call names another group.
struct ConcurrencyGroupSpec {
  std::string name;
  int32_t max_concurrency = 1;
  std::vector<uint32_t> methods;
  MSGPACK_DEFINE(name, max_concurrency, methods);
};

// num_gpus has a precision of 1/kGpuUnits of a device (Ray's 0.0001).
inline constexpr int32_t kGpuUnits = 10000;

// Everything the directory needs to place and start an actor.
struct ActorSpec {
  uint64_t actor = 0;
  uint32_t owner = 0;  // the creating process
  std::string class_name;
  std::string ctor_key;   // which registered constructor (class and argument types)
  std::string ctor_args;  // msgpack array of the constructor's arguments
  std::string name;       // empty: anonymous
  std::string ns;
  bool detached = false;
  bool get_if_exists = false;
  double num_cpus = 1;
  int64_t memory_bytes = 0;
  std::map<std::string, double> resources;
  int32_t max_pending_calls = -1;
  int32_t max_restarts = 0;      // -1: forever
  int32_t max_task_retries = 0;  // -1: forever
  bool retry_exceptions = false;
  uint32_t incarnation = 0;      // set by the directory when it starts a worker: 0, then 1 per restart
  int64_t restart_backoff_ns = 0;      // wait before the first restart; doubles per restart
  int64_t restart_backoff_max_ns = 0;  // the cap
  std::vector<std::string> retry_exception_types;  // when !retry_exceptions: retry only these
  uint8_t concurrency = 0;       // troupe::Concurrency
  int32_t max_concurrency = 1;   // of the default group (resolved: never 0)
  std::vector<ConcurrencyGroupSpec> concurrency_groups;
  // GPUs in units of 1/kGpuUnits of a device (num_gpus = 0.5 is 5000): below kGpuUnits a share of
  // one device, else whole devices. gpu_ids: the devices the directory assigned at placement.
  int32_t gpu_units = 0;
  std::vector<uint32_t> gpu_ids;
  // Where to place it (troupe::SchedulingStrategy): kDefault, kSpread, kNodeAffinity
  // (affinity_node, affinity_soft) or kPlacementGroup (placement_group, bundle; -1 = any).
  enum Scheduling : uint8_t { kDefault = 0, kSpread = 1, kNodeAffinity = 2, kPlacementGroup = 3 };
  uint8_t scheduling = kDefault;
  uint32_t affinity_node = 0;
  bool affinity_soft = false;
  uint64_t placement_group = 0;
  int32_t bundle = -1;
  // troupe::RuntimeEnv: the worker's environment variables and working directory.
  std::map<std::string, std::string> env_vars;
  std::string working_dir;
  MSGPACK_DEFINE(actor, owner, class_name, ctor_key, ctor_args, name, ns, detached, get_if_exists, num_cpus,
                 memory_bytes, resources, max_pending_calls, max_restarts, max_task_retries, retry_exceptions,
                 incarnation, restart_backoff_ns, restart_backoff_max_ns, retry_exception_types, concurrency,
                 max_concurrency, concurrency_groups, gpu_units, gpu_ids, scheduling, affinity_node, affinity_soft,
                 placement_group, bundle, env_vars, working_dir);
};

// One bundle of a placement group (troupe::Bundle, GPUs in kGpuUnits).
struct BundleSpec {
  double cpus = 0;
  int64_t memory_bytes = 0;
  int32_t gpu_units = 0;
  std::map<std::string, double> resources;
  MSGPACK_DEFINE(cpus, memory_bytes, gpu_units, resources);
};

// Reserve a placement group (no reply: the creator asks with Describe when it wants to know).
struct CreatePlacementGroup {
  uint64_t group = 0;  // (creator process << 32) | counter
  uint32_t owner = 0;
  std::string name;
  uint8_t strategy = 0;  // troupe::PlacementStrategy
  std::vector<BundleSpec> bundles;
  bool detached = false;  // else removed when `owner` ends (Lifetime::kOwned)
  MSGPACK_DEFINE(group, owner, name, strategy, bundles, detached);
};

struct RemovePlacementGroup {
  uint64_t group = 0;
  MSGPACK_DEFINE(group);
};

// Asks the directory about an actor (actor != 0) or a placement group. With wait_ready (groups
// only), the reply waits until the group is reserved or removed.
struct Describe {
  uint64_t rpc = 0;
  uint64_t actor = 0;
  uint64_t group = 0;
  bool wait_ready = false;
  MSGPACK_DEFINE(rpc, actor, group, wait_ready);
};

struct DescribeReply {
  enum GroupState : uint8_t { kGroupPending = 0, kGroupCreated = 1, kGroupRemoved = 2 };
  uint64_t rpc = 0;
  bool found = false;
  uint8_t state = 0;  // actors: ActorState::State; groups: GroupState
  bool placed = false;
  uint32_t node = 0;  // when placed
  std::vector<uint32_t> gpu_ids;
  int32_t restarts = 0;
  std::string pending_reason;
  std::string death_cause;             // groups: why it was removed, when by its creator's end
  std::vector<uint32_t> bundle_nodes;  // groups, when created
  MSGPACK_DEFINE(rpc, found, state, placed, node, gpu_ids, restarts, pending_reason, death_cause, bundle_nodes);
};

struct CreateActor {
  uint64_t rpc = 0;  // nonzero when the creator waits for CreateActorReply (named actors)
  ActorSpec spec;
  MSGPACK_DEFINE(rpc, spec);
};

struct CreateActorReply {
  enum Outcome : uint8_t { kCreated = 0, kExisting = 1, kNameTaken = 2, kInvalid = 3 };
  uint64_t rpc = 0;
  uint8_t outcome = kCreated;
  uint64_t actor = 0;  // the existing actor for kExisting
  std::string class_name;
  std::string error;
  MSGPACK_DEFINE(rpc, outcome, actor, class_name, error);
};

struct ActorStarted {
  uint64_t actor = 0;
  uint32_t incarnation = 0;
  bool ok = true;
  std::string error_type;  // the constructor's exception, when !ok
  std::string error_message;
  MSGPACK_DEFINE(actor, incarnation, ok, error_type, error_message);
};

struct ActorExited {
  uint64_t actor = 0;
  uint32_t incarnation = 0;
  // Per caller process: how many of its calls (sequences 0..n-1 of this incarnation) the worker
  // ran and answered before exiting. Their replies may still be on their way when the callers
  // hear of the exit; later calls were refused or never arrived.
  std::map<uint32_t, uint64_t> answered;
  MSGPACK_DEFINE(actor, incarnation, answered);
};

// The directory gave up on this worker (it was reported dead, perhaps falsely) and replaced it:
// the worker ends itself on receipt, so a split brain lasts only until this arrives.
struct FenceWorker {
  uint64_t actor = 0;
  uint32_t incarnation = 0;  // the incarnation the directory gave up on
  MSGPACK_DEFINE(actor, incarnation);
};

// The directory's word on an actor. Callers also learn its retry policy from it.
struct ActorState {
  enum State : uint8_t { kPending = 0, kAlive = 1, kDead = 2, kRestarting = 3 };
  uint64_t actor = 0;
  uint8_t state = kPending;
  uint32_t address = 0;      // the worker process when alive
  uint32_t incarnation = 0;  // of the worker at `address` (alive), or the one starting (restarting)
  uint8_t death_status = 0;  // ObjectStatus the callers report (kActorDied or kUnschedulable)
  std::string death_cause;   // dead: why; restarting: why the last incarnation ended
  int32_t max_task_retries = 0;
  bool retry_exceptions = false;
  int32_t max_pending_calls = -1;
  std::vector<std::string> retry_exception_types;
  std::map<uint32_t, uint64_t> answered;  // dead by this_actor::exit(): ActorExited::answered
  MSGPACK_DEFINE(actor, state, address, incarnation, death_status, death_cause, max_task_retries, retry_exceptions,
                 max_pending_calls, retry_exception_types, answered);
};

struct SubscribeActor {
  uint64_t actor = 0;
  MSGPACK_DEFINE(actor);
};

struct Call {
  uint64_t actor = 0;
  uint32_t caller = 0;
  uint64_t sequence = 0;  // per (caller, actor incarnation), from 0: the executor runs them in this order
  uint32_t incarnation = 0;  // the worker it is meant for; another incarnation refuses it
  uint64_t object = 0;    // the result's ObjectId, owned by the caller
  uint32_t method = 0;    // index in TROUPE_ACTOR's list
  std::string method_name;
  std::string args;  // msgpack array; Ref arguments to resolve are ext type kRefArgExt
  // 0 when first sent; the caller's retry count when resent after its connection broke. A resent
  // call may have run already: it runs again unless it still waits in the mailbox.
  uint32_t attempt = 0;
  // Every sequence below this one is answered or abandoned by the caller (it failed a lost call
  // that had no retries): the worker need not wait for a lost one before running later calls.
  uint64_t floor = 0;
  std::string concurrency_group;  // the caller's choice (CallOptions); empty: the method's group
  MSGPACK_DEFINE(actor, caller, sequence, incarnation, object, method, method_name, args, attempt, floor,
                 concurrency_group);
};

struct CallReply {
  uint64_t actor = 0;
  uint64_t sequence = 0;
  uint32_t incarnation = 0;  // of the worker that answered; callers ignore other incarnations
  uint64_t object = 0;
  ObjectPayload result;
  MSGPACK_DEFINE(actor, sequence, incarnation, object, result);
};

struct GetObject {
  uint64_t object = 0;
  MSGPACK_DEFINE(object);
};

struct ObjectReply {
  uint64_t object = 0;
  ObjectPayload payload;
  MSGPACK_DEFINE(object, payload);
};

struct KillActor {
  uint64_t actor = 0;
  bool no_restart = true;
  MSGPACK_DEFINE(actor, no_restart);
};

struct LookupName {
  uint64_t rpc = 0;
  std::string name;
  std::string ns;
  MSGPACK_DEFINE(rpc, name, ns);
};

struct LookupNameReply {
  uint64_t rpc = 0;
  bool found = false;
  uint64_t actor = 0;
  std::string class_name;
  MSGPACK_DEFINE(rpc, found, actor, class_name);
};

// The msgpack ext type marking a top-level call argument that is a Ref to resolve before the
// method runs. Its data is the packed ObjectId, 8 bytes big-endian.
inline constexpr int8_t kRefArgExt = 1;

// The message `[kind, body]`, packed by msgpack's packer.
template <typename Body>
std::string encode_message_packed(MessageKind kind, const Body& body) {
  StringWriter writer;
  msgpack::packer<StringWriter> packer(writer);
  packer.pack_array(2);
  packer.pack(static_cast<uint8_t>(kind));
  packer.pack(body);
  return writer.take();
}

// The two messages of every actor call are written directly into a buffer sized once: the same
// bytes as encode_message_packed (messages_test compares them), without the packer's string
// appends and regrowths.
std::string encode_message(MessageKind kind, const Call& body);
std::string encode_message(MessageKind kind, const CallReply& body);

template <typename Body>
std::string encode_message(MessageKind kind, const Body& body) {
  return encode_message_packed(kind, body);
}

// A received message: its kind and the unpacked body, still to be converted. The body lives in
// the zone given to open_envelope and points into the message bytes.
struct Envelope {
  MessageKind kind;
  msgpack::object body;
};

// The envelope's body as a T, or nullopt if it does not convert (a malformed message).
template <typename T>
std::optional<T> body_as(const Envelope& envelope) {
  T body;
  if (!convert(envelope.body, body, message_kind_name(envelope.kind)).ok()) return std::nullopt;
  return body;
}

// Checks the envelope's shape; InvalidArgument for anything else (a corrupt or foreign frame).
// REQUIRES: `bytes` and `zone` outlive the envelope.
absl::StatusOr<Envelope> open_envelope(std::string_view bytes, msgpack::zone& zone);

// The two messages of every actor call, read straight from their bytes (no msgpack objects, no
// zone): the hot path of the simulator and of the real platforms. Each accepts only a message of
// its kind whose body is an array of exactly its fields, in the forms msgpack's converters read
// as those fields (unsigned integers within the field's range, strings or binaries), with no
// bytes after it; then `out` holds what open_envelope + body_as would give. On anything else it
// returns false (and `out` is unspecified): the caller goes through open_envelope + body_as,
// which decide as before, so no message is read differently.
bool read_call(std::string_view bytes, Call& out);
bool read_call_reply(std::string_view bytes, CallReply& out);

// Opens one message at a time, reusing one zone (a fresh msgpack zone per message would cost an
// allocation of its first chunk every time).
class MessageReader {
 public:
  // The envelope stays valid until the next open() and while `bytes` lives.
  absl::StatusOr<Envelope> open(std::string_view bytes) {
    zone_.clear();
    return open_envelope(bytes, zone_);
  }

 private:
  msgpack::zone zone_{kZoneChunkBytes};
};

}  // namespace troupe::wire
