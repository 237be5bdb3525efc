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

// Swarm's pinned output: a change here changes which faults every existing seed replays.
TEST(SwarmPlan, SeedOneIsPinned) {
  EXPECT_EQ(plan_to_json(swarm_plan(1, small_options())), R"({
  "version": 1,
  "generator": {"kinds":["partition","reset","storage","buggify","suspect"],"intensity_per_s":{"partition":0.22434767607560296,"reset":1.3644292588745388,"storage":0.3554737047921941,"buggify":0.6019448780548936,"suspect":1.4897696778522933},"fault_window_ms":2000,"quiet_ms":1000,"deadline_ms":5000},
  "faults": [
    {"at_ms":48.568647,"kind":"suspect","process":3},
    {"at_ms":77.217523,"kind":"reset","link":[1,2]},
    {"at_ms":128.329404,"kind":"suspect","process":0},
    {"at_ms":429.978761,"kind":"storage","error_rate":0.30968160808274153,"loss_rate":0.20024405338220014,"duration_ms":753.847151},
    {"at_ms":610.75413,"kind":"storage","error_rate":0.0,"loss_rate":0.3839264590175969,"duration_ms":1389.24587},
    {"at_ms":619.249484,"kind":"buggify","sites":["store.slow_ack"]},
    {"at_ms":639.377574,"kind":"reset","link":[1,0]},
    {"at_ms":744.254157,"kind":"reset","link":[1,2]},
    {"at_ms":865.742097,"kind":"reset","link":[1,0]},
    {"at_ms":993.505247,"kind":"suspect","process":3},
    {"at_ms":1377.658958,"kind":"buggify","sites":["directory.drop_lease","store.slow_ack"]},
    {"at_ms":1382.650797,"kind":"buggify","sites":["directory.drop_lease","store.slow_ack"]},
    {"at_ms":1386.755989,"kind":"partition","sides":[[1,2],[0]],"one_way":false,"duration_ms":613.244011},
    {"at_ms":1862.789418,"kind":"reset","link":[2,0]}
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
  EXPECT_EQ(plan.generator->kinds, (std::set<FaultKind>{FaultKind::kCrash, FaultKind::kNodeCrash, FaultKind::kClog,
                                                        FaultKind::kReset, FaultKind::kStorage}));
  EXPECT_EQ(plan.generator->intensity_per_s.at(FaultKind::kCrash), 1.0426754201252955);
  const std::vector<ScheduledFault> expected = {
      {.at_ns = 520'882'960, .params = CrashFault{.process = 0}},
      {.at_ns = 549'615'392,
       .params = StorageFault{.error_rate = 0.49873028744891185, .loss_rate = 0.0, .duration_ns = 1'450'384'608}},
      {.at_ns = 946'545'143, .params = CrashFault{.process = 1}},
      {.at_ns = 1'028'355'844, .params = NodeCrashFault{.node = 2, .reboot_after_ns = 971'644'156}},
      {.at_ns = 1'065'422'394, .params = ResetFault{.link = {1, 0}}},
      {.at_ns = 1'270'532'009, .params = CrashFault{.process = 3}},
  };
  EXPECT_EQ(plan.faults, expected);
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
  const SwarmOptions options = small_options();
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
  const SwarmOptions options = small_options();
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
}

}  // namespace
}  // namespace troupe::faults
