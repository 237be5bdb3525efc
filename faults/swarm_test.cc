#include "faults/swarm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "runtime/core/random.h"

namespace troupe::faults {
namespace {

// A three-node cluster with four processes and a 2 s fault window: a handful of faults per seed.
SwarmOptions small_options() {
  return SwarmOptions{.node_count = 3,
                      .process_count = 4,
                      .fault_window_ns = 2 * kSecond,
                      .quiet_ns = kSecond,
                      .deadline_ns = 5 * kSecond,
                      .buggify_sites = {"store.slow_ack", "directory.drop_lease"}};
}

// The duration-like parameter of a fault and its bounds in `options`, or nullopt.
struct Span {
  Nanos value;
  Nanos min;
  Nanos max;
};
std::optional<Span> span_of(const ScheduledFault& fault, const SwarmOptions& options) {
  return std::visit(
      [&](const auto& params) -> std::optional<Span> {
        using T = std::decay_t<decltype(params)>;
        if constexpr (std::is_same_v<T, NodeCrashFault>) {
          return Span{*params.reboot_after_ns, options.reboot_after_ns_min, options.reboot_after_ns_max};
        } else if constexpr (requires { params.duration_ns; }) {
          return Span{params.duration_ns, options.duration_ns_min, options.duration_ns_max};
        } else {
          return std::nullopt;
        }
      },
      fault.params);
}

// small_options() with two GPU nodes of four GPUs each.
SwarmOptions gpu_options() {
  SwarmOptions options = small_options();
  options.gpu_node_count = 2;
  options.gpus_per_node = 4;
  return options;
}

// Swarm's pinned output: a change here changes which faults every existing seed replays.
TEST(SwarmPlan, SeedOneIsPinned) {
  EXPECT_EQ(plan_to_json(swarm_plan(1, small_options())), R"({
  "version": 1,
  "generator": {"kinds":["node_crash","partition","latency","buggify"],"intensity_per_s":{"node_crash":0.4011219301117542,"partition":0.3105963913952302,"latency":0.2137356940247438,"buggify":0.34806223499804334},"fault_window_ms":2000,"quiet_ms":1000,"deadline_ms":5000},
  "faults": [
    {"at_ms":1001.671275,"kind":"partition","sides":[[1,2],[0]],"one_way":false,"duration_ms":998.328725},
    {"at_ms":1070.94082,"kind":"buggify","sites":["store.slow_ack"]}
  ]
}
)");
}

TEST(SwarmPlan, TheRealizedExamplePlanIsSeedOne) {
  std::ifstream file(std::string(TROUPE_FAULTS_EXAMPLES_DIR) + "/swarm_realized.json");
  std::ostringstream text;
  text << file.rdbuf();
  EXPECT_EQ(text.str(), plan_to_json(swarm_plan(1, small_options())));
}

TEST(SwarmPlan, SeedTwoIsPinned) {
  const FaultPlan plan = swarm_plan(2, small_options());
  ASSERT_TRUE(plan.generator.has_value());
  EXPECT_EQ(plan.generator->kinds, (std::set<FaultKind>{FaultKind::kNodeCrash, FaultKind::kPartition, FaultKind::kClog,
                                                        FaultKind::kReset, FaultKind::kStorage}));
  EXPECT_EQ(plan.generator->intensity_per_s.at(FaultKind::kNodeCrash), 1.5970985729304434);
  const std::vector<ScheduledFault> expected = {
      {.at_ns = 216'536'472,
       .params = PartitionFault{.sides = {{0, 2}, {1}}, .one_way = true, .duration_ns = 1'137'144'613}},
      {.at_ns = 278'163'517, .params = ClogFault{.node = 1, .duration_ns = 207'906'178}},
      {.at_ns = 386'553'027, .params = NodeCrashFault{.node = 2, .reboot_after_ns = 1'613'446'973}},
      {.at_ns = 427'488'521, .params = PartitionFault{.sides = {{1}, {0, 2}}, .one_way = true, .duration_ns = 12'020'078}},
      {.at_ns = 771'427'306, .params = ClogFault{.node = 2, .duration_ns = 1'228'572'694}},
      {.at_ns = 779'581'027, .params = ClogFault{.link = NodePair{1, 0}, .duration_ns = 1'220'418'973}},
      {.at_ns = 990'809'184, .params = NodeCrashFault{.node = 1, .reboot_after_ns = 340'841'623}},
      {.at_ns = 1'328'875'604, .params = ClogFault{.node = 2, .duration_ns = 671'124'396}},
      {.at_ns = 1'525'785'022, .params = ClogFault{.node = 1, .duration_ns = 474'214'978}},
      {.at_ns = 1'649'824'809, .params = PartitionFault{.sides = {{1}, {0, 2}}, .one_way = true, .duration_ns = 350'175'191}},
  };
  EXPECT_EQ(plan.faults, expected);
}

// Each kind chooses from its own stream: a plan drawn with one kind fewer (as if it were added to
// the enum later) has exactly the same choices and faults for every other kind, unless every
// remaining coin came up off (then swarm picks one kind from the main stream).
TEST(SwarmPlan, AKindAddedLaterLeavesTheOtherKindsAsTheyWere) {
  SwarmOptions all = small_options();
  SwarmOptions without_suspect = all;
  without_suspect.kinds.erase(FaultKind::kSuspect);
  int compared = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    const FaultPlan with = swarm_plan(seed, all);
    const FaultPlan without = swarm_plan(seed, without_suspect);
    std::set<FaultKind> expected_kinds = with.generator->kinds;
    expected_kinds.erase(FaultKind::kSuspect);
    if (expected_kinds.empty()) continue;  // the fallback pick
    ++compared;
    EXPECT_EQ(without.generator->kinds, expected_kinds) << "seed " << seed;
    std::vector<ScheduledFault> expected_faults;
    for (const ScheduledFault& fault : with.faults) {
      if (fault.kind() != FaultKind::kSuspect) expected_faults.push_back(fault);
    }
    EXPECT_EQ(without.faults, expected_faults) << "seed " << seed;
    for (FaultKind kind : expected_kinds) {
      EXPECT_EQ(without.generator->intensity_per_s.at(kind), with.generator->intensity_per_s.at(kind)) << "seed " << seed;
    }
  }
  EXPECT_GT(compared, 290);
}

// A lost GPU stays lost: at most gpu_losses_max of them per plan, even at the highest intensity.
TEST(SwarmPlan, LosesAtMostGpuLossesMaxDevices) {
  SwarmOptions options = gpu_options();
  options.kinds = {FaultKind::kGpuLoss};
  options.intensity_per_s_min = 50;
  options.intensity_per_s_max = 50;
  for (size_t losses_max : {size_t{1}, size_t{3}}) {
    options.gpu_losses_max = losses_max;
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      EXPECT_EQ(swarm_plan(seed, options).faults.size(), losses_max) << "seed " << seed;
    }
  }
}

// Without GPUs the GPU kinds are impossible: a cluster without them gets exactly the plans it got
// before the GPU kinds existed, and a cluster with them gets the same non-GPU faults.
TEST(SwarmPlan, GpuKindsLeaveClustersWithoutGpusAsTheyWere) {
  SwarmOptions without_gpu_kinds = small_options();
  for (FaultKind kind : {FaultKind::kGpuThrottle, FaultKind::kGpuMemory, FaultKind::kGpuLoss}) {
    without_gpu_kinds.kinds.erase(kind);
  }
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    EXPECT_EQ(swarm_plan(seed, small_options()), swarm_plan(seed, without_gpu_kinds)) << "seed " << seed;
    for (const ScheduledFault& fault : swarm_plan(seed, small_options()).faults) {
      EXPECT_LT(static_cast<int>(fault.kind()), static_cast<int>(FaultKind::kGpuThrottle)) << "seed " << seed;
    }
  }
}

TEST(SwarmPlan, IsAPureFunctionOfSeedAndOptions) {
  const SwarmOptions options = small_options();
  EXPECT_EQ(swarm_plan(7, options), swarm_plan(7, options));
  EXPECT_NE(swarm_plan(7, options), swarm_plan(8, options));
  SwarmOptions longer = options;
  longer.deadline_ns = 6 * kSecond;
  EXPECT_EQ(swarm_plan(7, longer).faults, swarm_plan(7, options).faults);  // the deadline draws nothing
}

TEST(SwarmPlan, EveryKindIsOnInSomeSeedsAndOffInOthers) {
  const SwarmOptions options = gpu_options();
  std::map<FaultKind, int> enabled;
  std::map<FaultKind, int> realized;
  for (uint64_t seed = 1; seed <= 1000; ++seed) {
    const FaultPlan plan = swarm_plan(seed, options);
    ASSERT_FALSE(plan.generator->kinds.empty()) << "seed " << seed;
    for (FaultKind kind : plan.generator->kinds) ++enabled[kind];
    for (const ScheduledFault& fault : plan.faults) {
      ++realized[fault.kind()];
      ASSERT_TRUE(plan.generator->kinds.contains(fault.kind())) << "seed " << seed;
    }
  }
  for (FaultKind kind : kAllFaultKinds) {
    // Each kind is on with probability 1/2 (a bit more: an all-off draw turns one on).
    EXPECT_GT(enabled[kind], 400) << fault_kind_name(kind);
    EXPECT_LT(enabled[kind], 620) << fault_kind_name(kind);
    EXPECT_GT(realized[kind], 0) << fault_kind_name(kind);
  }
}

TEST(SwarmPlan, PlansAreValidSortedAndInsideTheirBounds) {
  const SwarmOptions options = gpu_options();
  for (uint64_t seed = 1; seed <= 1000; ++seed) {
    const FaultPlan plan = swarm_plan(seed, options);
    ASSERT_TRUE(validate_plan(plan, "swarm").ok()) << "seed " << seed << ": " << validate_plan(plan, "swarm");
    ASSERT_TRUE(std::is_sorted(plan.faults.begin(), plan.faults.end(),
                               [](const auto& a, const auto& b) { return a.at_ns < b.at_ns; }));
    for (const auto& [kind, intensity] : plan.generator->intensity_per_s) {
      ASSERT_GE(intensity, options.intensity_per_s_min);
      ASSERT_LE(intensity, options.intensity_per_s_max);
    }
    for (const ScheduledFault& fault : plan.faults) {
      ASSERT_LT(fault.at_ns, options.fault_window_ns);
      if (const auto* crash = std::get_if<CrashFault>(&fault.params)) {
        ASSERT_LT(crash->process, options.process_count);
      }
      if (const auto* crash = std::get_if<NodeCrashFault>(&fault.params)) {
        ASSERT_GE(crash->node, 1u);  // spare_head_node
        ASSERT_LT(crash->node, options.node_count);
      }
      if (const auto* throttle = std::get_if<GpuThrottleFault>(&fault.params)) {
        ASSERT_LT(throttle->gpu.node, options.gpu_node_count);
        ASSERT_LT(throttle->gpu.device, options.gpus_per_node);
        ASSERT_GE(throttle->slowdown, options.gpu_slowdown_min);
        ASSERT_LE(throttle->slowdown, options.gpu_slowdown_max);
      }
      if (const auto* pressure = std::get_if<GpuMemoryFault>(&fault.params)) {
        ASSERT_GE(pressure->bytes, options.gpu_pressure_bytes_min);
        ASSERT_LE(pressure->bytes, options.gpu_pressure_bytes_max);
      }
      if (const std::optional<Span> span = span_of(fault, options)) {
        const bool shortened = fault.at_ns + span->value == options.fault_window_ns;
        ASSERT_LE(span->value, span->max) << "seed " << seed;
        ASSERT_TRUE(span->value >= span->min || shortened) << "seed " << seed;
      }
    }
  }
}

TEST(SwarmPlan, IntensityIsLogUniform) {
  SwarmOptions options = small_options();
  options.intensity_per_s_min = 0.01;
  options.intensity_per_s_max = 100;
  int below_geometric_mean = 0;
  int total = 0;
  for (uint64_t seed = 1; seed <= 1000; ++seed) {
    const FaultPlan plan = swarm_plan(seed, options);
    for (const auto& [kind, intensity] : plan.generator->intensity_per_s) {
      below_geometric_mean += intensity < 1.0 ? 1 : 0;
      ++total;
    }
  }
  EXPECT_NEAR(static_cast<double>(below_geometric_mean) / total, 0.5, 0.05);
}

TEST(SwarmPlan, FaultsArriveAtTheChosenIntensity) {
  SwarmOptions options = small_options();
  options.kinds = {FaultKind::kCrash};
  options.intensity_per_s_min = 3;
  options.intensity_per_s_max = 3;
  size_t faults = 0;
  for (uint64_t seed = 1; seed <= 1000; ++seed) faults += swarm_plan(seed, options).faults.size();
  EXPECT_NEAR(static_cast<double>(faults) / 1000, 6.0, 0.3);  // 3/s over a 2 s window
}

TEST(SwarmPlan, FaultsFlagRestrictsTheKinds) {
  SwarmOptions options = small_options();
  options.kinds = parse_fault_kinds("crash,partition")->kinds;
  std::map<FaultKind, int> enabled;
  for (uint64_t seed = 1; seed <= 1000; ++seed) {
    const FaultPlan plan = swarm_plan(seed, options);
    ASSERT_FALSE(plan.generator->kinds.empty());
    for (FaultKind kind : plan.generator->kinds) ++enabled[kind];
    for (const ScheduledFault& fault : plan.faults) {
      ASSERT_TRUE(fault.kind() == FaultKind::kCrash || fault.kind() == FaultKind::kPartition) << "seed " << seed;
    }
  }
  EXPECT_EQ(enabled.size(), 2u);
  EXPECT_GT(enabled[FaultKind::kCrash], 400);
  EXPECT_LT(enabled[FaultKind::kCrash], 1000);  // off in some seeds too
  EXPECT_GT(enabled[FaultKind::kPartition], 400);
  EXPECT_LT(enabled[FaultKind::kPartition], 1000);
}

TEST(SwarmPlan, RestrictingKindsKeepsTheFaultsOfTheKindsStillOn) {
  const SwarmOptions all = small_options();
  SwarmOptions some = all;
  some.kinds = {FaultKind::kCrash, FaultKind::kPartition};
  int compared = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    const FaultPlan wide = swarm_plan(seed, all);
    const FaultPlan narrow = swarm_plan(seed, some);
    for (FaultKind kind : narrow.generator->kinds) {
      if (!wide.generator->kinds.contains(kind)) continue;
      EXPECT_EQ(wide.generator->intensity_per_s.at(kind), narrow.generator->intensity_per_s.at(kind));
      std::vector<ScheduledFault> wide_faults;
      std::vector<ScheduledFault> narrow_faults;
      for (const auto& f : wide.faults) {
        if (f.kind() == kind) wide_faults.push_back(f);
      }
      for (const auto& f : narrow.faults) {
        if (f.kind() == kind) narrow_faults.push_back(f);
      }
      EXPECT_EQ(wide_faults, narrow_faults) << "seed " << seed;
      ++compared;
    }
  }
  EXPECT_GT(compared, 100);
}

TEST(SwarmPlan, LeavesOutKindsTheClusterCannotHave) {
  SwarmOptions options = small_options();
  options.node_count = 1;
  options.process_count = 0;
  options.buggify_sites.clear();
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    const FaultPlan plan = swarm_plan(seed, options);
    for (FaultKind kind : {FaultKind::kCrash, FaultKind::kNodeCrash, FaultKind::kPartition, FaultKind::kReset}) {
      ASSERT_FALSE(plan.generator->kinds.contains(kind)) << fault_kind_name(kind) << " seed " << seed;
    }
    for (const ScheduledFault& fault : plan.faults) {
      ASSERT_NE(fault.kind(), FaultKind::kBuggify);  // no sites to name
      if (const auto* clog = std::get_if<ClogFault>(&fault.params)) {
        ASSERT_EQ(clog->node, 0u);
      }
    }
  }
  options.kinds = {FaultKind::kPartition};
  const FaultPlan nothing = swarm_plan(1, options);
  EXPECT_TRUE(nothing.generator->kinds.empty());
  EXPECT_TRUE(nothing.faults.empty());
}

TEST(SwarmPlan, KeepsTheEarliestFaultsUpToTheLimit) {
  SwarmOptions options = small_options();
  options.intensity_per_s_min = 50;
  options.intensity_per_s_max = 50;
  options.faults_max = 10;
  const FaultPlan plan = swarm_plan(5, options);
  ASSERT_EQ(plan.faults.size(), 10u);
  SwarmOptions unlimited = options;
  unlimited.faults_max = 1000;
  const FaultPlan full = swarm_plan(5, unlimited);
  ASSERT_GT(full.faults.size(), 10u);
  EXPECT_EQ(plan.faults, std::vector<ScheduledFault>(full.faults.begin(), full.faults.begin() + 10));
}

TEST(ValidateSwarmOptions, NamesTheBadOption) {
  EXPECT_TRUE(validate_swarm_options(SwarmOptions{}).ok());
  SwarmOptions options;
  options.duration_ns_min = 0;
  EXPECT_EQ(std::string(validate_swarm_options(options).message()),
            "swarm options: duration_ns_min must be positive and at most duration_ns_max, which must be at most "
            "1000000000000000 (got 0..2000000000)");
  options = SwarmOptions{};
  options.intensity_per_s_min = 3;
  EXPECT_EQ(validate_swarm_options(options).code(), absl::StatusCode::kInvalidArgument);
  options = SwarmOptions{};
  options.deadline_ns = options.fault_window_ns;
  EXPECT_EQ(validate_swarm_options(options).code(), absl::StatusCode::kInvalidArgument);
  options = SwarmOptions{};
  options.buggify_sites = {"a", "a"};
  EXPECT_EQ(std::string(validate_swarm_options(options).message()),
            "swarm options: buggify_sites must not repeat a name");
  options = SwarmOptions{};
  options.gpu_slowdown_min = 1;
  EXPECT_EQ(std::string(validate_swarm_options(options).message()),
            "swarm options: gpu_slowdown_min must be above 1 and at most gpu_slowdown_max, which must be at most "
            "1000 (got 1..10)");
  options = SwarmOptions{};
  options.gpu_pressure_bytes_max = 0;
  EXPECT_EQ(validate_swarm_options(options).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace troupe::faults
