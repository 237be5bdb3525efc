// TraceEvent: one line of a run's trace, and the kinds of event.
//
// Every event the simulator or the runtime records (send, deliver, run, suspend, spawn, call
// start/end, crash, fault, decision, ...) is one TraceEvent. The fields are plain values so the
// same run produces byte-identical events under every compiler; `detail` is free text built with
// fmt from such values (never from addresses or hash-map order).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/ids.h"

namespace troupe {

enum class TraceKind : uint8_t {
  kProcessStart,   // a process was started on a node; detail: its name
  kProcessExit,    // a process ended; detail: why
  kFiberSpawn,     // a fiber was created; detail: its name
  kFiberRun,       // the scheduler resumed a fiber
  kFiberPark,      // a fiber suspended; detail: what it waits for
  kFiberExit,      // a fiber finished
  kTimer,          // a timer fired
  kSend,           // a message left `process` for `peer`; detail: message kind
  kDeliver,        // a message reached `process` from `peer`; detail: message kind
  kDrop,           // a message was dropped; detail: why
  kActorCreate,    // an actor was requested; detail: class and options
  kActorAlive,     // an actor's constructor finished; detail: class (and repr)
  kActorDead,      // an actor died; detail: cause
  kCallStart,      // an actor began a method; `call` = the call's sequence; detail: method
  kCallEnd,        // an actor finished a method; detail: outcome
  kDecision,       // the scheduler chose among several runnable items; detail: "i/n"
  kCheck,          // a scenario check failed or a sometimes-check held; detail: its name
  kUser,           // free text from user code (troupe::trace)
  kFault,          // a fault was applied (partition, heal, clog, reset); detail: which
  kConnectionLost, // `process` heard that its data connection to `peer` lost messages
  kStorage,        // a storage operation was issued or acknowledged; detail: "put #3 key: ok"
  kStorageFailure, // a storage operation failed or a write was lost; detail: why
  kBuggifySite,    // a buggify() site's first evaluation in the run; detail: "site enabled|disabled"
  kBuggifyFire,    // a buggify() site fired; detail: "site fired on evaluation N" (N from 1)
  kGpu,            // the GPU model: a kernel started or ended, an allocation failed, a device was
                   // throttled, pressed for memory or lost; detail: what, on which device
};

// The stable lowercase name of a kind ("send", "call_start", ...).
std::string_view trace_kind_name(TraceKind kind);

// Every field has a default (written out, so -Wextra accepts designated initializers that name
// only the fields they set: `TraceEvent{.kind = TraceKind::kSend, .process = p, .peer = q}`).
struct TraceEvent {
  Nanos time = 0;          // virtual (sim) or real time since the platform started
  uint64_t number = 0;     // position in the run, from 0; assigned by Trace::record
  TraceKind kind = TraceKind::kUser;
  NodeId node = {};        // where it happened
  ProcessId process = {};
  ProcessId peer = {};     // the other end of a message, if any
  ActorId actor = {};      // the actor involved, if any
  uint64_t call = 0;       // the call or object involved, if any (packed ObjectId)
  uint64_t bytes = 0;      // the size of the message, for send, deliver and drop
  std::string detail = {};
};

}  // namespace troupe
