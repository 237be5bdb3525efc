// Starting a cluster's runtime on a platform and running a driver on it.
//
//   sim::World world({.seed = 7});
//   world.add_node({.name = "head"});
//   absl::Status status = troupe::core::run_driver(world, [](troupe::System& sys) { ... });
//
// run_driver starts the directory and the driver process on node 0, runs `driver` on a fiber of
// the driver process, and returns when it finishes: OK, the driver's uncaught exception as
// Internal ("driver threw troupe::TaskError: ..."), or the platform's error (a deadlock, a
// limit) if the driver never finished.
#pragma once

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "runtime/platform.h"
#include "runtime/system.h"

namespace troupe::core {

absl::Status run_driver(Platform& platform, absl::AnyInvocable<void(System&)> driver);

// The second half of run_driver, for a driver process already started (the cluster platform's,
// runtime/cluster): runs `driver` with `system` on a fiber of `process`, and the platform until
// it finishes; returns as run_driver does.
absl::Status drive(Platform& platform, ProcessId process, System& system, absl::AnyInvocable<void(System&)> driver);

}  // namespace troupe::core
