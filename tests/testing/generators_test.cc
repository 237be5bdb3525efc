// The RapidCheck generators of testing/generators.h: every plan they make is valid and within its
// options, and shrinking makes plans and clusters as small and gentle as the failure allows.
#include <algorithm>
#include <optional>
#include <sstream>
#include <set>
#include <string>
#include <vector>

#include "faults/injector.h"
#include "faults/plan.h"
#include "gtest/gtest.h"
#include "testing/generators.h"
#include "testing/property.h"

namespace troupe::testing {
namespace {

using faults::FaultKind;

// Options drawn at random: any node count, any subset of the kinds, GPUs or not, sites or not.
rc::Gen<FaultPlanGenOptions> gen_options() {
  return rc::gen::apply(
      [](uint32_t nodes, std::vector<bool> enabled, size_t faults_max, uint32_t gpu_nodes, bool sites) {
        FaultPlanGenOptions options;
        options.node_count = nodes;
        size_t i = 0;
        for (FaultKind kind : all_faults()) {
          if (enabled[i++]) options.kinds.insert(kind);
        }
        options.faults_max = faults_max;
        options.gpu_node_count = gpu_nodes;
        options.gpus_per_node = gpu_nodes > 0 ? 2 : 0;
        if (sites) options.buggify_sites = {"store.slow_write", "cache.evict_early", "pool.hold_long"};
        return options;
      },
      rc::gen::inRange<uint32_t>(1, 6), rc::gen::container<std::vector<bool>>(all_faults().size(), rc::gen::arbitrary<bool>()),
      rc::gen::inRange<size_t>(0, 9), rc::gen::inRange<uint32_t>(0, 3), rc::gen::arbitrary<bool>());
}

TROUPE_PROPERTY(FaultPlanGenerator, PlansAreValidAndWithinTheirOptions, .cases = 300) {
  const FaultPlanGenOptions options = *gen_options();
  const faults::FaultPlan plan = *gen_fault_plan(options);
  RC_ASSERT(faults::validate_plan(plan, "generated").ok());
  RC_ASSERT(faults::check_supported(plan).ok());
  RC_ASSERT(plan.faults.size() <= options.faults_max);
  const std::vector<FaultKind> usable = usable_kinds(options);
  int gpu_losses = 0;
  for (size_t i = 0; i < plan.faults.size(); ++i) {
    const faults::ScheduledFault& fault = plan.faults[i];
    RC_ASSERT(fault.at_ns >= 0);
    RC_ASSERT(fault.at_ns < options.fault_window_ns);
    if (i > 0) RC_ASSERT(plan.faults[i - 1].at_ns <= fault.at_ns);
    RC_ASSERT(std::find(usable.begin(), usable.end(), fault.kind()) != usable.end());
    if (fault.kind() == FaultKind::kGpuLoss) ++gpu_losses;
    if (const auto* crash = std::get_if<faults::NodeCrashFault>(&fault.params)) {
      RC_ASSERT(crash->node >= 1u);  // never the head
      RC_ASSERT(crash->node < options.node_count);
    }
  }
  RC_ASSERT(gpu_losses <= 1);
  RC_TAG(plan.faults.empty() ? "no faults" : "some faults");
}

// Kinds the cluster cannot have are left out.
TEST(FaultPlanGenerator, LeavesOutKindsTheClusterCannotHave) {
  FaultPlanGenOptions options{.kinds = all_faults(), .node_count = 1};
  EXPECT_EQ(usable_kinds(options), (std::vector<FaultKind>{FaultKind::kCrash, FaultKind::kClog, FaultKind::kLatency,
                                                           FaultKind::kStorage, FaultKind::kSuspect}));
  options.node_count = 3;
  options.buggify_sites = {"a"};
  options.gpu_node_count = 1;
  options.gpus_per_node = 1;
  const std::vector<FaultKind> all(all_faults().begin(), all_faults().end());
  EXPECT_EQ(usable_kinds(options), all);
}

// A property that fails whenever the plan has a latency spike: RapidCheck removes every other
// fault and softens the spike to the least there is: at time 0, 1 ms extra for 1 ms.
TEST(FaultPlanGenerator, ShrinkingRemovesAndSoftensFaults) {
  const PropertyReport report = check_property({.cases = 200, .report_to_gtest = false}, [] {
    const faults::FaultPlan plan =
        *gen_fault_plan({.kinds = {FaultKind::kLatency, FaultKind::kClog, FaultKind::kCrash}}).as("plan");
    for (const faults::ScheduledFault& fault : plan.faults) RC_ASSERT(fault.kind() != FaultKind::kLatency);
  });
  ASSERT_FALSE(report.passed) << "no plan of 200 had a latency spike; RapidCheck seed " << report.seed;
  faults::FaultPlan minimal;
  minimal.faults.push_back(
      {.at_ns = 0, .params = faults::LatencyFault{.extra_latency_ns = kMillisecond, .duration_ns = kMillisecond}});
  ASSERT_EQ(report.counterexample.size(), 1u);
  EXPECT_EQ(report.counterexample[0].first, "plan");
  EXPECT_EQ(report.counterexample[0].second, faults::plan_to_json(minimal));
}

// Clusters shrink to fewer nodes, fewer CPUs and no GPUs: a property failing at 5 CPUs in all
// ends at exactly 5 (no node can lose one), without GPUs. Which split of the 5 depends on the
// first failing cluster (shrinking never moves CPUs between nodes).
std::optional<sim::ClusterShape> last_failing_shape;
TEST(ClusterShapeGenerator, ShrinksToASmallestClusterThatFails) {
  const PropertyReport report = check_property({.cases = 200, .report_to_gtest = false}, [] {
    const sim::ClusterShape shape = *gen_cluster_shape({.nodes_max = 4, .cpus_max = 8, .gpus_max = 2}).as("cluster");
    double cpus = 0;
    for (const sim::NodeOptions& node : shape.nodes) cpus += node.cpus;
    if (cpus >= 5) last_failing_shape = shape;
    RC_ASSERT(cpus < 5);
  });
  ASSERT_FALSE(report.passed);
  ASSERT_TRUE(last_failing_shape.has_value());
  double cpus = 0;
  for (const sim::NodeOptions& node : last_failing_shape->nodes) {
    cpus += node.cpus;
    EXPECT_EQ(node.gpus, 0);
  }
  EXPECT_EQ(cpus, 5.0);
  std::ostringstream shown;
  sim::showValue(*last_failing_shape, shown);
  ASSERT_EQ(report.counterexample.size(), 1u);
  EXPECT_EQ(report.counterexample[0].second, shown.str());
}

TEST(ClusterShapeGenerator, ShowsOneLinePerCluster) {
  std::ostringstream shown;
  sim::showValue({.nodes = {{.name = "head", .cpus = 8}, {.name = "node1", .cpus = 1, .gpus = 1},
                            {.name = "node2", .cpus = 2, .gpus = 4}}},
                 shown);
  EXPECT_EQ(shown.str(), "3 nodes: head (8 cpus), node1 (1 cpu, 1 gpu), node2 (2 cpus, 4 gpus)");
}

TEST(ClusterShapeGenerator, NamesTheHeadAndNumbersTheNodes) {
  const PropertyReport report = check_property({.cases = 100}, [] {
    const sim::ClusterShape shape = *gen_cluster_shape({.nodes_min = 2, .nodes_max = 5, .cpus_min = 2, .cpus_max = 4});
    RC_ASSERT(shape.nodes.size() >= 2u);
    RC_ASSERT(shape.nodes.size() <= 5u);
    for (size_t i = 0; i < shape.nodes.size(); ++i) {
      RC_ASSERT(shape.nodes[i].name == (i == 0 ? std::string("head") : "node" + std::to_string(i)));
      RC_ASSERT(shape.nodes[i].cpus >= 2.0);
      RC_ASSERT(shape.nodes[i].cpus <= 4.0);
      RC_ASSERT(shape.nodes[i].gpus == 0);
    }
  });
  EXPECT_TRUE(report.passed);
}

}  // namespace
}  // namespace troupe::testing
