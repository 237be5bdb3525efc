// Scheduling strategies, placement groups and pending reasons (issue 5): Spread, NodeAffinity
// (hard, soft, unschedulable), placement groups reserved atomically with each strategy's exact
// placement, removal, actors drawing from bundles, actor_info / placement_group_info, and the
// wait report naming pending actors; a group's lifetime (removed with its creator unless detached)
// and the rescheduling of bundles whose node died for good.
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/core/cluster.h"
#include "runtime/real/threads_platform.h"
#include "runtime/troupe.h"
#include "sim/sim_run.h"
#include "sim/world.h"

namespace troupe {
namespace {

using namespace std::chrono_literals;

class Ticker {
 public:
  void forever() {
    while (true) troupe::sleep(100ms);
  }
};
TROUPE_ACTOR(Ticker, &Ticker::forever);

class Where {
 public:
  uint32_t node() { return this_actor::node().value; }
  std::vector<uint32_t> devices() { return this_actor::gpu_ids(); }
};
TROUPE_ACTOR(Where, &Where::node, &Where::devices);

// Three nodes with 4, 8 and 6 CPUs (the head first).
sim::SimRunOptions cluster(std::vector<double> cpus = {4, 8, 6}, int gpus = 0) {
  sim::SimRunOptions options{.seed = 1};
  options.cluster.nodes.clear();
  for (size_t i = 0; i < cpus.size(); ++i) {
    options.cluster.nodes.push_back({.name = "n" + std::to_string(i), .cpus = cpus[i], .gpus = gpus});
  }
  return options;
}

// Creates placement groups from inside an actor: the group belongs to this actor's worker.
class Planner {
 public:
  PlacementGroupHandle make(bool detached) {
    return this_actor::system().create_placement_group(
        {.bundles = {{.cpus = 2}}, .lifetime = detached ? Lifetime::kDetached : Lifetime::kOwned});
  }
};
TROUPE_ACTOR(Planner, &Planner::make);

uint32_t node_of(System& sys, const ActorHandle<Where>& actor) { return sys.get(actor.call(&Where::node), 5s); }

void expect_ok(const sim::SimRunResult& result) { EXPECT_TRUE(result.status.ok()) << result.status; }

TEST(Scheduling, SpreadTakesTheNodeWithTheFewestActorsWhereDefaultTakesTheMostFreeCpus) {
  expect_ok(sim::run_simulation(cluster(), [](System& sys) {
    std::vector<uint32_t> spread;
    for (int i = 0; i < 4; ++i) spread.push_back(node_of(sys, sys.spawn<Where>({.scheduling = Spread{}})));
    EXPECT_EQ(spread, (std::vector<uint32_t>{0, 1, 2, 0}));
    // Default: the most free CPUs. Free now: n0 2, n1 7, n2 5.
    std::vector<uint32_t> by_default;
    for (int i = 0; i < 3; ++i) by_default.push_back(node_of(sys, sys.spawn<Where>({})));
    EXPECT_EQ(by_default, (std::vector<uint32_t>{1, 1, 1}));
  }));
}

TEST(Scheduling, HardAffinityPinsSoftAffinityFallsBack) {
  expect_ok(sim::run_simulation(cluster(), [](System& sys) {
    auto pinned = sys.spawn<Where>({.num_cpus = 6, .scheduling = NodeAffinity{.node = NodeId{2}}});
    EXPECT_EQ(node_of(sys, pinned), 2u);
    // n2 is full now: soft goes to the default node (n1), hard waits with a reason.
    auto soft = sys.spawn<Where>({.scheduling = NodeAffinity{.node = NodeId{2}, .soft = true}});
    EXPECT_EQ(node_of(sys, soft), 1u);
    auto soft_fits = sys.spawn<Where>({.scheduling = NodeAffinity{.node = NodeId{0}, .soft = true}});
    EXPECT_EQ(node_of(sys, soft_fits), 0u);
    auto hard = sys.spawn<Where>({.scheduling = NodeAffinity{.node = NodeId{2}}});
    Ref<uint32_t> waiting = hard.call(&Where::node);
    EXPECT_THROW(sys.get(waiting, 100ms), GetTimeoutError);
    ActorInfo info = sys.actor_info(hard);
    EXPECT_EQ(info.state, ActorInfo::State::kPending);
    EXPECT_EQ(info.node, std::nullopt);
    EXPECT_EQ(info.pending_reason,
              "waiting for resources on node n2 (hard node affinity): needs 1 CPUs, 0 bytes and 0 GPUs; it has 0 CPUs, "
              "17179869184 bytes free");
    sys.kill(pinned);
    EXPECT_EQ(sys.get(waiting, 1s), 2u);
    info = sys.actor_info(hard);
    EXPECT_EQ(info.state, ActorInfo::State::kAlive);
    EXPECT_EQ(info.node, NodeId{2});
    EXPECT_EQ(info.pending_reason, "");
  }));
}

TEST(Scheduling, HardAffinityToAMissingNodeIsUnschedulable) {
  expect_ok(sim::run_simulation(cluster(), [](System& sys) {
    auto nowhere = sys.spawn<Where>({.scheduling = NodeAffinity{.node = NodeId{7}}});
    try {
      sys.get(nowhere.call(&Where::node), 5s);
      ADD_FAILURE() << "an actor pinned to a missing node ran";
    } catch (const ActorUnschedulableError& e) {
      EXPECT_EQ(std::string(e.what()),
                fmt::format("{} Where is unschedulable: its hard node affinity names node n7, which does not exist (the "
                            "cluster has nodes n0 to n2)",
                            nowhere.id()));
    }
    ActorInfo info = sys.actor_info(nowhere);
    EXPECT_EQ(info.state, ActorInfo::State::kDead);
    EXPECT_EQ(info.death_cause,
              fmt::format("{} Where is unschedulable: its hard node affinity names node n7, which does not exist (the "
                          "cluster has nodes n0 to n2)",
                          nowhere.id()));
  }));
}

// Ray's rule: a hard-affinity actor whose node died for good cannot restart anywhere else.
TEST(Scheduling, HardAffinityActorIsUnschedulableOnRestartWhenItsNodeDiedForGood) {
  sim::SimRunOptions options = cluster();
  options.prepare = [](sim::World& world) {
    world.at(50 * kMillisecond, [&world] { world.crash_node(NodeId{2}, -1); });
  };
  expect_ok(sim::run_simulation(options, [](System& sys) {
    auto pinned = sys.spawn<Where>({.scheduling = NodeAffinity{.node = NodeId{2}}, .max_restarts = 3});
    auto free = sys.spawn<Where>({.scheduling = NodeAffinity{.node = NodeId{1}}, .max_restarts = 3});
    EXPECT_EQ(node_of(sys, pinned), 2u);
    troupe::sleep(1s);
    try {
      sys.get(pinned.call(&Where::node), 5s);
      ADD_FAILURE() << "the pinned actor restarted off its node";
    } catch (const ActorUnschedulableError& e) {
      EXPECT_EQ(std::string(e.what()),
                fmt::format("{} Where is unschedulable: its hard node affinity names node n2, which is dead",
                            pinned.id()));
    }
    ActorInfo info = sys.actor_info(pinned);
    EXPECT_EQ(info.state, ActorInfo::State::kDead);
    EXPECT_EQ(info.restarts, 1);
    EXPECT_EQ(node_of(sys, free), 1u);
  }));
}

TEST(Scheduling, HardAffinityWaitsForARebootingNode) {
  sim::SimRunOptions options = cluster();
  options.prepare = [](sim::World& world) {
    world.at(50 * kMillisecond, [&world] { world.crash_node(NodeId{2}, 2 * kSecond); });
  };
  expect_ok(sim::run_simulation(options, [](System& sys) {
    auto pinned = sys.spawn<Where>(
        {.scheduling = NodeAffinity{.node = NodeId{2}}, .max_restarts = 1, .max_task_retries = -1});
    EXPECT_EQ(node_of(sys, pinned), 2u);
    troupe::sleep(1s);
    ActorInfo info = sys.actor_info(pinned);
    EXPECT_EQ(info.state, ActorInfo::State::kRestarting);
    EXPECT_EQ(info.pending_reason, "waiting for node n2 (hard node affinity) to come back");
    EXPECT_EQ(node_of(sys, pinned), 2u);  // after the reboot
    EXPECT_EQ(sys.actor_info(pinned).restarts, 1);
  }));
}

TEST(Scheduling, PendingReasonOfAnInfeasibleActorViaActorInfo) {
  expect_ok(sim::run_simulation(cluster({4, 4}, 1), [](System& sys) {
    auto big = sys.spawn<Where>({.num_gpus = 2});
    ActorInfo info = sys.actor_info(big);
    EXPECT_EQ(info.state, ActorInfo::State::kPending);
    EXPECT_EQ(info.pending_reason, "infeasible: needs 2 GPUs, the largest node has 1");
    EXPECT_EQ(info.node, std::nullopt);
    auto gpu = sys.spawn<Where>({.num_gpus = 0.5});
    EXPECT_EQ(sys.get(gpu.call(&Where::devices), 1s), (std::vector<uint32_t>{0}));
    info = sys.actor_info(gpu);
    EXPECT_EQ(info.state, ActorInfo::State::kAlive);
    EXPECT_EQ(info.node, NodeId{0});  // ties on free CPUs go to the lowest id
    EXPECT_EQ(info.gpu_ids, (std::vector<uint32_t>{0}));
  }));
}

// Acceptance: a group that cannot fit reserves nothing.
TEST(PlacementGroups, AGroupThatCannotFitReservesNothing) {
  expect_ok(sim::run_simulation(cluster({4, 4}), [](System& sys) {
    auto first = sys.spawn<Where>({.num_cpus = 2});
    EXPECT_EQ(node_of(sys, first), 0u);  // a tie: the lowest id
    // Free: n0 2, n1 4. Bundle 0 would fit n1, bundle 1 fits nowhere then.
    PlacementGroupHandle pg = sys.create_placement_group({.bundles = {{.cpus = 3}, {.cpus = 3}}, .name = "pair"});
    EXPECT_FALSE(sys.placement_group_ready(pg, 100ms));
    PlacementGroupInfo info = sys.placement_group_info(pg);
    EXPECT_EQ(info.state, PlacementGroupInfo::State::kPending);
    EXPECT_EQ(info.pending_reason,
              "waiting for resources: bundle 1 (3 CPUs, 0 bytes and 0 GPUs) fits no node's free resources (PACK); "
              "nothing is reserved until all 2 bundles fit");
    EXPECT_EQ(info.bundle_nodes, std::vector<NodeId>{});
    // Nothing was reserved: all 6 free CPUs still take actors (n1's 4 included).
    auto second = sys.spawn<Where>({.num_cpus = 2});
    auto third = sys.spawn<Where>({.num_cpus = 2});
    auto fourth = sys.spawn<Where>({.num_cpus = 2});
    EXPECT_EQ(node_of(sys, second), 1u);
    EXPECT_EQ(node_of(sys, third), 0u);  // n0 2, n1 2: the lowest id
    EXPECT_EQ(node_of(sys, fourth), 1u);
    sys.kill(first);
    sys.kill(second);
    sys.kill(third);
    sys.kill(fourth);
    EXPECT_TRUE(sys.placement_group_ready(pg, 1s));
    info = sys.placement_group_info(pg);
    EXPECT_EQ(info.state, PlacementGroupInfo::State::kCreated);
    EXPECT_EQ(info.bundle_nodes, (std::vector<NodeId>{NodeId{0}, NodeId{1}}));
  }));
}

// Acceptance: STRICT_SPREAD puts each bundle on a different node, or stays pending.
TEST(PlacementGroups, StrictSpreadPutsEachBundleOnADifferentNodeOrStaysPending) {
  expect_ok(sim::run_simulation(cluster(), [](System& sys) {
    PlacementGroupHandle pg = sys.create_placement_group(
        {.bundles = {{.cpus = 1}, {.cpus = 1}, {.cpus = 1}}, .strategy = PlacementStrategy::kStrictSpread});
    ASSERT_TRUE(sys.placement_group_ready(pg, 1s));
    std::vector<uint32_t> nodes;
    for (int b = 0; b < 3; ++b) {
      nodes.push_back(node_of(sys, sys.spawn<Where>({.scheduling = PlacementGroup{.pg = pg, .bundle = b}})));
    }
    EXPECT_EQ(nodes, (std::vector<uint32_t>{1, 2, 0}));  // most free CPUs first: 8, 6, 4

    PlacementGroupHandle four = sys.create_placement_group(
        {.bundles = {{.cpus = 1}, {.cpus = 1}, {.cpus = 1}, {.cpus = 1}}, .strategy = PlacementStrategy::kStrictSpread,
         .name = "four"});
    EXPECT_FALSE(sys.placement_group_ready(four, 200ms));
    PlacementGroupInfo info = sys.placement_group_info(four);
    EXPECT_EQ(info.state, PlacementGroupInfo::State::kPending);
    EXPECT_EQ(info.pending_reason,
              "infeasible: STRICT_SPREAD puts each of its 4 bundles on a different node, and the cluster has 3 nodes");

    // Feasible, but n0 is full: pending, then reserved once n0 has room.
    auto hog = sys.spawn<Where>({.num_cpus = 3, .scheduling = NodeAffinity{.node = NodeId{0}}});
    EXPECT_EQ(node_of(sys, hog), 0u);
    PlacementGroupHandle three = sys.create_placement_group(
        {.bundles = {{.cpus = 1}, {.cpus = 1}, {.cpus = 1}}, .strategy = PlacementStrategy::kStrictSpread});
    EXPECT_FALSE(sys.placement_group_ready(three, 200ms));
    EXPECT_EQ(sys.placement_group_info(three).pending_reason,
              "waiting for resources: bundle 2 (1 CPUs, 0 bytes and 0 GPUs) fits no node free of the group's other "
              "bundles (STRICT_SPREAD); nothing is reserved until all 3 bundles fit");
    sys.kill(hog);
    EXPECT_TRUE(sys.placement_group_ready(three, 1s));
    EXPECT_EQ(sys.placement_group_info(three).bundle_nodes, (std::vector<NodeId>{NodeId{1}, NodeId{2}, NodeId{0}}));
  }));
}

std::vector<NodeId> bundle_nodes_of(System& sys, PlacementStrategy strategy, std::vector<double> cpus) {
  PlacementGroupOptions options{.strategy = strategy};
  for (double c : cpus) options.bundles.push_back({.cpus = c});
  PlacementGroupHandle pg = sys.create_placement_group(options);
  EXPECT_TRUE(sys.placement_group_ready(pg, 1s));
  std::vector<NodeId> nodes = sys.placement_group_info(pg).bundle_nodes;
  sys.remove_placement_group(pg);  // frees the reservation for the next group
  return nodes;
}

TEST(PlacementGroups, EachStrategyPlacesBundlesExactly) {
  expect_ok(sim::run_simulation(cluster(), [](System& sys) {
    using V = std::vector<NodeId>;
    const NodeId n0{0}, n1{1}, n2{2};
    EXPECT_EQ(bundle_nodes_of(sys, PlacementStrategy::kPack, {2, 2, 2}), (V{n1, n1, n1}));
    EXPECT_EQ(bundle_nodes_of(sys, PlacementStrategy::kStrictPack, {2, 2, 2}), (V{n1, n1, n1}));
    EXPECT_EQ(bundle_nodes_of(sys, PlacementStrategy::kSpread, {2, 2, 2}), (V{n1, n2, n0}));
    EXPECT_EQ(bundle_nodes_of(sys, PlacementStrategy::kStrictSpread, {2, 2, 2}), (V{n1, n2, n0}));
    // PACK when no node holds them all: each bundle on a node the group uses if it fits, else
    // the most free CPUs.
    EXPECT_EQ(bundle_nodes_of(sys, PlacementStrategy::kPack, {5, 2, 5}), (V{n1, n1, n2}));
    // SPREAD with more bundles than nodes: the fewest bundles of the group, then most free CPUs.
    EXPECT_EQ(bundle_nodes_of(sys, PlacementStrategy::kSpread, {1, 1, 1, 1, 1}), (V{n1, n2, n0, n1, n2}));

    PlacementGroupHandle too_big = sys.create_placement_group(
        {.bundles = {{.cpus = 5}, {.cpus = 5}}, .strategy = PlacementStrategy::kStrictPack});
    EXPECT_FALSE(sys.placement_group_ready(too_big, 100ms));
    EXPECT_EQ(sys.placement_group_info(too_big).pending_reason,
              "infeasible: its 2 bundles do not fit (STRICT_PACK) even on the empty cluster");
    PlacementGroupHandle huge = sys.create_placement_group({.bundles = {{.cpus = 1}, {.cpus = 9}}});
    EXPECT_FALSE(sys.placement_group_ready(huge, 100ms));
    EXPECT_EQ(sys.placement_group_info(huge).pending_reason,
              "infeasible: bundle 1 needs 9 CPUs, the largest node has 8");
  }));
}

TEST(PlacementGroups, SameSeedSameRun) {
  auto driver = [](System& sys) {
    PlacementGroupHandle pg = sys.create_placement_group(
        {.bundles = {{.cpus = 2}, {.cpus = 2}}, .strategy = PlacementStrategy::kSpread});
    EXPECT_TRUE(sys.placement_group_ready(pg, 1s));
    auto a = sys.spawn<Where>({.scheduling = PlacementGroup{.pg = pg}});
    auto b = sys.spawn<Where>({.scheduling = Spread{}});
    EXPECT_EQ(node_of(sys, a), 1u);
    EXPECT_EQ(node_of(sys, b), 0u);  // n0 holds no actor yet (a bundle is not an actor)
    sys.remove_placement_group(pg);
  };
  sim::SimRunResult first = sim::run_simulation(cluster(), driver);
  sim::SimRunResult second = sim::run_simulation(cluster(), driver);
  expect_ok(first);
  EXPECT_EQ(first.trace_hash, second.trace_hash);
  EXPECT_EQ(first.events, second.events);
}

std::string label(const PlacementGroupHandle& pg) {
  return fmt::format("pg{}.{}", pg.id >> 32, pg.id & 0xffffffffu);
}

TEST(PlacementGroups, ActorsDrawFromTheirBundleAndRemovalKillsThemAndFreesTheNodes) {
  expect_ok(sim::run_simulation(cluster({4, 8}), [](System& sys) {
    // Largest bundle first: bundle 1 (6 CPUs) takes n1, then bundle 0 the other node.
    PlacementGroupHandle pg = sys.create_placement_group(
        {.bundles = {{.cpus = 2}, {.cpus = 6}}, .strategy = PlacementStrategy::kStrictSpread});
    ASSERT_TRUE(sys.placement_group_ready(pg, 1s));
    EXPECT_EQ(sys.placement_group_info(pg).bundle_nodes, (std::vector<NodeId>{NodeId{0}, NodeId{1}}));
    // Free in the nodes' pools now: n0 2, n1 2.
    auto a = sys.spawn<Where>({.scheduling = PlacementGroup{.pg = pg, .bundle = 0}});
    auto b = sys.spawn<Where>({.scheduling = PlacementGroup{.pg = pg, .bundle = 0}});
    EXPECT_EQ(node_of(sys, a), 0u);
    EXPECT_EQ(node_of(sys, b), 0u);
    auto c = sys.spawn<Where>({.scheduling = PlacementGroup{.pg = pg, .bundle = 0}});
    Ref<uint32_t> c_node = c.call(&Where::node);
    EXPECT_THROW(sys.get(c_node, 100ms), GetTimeoutError);
    EXPECT_EQ(sys.actor_info(c).pending_reason,
              fmt::format("waiting for resources: needs 1 CPUs, 0 bytes and 0 GPUs; bundle 0 of placement group {} "
                          "has not that much left",
                          label(pg)));
    // The bundle is full, but the node's own pool is not: a default actor still fits n0.
    auto outside = sys.spawn<Where>({.num_cpus = 2});
    EXPECT_EQ(node_of(sys, outside), 0u);  // n0 2, n1 2: the lowest id
    auto any = sys.spawn<Where>({.num_cpus = 4, .scheduling = PlacementGroup{.pg = pg}});
    EXPECT_EQ(node_of(sys, any), 1u);  // bundle 0 has no room: bundle 1
    auto too_big = sys.spawn<Where>({.num_cpus = 7, .scheduling = PlacementGroup{.pg = pg}});
    EXPECT_EQ(sys.actor_info(too_big).pending_reason,
              fmt::format("infeasible: needs 7 CPUs, 0 bytes and 0 GPUs, more than any bundle of placement group {} "
                          "reserves",
                          label(pg)));
    try {
      sys.spawn<Where>({.scheduling = PlacementGroup{.pg = pg, .bundle = 2}});
      ADD_FAILURE() << "bundle 2 of a 2-bundle group was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()),
                "spawn: PlacementGroup{.bundle = 2} is out of range: the group has 2 bundles (use 0 to 1, or -1 for "
                "any bundle)");
    }

    sys.remove_placement_group(pg);
    troupe::sleep(10ms);  // the directory hears of the removal and kills the group's actors
    const std::string killed = fmt::format("was killed: its placement group {} was removed", label(pg));
    for (const ActorHandle<Where>* actor : {&a, &c, &any}) {
      try {
        sys.get(actor->call(&Where::node), 1s);
        ADD_FAILURE() << "an actor of a removed group answered";
      } catch (const ActorDiedError& e) {
        EXPECT_EQ(e.cause(), fmt::format("{} {}", actor->id(), killed));
      }
    }
    EXPECT_EQ(sys.actor_info(c).state, ActorInfo::State::kDead);
    EXPECT_EQ(node_of(sys, outside), 0u);  // not in the group: untouched
    // The reservation is free again: n1 has all 8 CPUs.
    auto wide = sys.spawn<Where>({.num_cpus = 8});
    EXPECT_EQ(node_of(sys, wide), 1u);
    EXPECT_THROW(sys.placement_group_ready(pg, 1s), Error);
    EXPECT_EQ(sys.placement_group_info(pg).state, PlacementGroupInfo::State::kRemoved);
    auto late = sys.spawn<Where>({.scheduling = PlacementGroup{.pg = pg, .bundle = 0}});
    try {
      sys.get(late.call(&Where::node), 1s);
      ADD_FAILURE() << "an actor in a removed group ran";
    } catch (const ActorUnschedulableError& e) {
      EXPECT_EQ(std::string(e.what()),
                fmt::format("{} Where is unschedulable: its placement group {} was removed", late.id(), label(pg)));
    }
  }));
}

TEST(PlacementGroups, BundleGpusFollowNumGpusRulesAndActorsTakeTheBundlesDevices) {
  expect_ok(sim::run_simulation(cluster({4, 4}, 2), [](System& sys) {
    try {
      sys.create_placement_group({.bundles = {{.cpus = 1}, {.cpus = 1, .gpus = 1.5}}});
      ADD_FAILURE() << "a 1.5-GPU bundle was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()),
                "create_placement_group: bundle 1 gpus = 1.5: above 1, only whole GPUs (a share of a device must be "
                "at most 1)");
    }
    EXPECT_THROW(sys.create_placement_group({}), std::invalid_argument);
    // Largest first: bundle 1 (a whole GPU) takes n0's device 0, bundle 0 a share of device 1.
    PlacementGroupHandle pg =
        sys.create_placement_group({.bundles = {{.cpus = 1, .gpus = 0.5}, {.cpus = 1, .gpus = 1}}});
    ASSERT_TRUE(sys.placement_group_ready(pg, 1s));
    EXPECT_EQ(sys.placement_group_info(pg).bundle_nodes, (std::vector<NodeId>{NodeId{0}, NodeId{0}}));
    auto share = sys.spawn<Where>({.num_gpus = 0.25, .scheduling = PlacementGroup{.pg = pg, .bundle = 0}});
    auto whole = sys.spawn<Where>({.num_gpus = 1, .scheduling = PlacementGroup{.pg = pg, .bundle = 1}});
    EXPECT_EQ(sys.get(share.call(&Where::devices), 1s), (std::vector<uint32_t>{1}));
    EXPECT_EQ(sys.get(whole.call(&Where::devices), 1s), (std::vector<uint32_t>{0}));
    // n0's pool keeps half of device 1 (5000 units) outside the group.
    auto outside = sys.spawn<Where>({.num_gpus = 0.5, .scheduling = NodeAffinity{.node = NodeId{0}}});
    EXPECT_EQ(sys.get(outside.call(&Where::devices), 1s), (std::vector<uint32_t>{1}));
    auto greedy = sys.spawn<Where>({.num_gpus = 1, .scheduling = PlacementGroup{.pg = pg, .bundle = 0}});
    EXPECT_EQ(sys.actor_info(greedy).pending_reason,
              fmt::format("infeasible: needs 1 CPUs, 0 bytes and 1 GPUs, more than bundle 0 of placement group {} "
                          "reserves",
                          label(pg)));
  }));
}

// The wait report lists what the directory holds back, with the reasons.
TEST(Scheduling, TheLivenessReportNamesPendingActorsAndGroupsWithTheirReasons) {
  sim::SimRunOptions options = cluster({4, 4}, 1);
  options.deadline_ns = 2 * kSecond;
  options.name = "stuck";
  std::string actor;
  std::string group;
  sim::SimRunResult result = sim::run_simulation(options, [&](System& sys) {
    PlacementGroupHandle pg = sys.create_placement_group(
        {.bundles = {{.cpus = 1}, {.cpus = 1}, {.cpus = 1}}, .strategy = PlacementStrategy::kStrictSpread,
         .name = "trio"});
    group = label(pg);
    auto ticker = sys.spawn<Ticker>({});
    Ref<void> running = ticker.call(&Ticker::forever);  // keeps the run going: it ends at the deadline, not in a deadlock
    auto big = sys.spawn<Where>({.num_gpus = 2});
    actor = fmt::format("{}", big.id());
    sys.get(big.call(&Where::node));  // forever
  });
  EXPECT_TRUE(absl::IsDeadlineExceeded(result.status)) << result.status;
  const std::string message(result.status.message());
  EXPECT_TRUE(message.starts_with("liveness: stuck did not finish by its deadline of 2 s (simulated)")) << message;
  EXPECT_NE(message.find(fmt::format("  directory: {} Where is pending: infeasible: needs 2 GPUs, the largest node has 1\n",
                                     actor)),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(fmt::format("  directory: placement group {} 'trio' (STRICT_SPREAD, 3 bundles) is pending: "
                                     "infeasible: STRICT_SPREAD puts each of its 3 bundles on a different node, and "
                                     "the cluster has 2 nodes\n",
                                     group)),
            std::string::npos)
      << message;
}

TEST(Scheduling, TheThreadsPlatformsWaitReportNamesAPendingActor) {
  ThreadsPlatform platform({.threads = 2,
                            .nodes = {{.name = "head", .cpus = 4, .gpus = 1}, {.name = "node1", .cpus = 4, .gpus = 1}},
                            .deadline = 300 * kMillisecond});
  std::string actor;
  absl::Status status = core::run_driver(platform, [&](System& sys) {
    auto big = sys.spawn<Where>({.num_gpus = 2});
    actor = fmt::format("{}", big.id());
    sys.get(big.call(&Where::node));  // forever
  });
  EXPECT_TRUE(absl::IsDeadlineExceeded(status)) << status;
  const std::string message(status.message());
  EXPECT_NE(message.find(fmt::format("\n  directory: {} Where is pending: infeasible: needs 2 GPUs, the largest node has "
                                     "1\n",
                                     actor)),
            std::string::npos)
      << message;
}

TEST(Scheduling, TheDeadlockReportNamesAPendingActor) {
  std::string actor;
  sim::SimRunResult result = sim::run_simulation(cluster({4, 4}, 1), [&](System& sys) {
    auto big = sys.spawn<Where>({.num_gpus = 2});
    actor = fmt::format("{}", big.id());
    sys.get(big.call(&Where::node));  // forever, and nothing else happens
  });
  EXPECT_TRUE(absl::IsFailedPrecondition(result.status)) << result.status;
  const std::string message(result.status.message());
  EXPECT_NE(message.find(fmt::format("\n  directory: {} Where is pending: infeasible: needs 2 GPUs, the largest node has "
                                     "1\n",
                                     actor)),
            std::string::npos)
      << message;
}


TEST(PlacementGroups, AGroupIsRemovedWhenItsCreatorEndsUnlessDetached) {
  expect_ok(sim::run_simulation(cluster(), [](System& sys) {
    auto planner = sys.spawn<Planner>({});  // n1 (8 free): 7 left
    PlacementGroupHandle owned = sys.get(planner.call(&Planner::make, false), 5s);
    PlacementGroupHandle detached = sys.get(planner.call(&Planner::make, true), 5s);
    ASSERT_TRUE(sys.placement_group_ready(owned, 1s));
    ASSERT_TRUE(sys.placement_group_ready(detached, 1s));
    EXPECT_EQ(sys.placement_group_info(owned).bundle_nodes, std::vector<NodeId>{NodeId{1}});     // n1: 5 left
    EXPECT_EQ(sys.placement_group_info(detached).bundle_nodes, std::vector<NodeId>{NodeId{2}});  // n2 had 6
    auto in_owned = sys.spawn<Where>({.num_cpus = 2, .scheduling = PlacementGroup{.pg = owned}});
    auto in_detached = sys.spawn<Where>({.num_cpus = 2, .scheduling = PlacementGroup{.pg = detached}});
    EXPECT_EQ(node_of(sys, in_owned), 1u);
    EXPECT_EQ(node_of(sys, in_detached), 2u);

    sys.kill(planner);
    troupe::sleep(100ms);  // the directory hears that the planner's worker ended
    const std::string reason =
        fmt::format("its creator {} ended ({} was killed by kill())", planner.id(), planner.id());
    PlacementGroupInfo info = sys.placement_group_info(owned);
    EXPECT_EQ(info.state, PlacementGroupInfo::State::kRemoved);
    EXPECT_EQ(info.removal_reason, reason);
    EXPECT_TRUE(info.bundle_nodes.empty());
    try {
      sys.get(in_owned.call(&Where::node), 1s);
      ADD_FAILURE() << "an actor of a group whose creator ended answered";
    } catch (const ActorDiedError& e) {
      EXPECT_EQ(e.cause(), fmt::format("{} was killed: its placement group {} was removed: {}", in_owned.id(),
                                       label(owned), reason));
    }
    try {
      sys.placement_group_ready(owned, 1s);
      ADD_FAILURE() << "a removed group was ready";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()),
                fmt::format("placement_group_ready: placement group {} was removed: {}", label(owned), reason));
    }
    auto late = sys.spawn<Where>({.scheduling = PlacementGroup{.pg = owned}});
    try {
      sys.get(late.call(&Where::node), 1s);
      ADD_FAILURE() << "an actor in a removed group ran";
    } catch (const ActorUnschedulableError& e) {
      EXPECT_EQ(std::string(e.what()), fmt::format("{} Where is unschedulable: its placement group {} was removed: {}",
                                                   late.id(), label(owned), reason));
    }
    // The detached group and its actor outlive the creator.
    PlacementGroupInfo kept = sys.placement_group_info(detached);
    EXPECT_EQ(kept.state, PlacementGroupInfo::State::kCreated);
    EXPECT_EQ(kept.removal_reason, "");
    EXPECT_EQ(node_of(sys, in_detached), 2u);
    // The owned reservation and the planner's CPU are free again: n1 has all 8.
    auto wide = sys.spawn<Where>({.num_cpus = 8});
    EXPECT_EQ(node_of(sys, wide), 1u);
  }));
}

TEST(PlacementGroups, BundlesOnARebootingNodeStayAndTheirActorsWaitForIt) {
  sim::SimRunOptions options = cluster({4, 4, 4});
  options.prepare = [](sim::World& world) {
    world.at(500 * kMillisecond, [&world] { world.crash_node(NodeId{1}, 2 * kSecond); });
  };
  expect_ok(sim::run_simulation(options, [](System& sys) {
    PlacementGroupHandle pg = sys.create_placement_group(
        {.bundles = {{.cpus = 2}, {.cpus = 2}, {.cpus = 2}}, .strategy = PlacementStrategy::kStrictSpread});
    ASSERT_TRUE(sys.placement_group_ready(pg, 1s));
    auto w1 = sys.spawn<Where>(
        {.scheduling = PlacementGroup{.pg = pg, .bundle = 1}, .max_restarts = 1, .max_task_retries = -1});
    EXPECT_EQ(node_of(sys, w1), 1u);
    troupe::sleep(1s);  // n1 crashed at 500 ms; it reboots at 2.5 s
    PlacementGroupInfo info = sys.placement_group_info(pg);
    EXPECT_EQ(info.state, PlacementGroupInfo::State::kCreated);
    EXPECT_EQ(info.bundle_nodes, (std::vector<NodeId>{NodeId{0}, NodeId{1}, NodeId{2}}));
    ActorInfo actor = sys.actor_info(w1);
    EXPECT_EQ(actor.state, ActorInfo::State::kRestarting);
    EXPECT_EQ(actor.pending_reason,
              fmt::format("waiting for node n1 of bundle 1 of placement group {} to come back", label(pg)));
    EXPECT_EQ(node_of(sys, w1), 1u);  // after the reboot, in the same bundle
    EXPECT_EQ(sys.actor_info(w1).restarts, 1);
  }));
}

TEST(PlacementGroups, StrictSpreadBundlesOfADeadNodeWaitForASpareNodeThenMoveThere) {
  sim::SimRunOptions options = cluster({4, 4, 4, 4});
  options.prepare = [](sim::World& world) {
    world.at(500 * kMillisecond, [&world] { world.crash_node(NodeId{1}, -1); });
  };
  expect_ok(sim::run_simulation(options, [](System& sys) {
    auto hog = sys.spawn<Where>({.num_cpus = 4, .scheduling = NodeAffinity{.node = NodeId{3}}});
    EXPECT_EQ(node_of(sys, hog), 3u);
    PlacementGroupHandle pg = sys.create_placement_group(
        {.bundles = {{.cpus = 2}, {.cpus = 2}, {.cpus = 2}}, .strategy = PlacementStrategy::kStrictSpread});
    ASSERT_TRUE(sys.placement_group_ready(pg, 1s));
    EXPECT_EQ(sys.placement_group_info(pg).bundle_nodes, (std::vector<NodeId>{NodeId{0}, NodeId{1}, NodeId{2}}));
    auto w0 = sys.spawn<Where>(
        {.scheduling = PlacementGroup{.pg = pg, .bundle = 0}, .max_restarts = 1, .max_task_retries = -1});
    auto w1 = sys.spawn<Where>(
        {.scheduling = PlacementGroup{.pg = pg, .bundle = 1}, .max_restarts = 1, .max_task_retries = -1});
    auto once = sys.spawn<Where>({.scheduling = PlacementGroup{.pg = pg, .bundle = 1}, .max_restarts = 0});
    EXPECT_EQ(node_of(sys, w0), 0u);
    EXPECT_EQ(node_of(sys, w1), 1u);
    EXPECT_EQ(node_of(sys, once), 1u);

    troupe::sleep(1s);  // n1 died for good at 500 ms: bundle 1 needs a node without a bundle, n3 is full
    const std::string reason =
        "rescheduling: bundle 1 was on node n1, which crashed for good; bundle 1 (2 CPUs, 0 bytes and 0 GPUs) fits "
        "no live node free of the group's other bundles (STRICT_SPREAD); the other 2 bundles stay reserved";
    PlacementGroupInfo info = sys.placement_group_info(pg);
    EXPECT_EQ(info.state, PlacementGroupInfo::State::kPending);
    EXPECT_EQ(info.pending_reason, reason);
    EXPECT_TRUE(info.bundle_nodes.empty());
    EXPECT_FALSE(sys.placement_group_ready(pg, 100ms));
    ActorInfo moved = sys.actor_info(w1);
    EXPECT_EQ(moved.state, ActorInfo::State::kRestarting);
    EXPECT_EQ(moved.pending_reason,
              fmt::format("waiting for placement group {} to be reserved again ({})", label(pg), reason));
    ActorInfo gone = sys.actor_info(once);
    EXPECT_EQ(gone.state, ActorInfo::State::kDead);
    EXPECT_EQ(gone.death_cause, fmt::format("{} crashed: node n1 crashed (max_restarts = 0)", once.id()));
    EXPECT_EQ(node_of(sys, w0), 0u);  // the kept bundles' actors run on
    EXPECT_EQ(sys.actor_info(w0).restarts, 0);

    sys.kill(hog);  // n3 is free: bundle 1 moves there, and its actor with it
    ASSERT_TRUE(sys.placement_group_ready(pg, 1s));
    info = sys.placement_group_info(pg);
    EXPECT_EQ(info.state, PlacementGroupInfo::State::kCreated);
    EXPECT_EQ(info.pending_reason, "");
    EXPECT_EQ(info.bundle_nodes, (std::vector<NodeId>{NodeId{0}, NodeId{3}, NodeId{2}}));
    EXPECT_EQ(node_of(sys, w1), 3u);
    EXPECT_EQ(sys.actor_info(w1).restarts, 1);
    // The replacement bundle is 2 CPUs of n3 (the actor holds 1): the other 2 are in the node's pool.
    auto in_bundle = sys.spawn<Where>({.scheduling = PlacementGroup{.pg = pg, .bundle = 1}});
    EXPECT_EQ(node_of(sys, in_bundle), 3u);
    auto outside = sys.spawn<Where>({.num_cpus = 2, .scheduling = NodeAffinity{.node = NodeId{3}}});
    EXPECT_EQ(node_of(sys, outside), 3u);
    auto full = sys.spawn<Where>({.scheduling = PlacementGroup{.pg = pg, .bundle = 1}});
    EXPECT_THROW(sys.get(full.call(&Where::node), 100ms), GetTimeoutError);
  }));
}

TEST(PlacementGroups, StrictSpreadWithNoSpareNodeStaysReschedulingWithItsReason) {
  sim::SimRunOptions options = cluster({4, 4, 4});
  options.prepare = [](sim::World& world) {
    world.at(500 * kMillisecond, [&world] { world.crash_node(NodeId{2}, -1); });
  };
  expect_ok(sim::run_simulation(options, [](System& sys) {
    PlacementGroupHandle pg = sys.create_placement_group(
        {.bundles = {{.cpus = 2}, {.cpus = 2}, {.cpus = 2}}, .strategy = PlacementStrategy::kStrictSpread});
    ASSERT_TRUE(sys.placement_group_ready(pg, 1s));
    troupe::sleep(1s);
    PlacementGroupInfo info = sys.placement_group_info(pg);
    EXPECT_EQ(info.state, PlacementGroupInfo::State::kPending);
    EXPECT_EQ(info.pending_reason,
              "rescheduling: bundle 2 was on node n2, which crashed for good; bundle 2 (2 CPUs, 0 bytes and 0 GPUs) "
              "fits no live node free of the group's other bundles (STRICT_SPREAD); the other 2 bundles stay reserved");
    EXPECT_FALSE(sys.placement_group_ready(pg, 500ms));
    // The kept bundles still hold their CPUs: 2 free on each live node.
    auto wide = sys.spawn<Where>({.num_cpus = 3});
    EXPECT_THROW(sys.get(wide.call(&Where::node), 100ms), GetTimeoutError);
    sys.remove_placement_group(pg);  // frees the kept bundles
    EXPECT_EQ(node_of(sys, wide), 0u);
  }));
}

TEST(PlacementGroups, AStrictPackGroupOnADeadNodeMovesWhole) {
  sim::SimRunOptions options = cluster();
  options.prepare = [](sim::World& world) {
    world.at(500 * kMillisecond, [&world] { world.crash_node(NodeId{1}, -1); });
  };
  expect_ok(sim::run_simulation(options, [](System& sys) {
    PlacementGroupHandle pg = sys.create_placement_group(
        {.bundles = {{.cpus = 2}, {.cpus = 2}}, .strategy = PlacementStrategy::kStrictPack});
    ASSERT_TRUE(sys.placement_group_ready(pg, 1s));
    EXPECT_EQ(sys.placement_group_info(pg).bundle_nodes, (std::vector<NodeId>{NodeId{1}, NodeId{1}}));
    auto a = sys.spawn<Where>(
        {.num_cpus = 2, .scheduling = PlacementGroup{.pg = pg, .bundle = 0}, .max_restarts = 1, .max_task_retries = -1});
    auto b = sys.spawn<Where>(
        {.num_cpus = 2, .scheduling = PlacementGroup{.pg = pg, .bundle = 1}, .max_restarts = 1, .max_task_retries = -1});
    EXPECT_EQ(node_of(sys, a), 1u);
    EXPECT_EQ(node_of(sys, b), 1u);
    troupe::sleep(1s);
    // n2 has 6 free CPUs, n0 4: the whole group goes to n2, and both actors with it.
    ASSERT_TRUE(sys.placement_group_ready(pg, 1s));
    EXPECT_EQ(sys.placement_group_info(pg).bundle_nodes, (std::vector<NodeId>{NodeId{2}, NodeId{2}}));
    EXPECT_EQ(node_of(sys, a), 2u);
    EXPECT_EQ(node_of(sys, b), 2u);
    EXPECT_EQ(sys.actor_info(a).restarts, 1);
    // n2 keeps 2 CPUs of its own: a 3-CPU actor goes to n0.
    auto c = sys.spawn<Where>({.num_cpus = 3});
    EXPECT_EQ(node_of(sys, c), 0u);
  }));
}

TEST(PlacementGroups, PackAndSpreadRescheduleTheLostBundlesNextToTheKeptOnes) {
  sim::SimRunOptions options = cluster({3, 4, 4, 4});  // n0, the head, stays up
  options.prepare = [](sim::World& world) {
    world.at(500 * kMillisecond, [&world] { world.crash_node(NodeId{1}, -1); });
  };
  expect_ok(sim::run_simulation(options, [](System& sys) {
    // PACK: 7 CPUs fit no node. Largest first: bundle 0 on n1 (most free CPUs; 1 left), bundle 1
    // on n2 (1 left), bundle 2 on n1 (the group's first node with room).
    PlacementGroupHandle pack = sys.create_placement_group(
        {.bundles = {{.cpus = 3}, {.cpus = 3}, {.cpus = 1}}, .strategy = PlacementStrategy::kPack});
    ASSERT_TRUE(sys.placement_group_ready(pack, 1s));
    EXPECT_EQ(sys.placement_group_info(pack).bundle_nodes, (std::vector<NodeId>{NodeId{1}, NodeId{2}, NodeId{1}}));
    troupe::sleep(1s);  // n1 died for good at 500 ms: bundles 0 and 2 are lost
    ASSERT_TRUE(sys.placement_group_ready(pack, 1s));
    // Bundle 0 (3 CPUs) fits no node the group keeps (n2 has 1 left): the default rule, n3 (4
    // free; 1 left); bundle 2 (1 CPU) then fits n2, the group's first node.
    EXPECT_EQ(sys.placement_group_info(pack).bundle_nodes, (std::vector<NodeId>{NodeId{3}, NodeId{2}, NodeId{2}}));
  }));
  options = cluster({4, 4, 4});
  options.prepare = [](sim::World& world) {
    world.at(500 * kMillisecond, [&world] { world.crash_node(NodeId{1}, -1); });
  };
  expect_ok(sim::run_simulation(options, [](System& sys) {
    // SPREAD: one bundle per node, then the fourth on n0 (all hold one; most free CPUs tie).
    PlacementGroupHandle spread = sys.create_placement_group(
        {.bundles = {{.cpus = 1}, {.cpus = 1}, {.cpus = 1}, {.cpus = 1}}, .strategy = PlacementStrategy::kSpread});
    ASSERT_TRUE(sys.placement_group_ready(spread, 1s));
    EXPECT_EQ(sys.placement_group_info(spread).bundle_nodes,
              (std::vector<NodeId>{NodeId{0}, NodeId{1}, NodeId{2}, NodeId{0}}));
    troupe::sleep(1s);  // n1 died for good
    ASSERT_TRUE(sys.placement_group_ready(spread, 1s));
    // Bundle 1 goes to the live node holding the fewest of the group's bundles: n2 (one; n0 two).
    EXPECT_EQ(sys.placement_group_info(spread).bundle_nodes,
              (std::vector<NodeId>{NodeId{0}, NodeId{2}, NodeId{2}, NodeId{0}}));
  }));
}

TEST(PlacementGroups, ARescheduledBundleReservesDevicesOnItsNewNodeAndItsActorUsesThem) {
  sim::SimRunOptions options = cluster({4, 4, 4}, 2);
  options.prepare = [](sim::World& world) {
    world.at(500 * kMillisecond, [&world] { world.crash_node(NodeId{1}, -1); });
  };
  expect_ok(sim::run_simulation(options, [](System& sys) {
    auto neighbour = sys.spawn<Where>({.num_gpus = 1, .scheduling = NodeAffinity{.node = NodeId{2}}});
    EXPECT_EQ(sys.get(neighbour.call(&Where::devices), 5s), std::vector<uint32_t>{0});
    PlacementGroupHandle pg = sys.create_placement_group(
        {.bundles = {{.cpus = 1, .gpus = 1}, {.cpus = 1, .gpus = 1}}, .strategy = PlacementStrategy::kStrictSpread});
    ASSERT_TRUE(sys.placement_group_ready(pg, 1s));
    EXPECT_EQ(sys.placement_group_info(pg).bundle_nodes, (std::vector<NodeId>{NodeId{0}, NodeId{1}}));
    auto trainer = sys.spawn<Where>({.num_gpus = 1, .scheduling = PlacementGroup{.pg = pg, .bundle = 1},
                                     .max_restarts = 1, .max_task_retries = -1});
    EXPECT_EQ(node_of(sys, trainer), 1u);
    EXPECT_EQ(sys.get(trainer.call(&Where::devices), 5s), std::vector<uint32_t>{0});
    troupe::sleep(1s);  // n1 died for good: bundle 1 moves to n2, the only node without a bundle
    ASSERT_TRUE(sys.placement_group_ready(pg, 1s));
    EXPECT_EQ(sys.placement_group_info(pg).bundle_nodes, (std::vector<NodeId>{NodeId{0}, NodeId{2}}));
    EXPECT_EQ(node_of(sys, trainer), 2u);
    EXPECT_EQ(sys.get(trainer.call(&Where::devices), 5s), std::vector<uint32_t>{1});  // device 0 is the neighbour's
    ActorInfo info = sys.actor_info(trainer);
    EXPECT_EQ(info.restarts, 1);
    EXPECT_EQ(info.gpu_ids, std::vector<uint32_t>{1});
    // n2's devices are both taken (the neighbour's and the bundle's): another GPU actor waits.
    auto late = sys.spawn<Where>({.num_gpus = 1, .scheduling = NodeAffinity{.node = NodeId{2}}});
    EXPECT_THROW(sys.get(late.call(&Where::node), 100ms), GetTimeoutError);
  }));
}

TEST(PlacementGroups, ReschedulingAndCreatorRemovalAreTheSameForTheSameSeed) {
  sim::SimRunOptions options = cluster({4, 4, 4, 4});
  options.prepare = [](sim::World& world) {
    world.at(300 * kMillisecond, [&world] { world.crash_node(NodeId{2}, -1); });
  };
  auto driver = [](System& sys) {
    auto planner = sys.spawn<Planner>({});
    PlacementGroupHandle owned = sys.get(planner.call(&Planner::make, false), 5s);
    PlacementGroupHandle spread = sys.create_placement_group(
        {.bundles = {{.cpus = 1}, {.cpus = 1}, {.cpus = 1}}, .strategy = PlacementStrategy::kStrictSpread});
    EXPECT_TRUE(sys.placement_group_ready(spread, 1s));
    // The planner is on n0 (3 left), its group on n1 (2 left); bundles 0, 1, 2 on n2, n3, n0.
    EXPECT_EQ(sys.placement_group_info(spread).bundle_nodes, (std::vector<NodeId>{NodeId{2}, NodeId{3}, NodeId{0}}));
    auto w = sys.spawn<Where>({.scheduling = PlacementGroup{.pg = spread, .bundle = 0}, .max_restarts = 1,
                               .max_task_retries = -1});
    EXPECT_EQ(node_of(sys, w), 2u);
    troupe::sleep(500ms);  // n2 died for good: bundle 0 moves to n1, the one node without a bundle
    EXPECT_EQ(node_of(sys, w), 1u);
    sys.kill(planner);
    troupe::sleep(100ms);
    EXPECT_EQ(sys.placement_group_info(owned).state, PlacementGroupInfo::State::kRemoved);
  };
  sim::SimRunResult first = sim::run_simulation(options, driver);
  sim::SimRunResult second = sim::run_simulation(options, driver);
  expect_ok(first);
  EXPECT_EQ(first.trace_hash, second.trace_hash);
  EXPECT_EQ(first.events, second.events);
}

}  // namespace
}  // namespace troupe
