// The injector applies a plan's crashes, node crashes, latency spikes and buggify faults to a
// running World, with the realized fault list recorded.
#include "faults/injector.h"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/buggify_sites.h"
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

TEST(Injector, LatencyAndBuggifyAreSupported) {
  FaultPlan plan{.faults = {{.at_ns = 0, .params = LatencyFault{.extra_latency_ns = 1, .duration_ns = 1}},
                            {.at_ns = 0, .params = BuggifyFault{.sites = {"a", "b"}}}}};
  EXPECT_TRUE(check_supported(plan).ok()) << check_supported(plan);
  EXPECT_EQ(supported_kinds().count(FaultKind::kLatency), 1u);
  EXPECT_EQ(supported_kinds().count(FaultKind::kBuggify), 1u);
}

TEST(Injector, BuggifyFaultsWithInvalidSiteNamesAreRefused) {
  FaultPlan empty_name{.faults = {{.at_ns = 0, .params = BuggifyFault{.sites = {"a", ""}}}}};
  EXPECT_EQ(check_supported(empty_name),
            absl::InvalidArgumentError("faults[0].sites[1]: buggify site name must be 1 to 128 bytes long (got 0 bytes)"));
  FaultPlan long_name{.faults = {{.at_ns = 0, .params = CrashFault{}},
                                 {.at_ns = 0, .params = BuggifyFault{.sites = {std::string(129, 'c')}}}}};
  EXPECT_EQ(check_supported(long_name).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(check_supported(long_name).message().substr(0, 72),
            "faults[1].sites[0]: buggify site name must be 1 to 128 bytes long (got 1");
  FaultPlan no_site{.faults = {{.at_ns = 0, .params = BuggifyFault{}}}};
  EXPECT_EQ(check_supported(no_site), absl::InvalidArgumentError("faults[0].sites: must not be empty"));
}

// How long one call to a fresh actor's method takes, at three moments: before, during and after
// a latency spike from 10 ms to 30 ms.
std::vector<Nanos> call_times(const FaultPlan& plan, std::vector<std::string>& realized) {
  std::vector<Nanos> times;
  sim::SimRunOptions options{.seed = 3};
  options.prepare = [&](sim::World& world) { schedule_plan(world, plan, &realized); };
  sim::SimRunResult result = sim::run_simulation(options, [&](System& sys) {
    auto survivor = sys.spawn<Survivor>({});
    (void)sys.get(survivor.call(&Survivor::incarnation));  // placed and running
    for (Nanos at : {5 * kMillisecond, 12 * kMillisecond, 40 * kMillisecond}) {
      troupe::sleep(std::chrono::nanoseconds(at) - troupe::now());
      const Nanos start = troupe::now().count();
      (void)sys.get(survivor.call(&Survivor::incarnation));
      times.push_back(troupe::now().count() - start);
    }
  });
  EXPECT_TRUE(result.status.ok()) << result.status;
  return times;
}

TEST(Injector, ALatencySpikeSlowsEveryMessageSentDuringIt) {
  std::vector<std::string> none;
  std::vector<Nanos> calm = call_times({}, none);
  FaultPlan plan{.faults = {{.at_ns = 10 * kMillisecond,
                             .params = LatencyFault{.extra_latency_ns = 5 * kMillisecond, .duration_ns = 20 * kMillisecond}}}};
  ASSERT_TRUE(check_supported(plan).ok());
  std::vector<std::string> realized;
  std::vector<Nanos> spiked = call_times(plan, realized);
  EXPECT_EQ(realized, (std::vector<std::string>{"latency +5000000ns for 20000000ns"}));
  ASSERT_EQ(calm.size(), 3u);
  ASSERT_EQ(spiked.size(), 3u);
  // Outside the window nothing changes; inside it the call and its reply each take 5 ms longer.
  EXPECT_EQ(spiked[0], calm[0]);
  EXPECT_EQ(spiked[1], calm[1] + 10 * kMillisecond);
  EXPECT_EQ(spiked[2], calm[2]);
  EXPECT_EQ(calm, (std::vector<Nanos>{74'594, 69'040, 62'105}));  // pinned for seed 3 (a local round trip)
}

// The evaluations (from 1) of `count` buggify("x") calls on which it fires.
std::vector<int> probe_x(int count) {
  std::vector<int> fired;
  for (int i = 1; i <= count; ++i) {
    if (buggify("x")) fired.push_back(i);
  }
  return fired;
}

TEST(Injector, ABuggifyFaultForcesItsSitesOnFromItsTime) {
  // Seed 1 leaves site x disabled: it never fires unless a plan forces it.
  ASSERT_FALSE(BuggifySites::enabled_by_seed(1, "x"));
  FaultPlan plan{.faults = {{.at_ns = 10 * kMillisecond, .params = BuggifyFault{.sites = {"x"}}}}};
  ASSERT_TRUE(check_supported(plan).ok());
  for (bool with_plan : {false, true}) {
    std::vector<std::string> realized;
    std::vector<int> before;
    std::vector<int> after;
    Trace trace;
    trace.set_retain(true);
    sim::SimRunOptions options{.seed = 1, .trace = &trace};
    if (with_plan) options.prepare = [&](sim::World& world) { schedule_plan(world, plan, &realized); };
    sim::SimRunResult result = sim::run_simulation(options, [&](System& sys) {
      before = probe_x(12);
      troupe::sleep(std::chrono::milliseconds(20));
      after = probe_x(12);
    });
    ASSERT_TRUE(result.status.ok()) << result.status;
    EXPECT_EQ(before, (std::vector<int>{})) << "with_plan " << with_plan;
    if (!with_plan) {
      EXPECT_EQ(after, (std::vector<int>{}));
      EXPECT_EQ(realized, (std::vector<std::string>{}));
      continue;
    }
    // Forced, x fires 1 time in 4, on the draws its stream gives (runtime/buggify_test.cc).
    EXPECT_EQ(after, (std::vector<int>{1, 3, 4, 8, 10}));
    EXPECT_EQ(realized, (std::vector<std::string>{"buggify x"}));
    std::vector<std::string> faults;
    for (const TraceEvent& event : trace.retained()) {
      if (event.kind == TraceKind::kFault || event.kind == TraceKind::kUser) faults.push_back(event.detail);
    }
    EXPECT_EQ(faults, (std::vector<std::string>{"fault: buggify x", "buggify force x"}));
  }
}

class GpuUser {
 public:
  std::vector<uint32_t> devices() { return this_actor::gpu_ids(); }
  int incarnation() { return this_actor::restart_count(); }
};
TROUPE_ACTOR(GpuUser, &GpuUser::devices, &GpuUser::incarnation);

// GPU targets index the nodes that have GPUs: node index 3 of a cluster whose GPU nodes are n1 and
// n2 is n2 (3 mod 2 = 1), device 5 of its 2 GPUs is GPU 1. The loss crashes the actor on that
// device; it restarts on the node's healthy GPU 0, which the directory gives it instead.
TEST(Injector, GpuFaultsResolveTheirTargetsAmongNodesWithGpus) {
  FaultPlan plan{.faults = {
                     {.at_ns = 5 * kMillisecond,
                      .params = GpuThrottleFault{.gpu = {.node = 3, .device = 5}, .slowdown = 3, .duration_ns = kMillisecond}},
                     {.at_ns = 6 * kMillisecond,
                      .params = GpuMemoryFault{.gpu = {.node = 0, .device = 0}, .bytes = 1 << 20, .duration_ns = kMillisecond}},
                     {.at_ns = 20 * kMillisecond, .params = GpuLossFault{.gpu = {.node = 3, .device = 5}}},
                 }};
  ASSERT_TRUE(check_supported(plan).ok());
  std::vector<std::string> realized;
  sim::World* world = nullptr;
  sim::SimRunOptions options{.seed = 5,
                             .cluster = {.nodes = {{.name = "head", .cpus = 8},
                                                   {.name = "gpu1", .cpus = 8, .gpus = 2},
                                                   {.name = "gpu2", .cpus = 8, .gpus = 2}}}};
  options.prepare = [&](sim::World& w) {
    world = &w;
    schedule_plan(w, plan, &realized);
  };
  sim::SimRunResult result = sim::run_simulation(options, [&](System& sys) {
    // Most free CPUs, ties to the lowest node: n1 GPU 0, n2 GPU 0, n1 GPU 1, n2 GPU 1.
    std::vector<ActorHandle<GpuUser>> users;
    for (int i = 0; i < 4; ++i) users.push_back(sys.spawn<GpuUser>({.num_gpus = 1, .max_restarts = 1}));
    for (const auto& user : users) sys.get(user.call(&GpuUser::devices));
    sys.kill(users[1]);  // frees n2 GPU 0 for the restart of the actor on n2 GPU 1
    troupe::sleep(std::chrono::milliseconds(40));
    EXPECT_EQ(world->nodes()[2].gpu_lost, (std::vector<bool>{false, true}));
    EXPECT_EQ(sys.get(users[3].call(&GpuUser::incarnation)), 1);
    EXPECT_EQ(sys.get(users[3].call(&GpuUser::devices)), (std::vector<uint32_t>{0}));
    EXPECT_EQ(sys.get(users[0].call(&GpuUser::incarnation)), 0);
  });
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(realized, (std::vector<std::string>{"gpu_throttle GPU 1 of n2 x3 for 1000000ns",
                                                "gpu_memory GPU 0 of n1 1048576 bytes for 1000000ns",
                                                "gpu_loss GPU 1 of n2"}));
}

TEST(Injector, GpuFaultsWithoutGpusAreSkippedAndSaySo) {
  FaultPlan plan{.faults = {{.at_ns = kMillisecond, .params = GpuLossFault{.gpu = {.node = 0, .device = 0}}}}};
  std::vector<std::string> realized;
  sim::SimRunOptions options{.seed = 1};
  options.prepare = [&](sim::World& world) { schedule_plan(world, plan, &realized); };
  sim::SimRunResult result = sim::run_simulation(options, [](System&) { troupe::sleep(std::chrono::milliseconds(5)); });
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(realized, (std::vector<std::string>{"gpu_loss #0.0 skipped: no node has GPUs"}));
}

}  // namespace
}  // namespace troupe::faults
