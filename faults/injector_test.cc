// The injector applies a plan's crashes and node crashes to a running World, with the realized
// fault list recorded.
#include "faults/injector.h"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/troupe.h"
#include "sim/sim_run.h"

namespace troupe::faults {
namespace {

class Survivor {
 public:
  int incarnation() { return this_actor::restart_count(); }
  uint32_t node() { return this_actor::node().value; }
};
TROUPE_ACTOR(Survivor, &Survivor::incarnation, &Survivor::node);

TEST(Injector, CrashesTheIndexedWorkerAndRecordsIt) {
  FaultPlan plan{.faults = {{.at_ns = 5 * kMillisecond, .params = CrashFault{.process = 1}}}};
  ASSERT_TRUE(check_supported(plan).ok());
  std::vector<std::string> realized;
  sim::SimRunOptions options{.seed = 4};
  options.prepare = [&](sim::World& world) { schedule_plan(world, plan, &realized); };
  sim::SimRunResult result = sim::run_simulation(options, [](System& sys) {
    auto first = sys.spawn<Survivor>({.max_restarts = 1});
    EXPECT_EQ(sys.get(first.call(&Survivor::incarnation)), 0);
    auto second = sys.spawn<Survivor>({.max_restarts = 1});
    EXPECT_EQ(sys.get(second.call(&Survivor::incarnation)), 0);
    troupe::sleep(std::chrono::milliseconds(20));
    // Process index 1 is the second live worker: `second` restarted, `first` did not.
    EXPECT_EQ(sys.get(first.call(&Survivor::incarnation)), 0);
    EXPECT_EQ(sys.get(second.call(&Survivor::incarnation)), 1);
  });
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_EQ(realized.size(), 1u);
  EXPECT_EQ(realized[0].rfind("crash p", 0), 0u) << realized[0];
  EXPECT_NE(realized[0].find("Survivor"), std::string::npos) << realized[0];
}

TEST(Injector, NodeCrashesSpareTheHeadNodeAndReboot) {
  FaultPlan plan{.faults = {{.at_ns = 5 * kMillisecond,
                             .params = NodeCrashFault{.node = 0, .reboot_after_ns = 10 * kMillisecond}}}};
  std::vector<std::string> realized;
  sim::SimRunOptions options{.seed = 2};
  options.prepare = [&](sim::World& world) { schedule_plan(world, plan, &realized); };
  sim::SimRunResult result = sim::run_simulation(options, [](System& sys) { troupe::sleep(std::chrono::milliseconds(30)); });
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(realized, (std::vector<std::string>{"node_crash n1 reboot after 10000000ns"}));
}

TEST(Injector, KindsItCannotApplyAreRefusedUpFront) {
  FaultPlan plan{.faults = {{.at_ns = 0, .params = CrashFault{}},
                            {.at_ns = 1, .params = LatencyFault{.extra_latency_ns = 5, .duration_ns = 10}}}};
  absl::Status status = check_supported(plan);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(std::string(status.message()),
            "faults[1]: the simulator cannot apply 'latency' faults yet (supported: crash, node_crash, partition, "
            "clog, reset, storage, suspect)");
}

// A storage fault with error_rate 1 fails every storage operation while it lasts, and only then.
TEST(Injector, StorageFaultsFailStorageOperationsForTheirDuration) {
  FaultPlan plan{.faults = {{.at_ns = 5 * kMillisecond,
                             .params = StorageFault{.error_rate = 1.0, .loss_rate = 0, .duration_ns = 20 * kMillisecond}}}};
  ASSERT_TRUE(check_supported(plan).ok());
  std::vector<std::string> realized;
  sim::SimRunOptions options{.seed = 3};
  options.prepare = [&](sim::World& world) { schedule_plan(world, plan, &realized); };
  std::vector<std::string> outcomes;
  sim::SimRunResult result = sim::run_simulation(options, [&](System&) {
    const auto attempt = [&] {
      try {
        storage::put("k", "v");
        outcomes.push_back("ok");
      } catch (const StorageError& error) {
        outcomes.push_back(error.transient() && error.may_have_been_applied() ? "transient error" : error.what());
      }
    };
    attempt();                                          // 0 to about 1 ms: before the fault
    troupe::sleep(std::chrono::milliseconds(10));
    attempt();                                          // about 11 ms: during it
    troupe::sleep(std::chrono::milliseconds(20));
    attempt();                                          // about 32 ms: after it
  });
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(outcomes, (std::vector<std::string>{"ok", "transient error", "ok"}));
  EXPECT_EQ(realized, (std::vector<std::string>{"storage errors 1 loss 0 for 20000000ns"}));
}

}  // namespace
}  // namespace troupe::faults
