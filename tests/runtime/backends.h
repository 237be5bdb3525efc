// The two platforms a Platforms/<Suite> test runs its driver on, with the same expected values:
// the simulator (several seeds, each a fresh World) and the threads platform (once, real
// threads and clock, three nodes like the simulator's default cluster).
//
//   class ActorApi : public ::testing::TestWithParam<Backend> { ... run_on(GetParam(), 1, 20, driver); };
//   INSTANTIATE_TEST_SUITE_P(Platforms, ActorApi, kBothBackends, backend_name);
#pragma once

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "absl/functional/any_invocable.h"
#include "runtime/core/cluster.h"
#include "runtime/real/threads_platform.h"
#include "runtime/system.h"
#include "sim/sim_run.h"

namespace troupe {

enum class Backend { kSim, kThreads };

inline const auto kBothBackends = ::testing::Values(Backend::kSim, Backend::kThreads);

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSim ? "Sim" : "Threads";
}

// Runs `driver` on the sim (seeds first_seed .. first_seed + seeds - 1) or once on threads.
inline void run_on(Backend backend, uint64_t first_seed, uint64_t seeds, absl::AnyInvocable<void(System&)>& driver) {
  if (backend == Backend::kThreads) {
    ThreadsPlatform platform({.threads = 4,
                              .nodes = {{.name = "head", .cpus = 8}, {.name = "node1", .cpus = 8},
                                        {.name = "node2", .cpus = 8}},
                              .seed = first_seed});
    absl::Status status = core::run_driver(platform, [&](System& sys) { driver(sys); });
    ASSERT_TRUE(status.ok()) << "threads: " << status;
    return;
  }
  for (uint64_t seed = first_seed; seed < first_seed + seeds; ++seed) {
    sim::SimRunResult result = sim::run_simulation({.seed = seed}, [&](System& sys) { driver(sys); });
    ASSERT_TRUE(result.status.ok()) << "seed " << seed << ": " << result.status;
  }
}

}  // namespace troupe
