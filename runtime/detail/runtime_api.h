// The runtime as the public templates see it: the operations of the current process's core.
//
// Implemented by core::ProcessRuntime. Reached with current_runtime(), which finds the process
// the calling code runs in (the driver, or an actor's worker) through the ExecutionContext.
// Every method may block the calling fiber (never the platform thread).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/actor_options.h"
#include "runtime/ids.h"
#include "runtime/ref.h"
#include "runtime/wire/messages.h"

namespace troupe {
class System;
class Platform;
}  // namespace troupe

namespace troupe::detail {

struct NamedActor {
  ActorId id;
  std::string class_name;
};

class Runtime {
 public:
  virtual ~Runtime() = default;

  virtual Platform& platform() = 0;
  virtual System& system() = 0;
  virtual ProcessId process() const = 0;

  // Asks the directory to create the actor described by `spec` (whose `actor` and `owner` are
  // filled in here). Returns its id, or the existing actor's for get_if_exists. Throws
  // ActorNameTakenError when the name is in use.
  virtual ActorId create_actor(wire::ActorSpec spec) = 0;

  // Sends a call and returns the id of the object that will hold its result.
  // Throws PendingCallsLimitExceeded when the limit is reached.
  virtual ObjectId submit_call(ActorId actor, uint32_t method, std::string_view method_name, std::string args,
                               const CallOptions& options) = 0;

  // Waits for the object; nullopt when `deadline` (absolute platform time) passed first.
  virtual std::optional<wire::ObjectPayload> get_object(ObjectId id, std::optional<Nanos> deadline) = 0;

  // Waits until `num_returns` of `ids` are ready or `deadline` passes; returns readiness per id.
  virtual std::vector<bool> wait_objects(const std::vector<ObjectId>& ids, size_t num_returns,
                                         std::optional<Nanos> deadline) = 0;

  // Stores a value owned by this process.
  virtual ObjectId put_object(std::string bytes) = 0;

  // The token for the Refs to an object this process owns: when the last copy goes, the value
  // is freed (unless the Ref escaped). Null for objects owned elsewhere.
  virtual std::shared_ptr<RefToken> ref_token(ObjectId id) = 0;

  // How many objects this process holds (owned or fetched), for System::objects_held().
  virtual size_t object_count() const = 0;

  virtual std::optional<NamedActor> lookup_actor(const std::string& name, const std::string& ns) = 0;

  virtual void kill_actor(ActorId actor, bool no_restart) = 0;

  // The actor this process hosts; invalid in the driver.
  virtual ActorId hosted_actor() const = 0;
  // Ends the hosted actor after its queued calls (this_actor::exit()).
  virtual void exit_actor() = 0;
  // Ends the hosted actor's worker process at once, as a crash does (this_actor::crash()).
  virtual void crash_actor() = 0;
  virtual int restart_count() const = 0;
  // The GPUs the hosted actor was given (empty in the driver and for actors without num_gpus).
  virtual std::vector<uint32_t> gpu_ids() const = 0;
  // The hosted actor's RuntimeEnv: an environment variable (CUDA_VISIBLE_DEVICES from its GPUs),
  // nullopt if unset; its working directory.
  virtual std::optional<std::string> env(const std::string& name) const = 0;
  virtual std::string working_dir() const = 0;

  // Asks the directory to reserve a placement group (its `group` and `owner` are filled in
  // here); returns at once with the group's id.
  virtual uint64_t create_placement_group(wire::CreatePlacementGroup request) = 0;
  virtual void remove_placement_group(uint64_t group) = 0;
  // Asks the directory about an actor or a placement group (wire::Describe); nullopt when
  // `deadline` (absolute platform time) passed before the answer came.
  virtual std::optional<wire::DescribeReply> describe(wire::Describe request, std::optional<Nanos> deadline) = 0;
};

// The runtime of the process the caller runs in. Aborts with a clear message outside one
// (e.g. a handle used from a plain thread).
Runtime& current_runtime();

}  // namespace troupe::detail
