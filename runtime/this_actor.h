// this_actor: what a method can ask about the actor it runs in.
//
//   int Counter::increment() {
//     troupe::ActorHandle<Counter> me = troupe::this_actor::handle<Counter>();
//     ...
//   }
//
// REQUIRES (all): called from code running inside an actor (a method or the constructor).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/actor_handle.h"
#include "runtime/ids.h"
#include "runtime/system.h"

namespace troupe::this_actor {

// This actor's id.
ActorId id();

// A handle to this actor, to pass to others. REQUIRES: T is this actor's class.
template <typename T>
ActorHandle<T> handle() {
  return ActorHandle<T>(id());
}

// The System of this actor's process (to spawn, get, wait, ...).
System& system();

// Ends the actor after the calls that have reached its queue have run; it will not restart.
// Calls arriving later (also those still in transit now) fail with ActorDiedError. Returns to the caller (the current method finishes normally).
void exit();

// Ends this actor's worker process at once, as a crash does (Ray's examples call os._exit(1)):
// the running method never returns, and the actor restarts if max_restarts allows.
void crash();

// How many times this actor has restarted (0 for the first incarnation).
int restart_count();

// The node this actor runs on.
NodeId node();

// The GPUs (device numbers on its node, ascending) this actor was given by num_gpus; empty
// without. Actors sharing a device (num_gpus < 1) see the same number.
std::vector<uint32_t> gpu_ids();

// An environment variable of this actor's RuntimeEnv (ActorOptions::runtime_env), or nullopt if
// it sets none by that name. CUDA_VISIBLE_DEVICES is the runtime's: its gpu_ids() joined by
// commas ("0,1"), "" for an actor without GPUs. The same on every platform (the process's real
// environment is not read), so configuration code runs unchanged in the simulator.
std::optional<std::string> env(const std::string& name);

// The working directory of this actor's RuntimeEnv ("" = the node's default).
std::string working_dir();

}  // namespace troupe::this_actor
