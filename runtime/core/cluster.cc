#include "runtime/core/cluster.h"

#include <memory>

#include "fmt/format.h"
#include "runtime/core/directory.h"
#include "runtime/core/process_runtime.h"
#include "runtime/detail/args.h"

namespace troupe::core {

absl::Status run_driver(Platform& platform, absl::AnyInvocable<void(System&)> driver) {
  if (platform.nodes().empty()) return absl::FailedPreconditionError("the platform has no nodes");
  NodeId head = platform.nodes().front().id;
  auto directory_host = std::make_unique<Directory>(platform);
  Directory* directory = directory_host.get();
  absl::StatusOr<ProcessId> directory_id = platform.start_process(head, "directory", std::move(directory_host));
  if (!directory_id.ok()) return directory_id.status();
  ClusterConfig config{.directory = *directory_id};
  directory->set_config(config);

  auto driver_host = std::make_unique<ProcessRuntime>(platform, config, "");
  ProcessRuntime* runtime = driver_host.get();
  absl::StatusOr<ProcessId> driver_id = platform.start_process(head, "driver", std::move(driver_host));
  if (!driver_id.ok()) return driver_id.status();

  return drive(platform, *driver_id, runtime->system(), std::move(driver));
}

absl::Status drive(Platform& platform, ProcessId process, System& system, absl::AnyInvocable<void(System&)> driver) {
  bool finished = false;
  absl::Status outcome;
  platform.spawn(process, "driver", [&] {
    try {
      driver(system);
    } catch (...) {
      wire::ObjectPayload error = detail::exception_payload(std::current_exception());
      outcome = absl::InternalError(fmt::format("driver threw {}: {}", error.error_type, error.error_message));
    }
    finished = true;
    platform.stop();
  });
  absl::Status run = platform.run();
  if (!finished) return run.ok() ? absl::InternalError("the platform stopped before the driver finished") : run;
  return outcome;
}

}  // namespace troupe::core
