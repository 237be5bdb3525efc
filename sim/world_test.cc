// World: virtual time, scheduling, timers, kill and deadlock reports, seen through the seam.
#include "sim/world.h"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/functional/any_invocable.h"

namespace troupe::sim {
namespace {

// A host that hands messages to a callback.
class Host : public ProcessHost {
 public:
  explicit Host(absl::AnyInvocable<void(ProcessId, std::string)> on_message = nullptr)
      : on_message_(std::move(on_message)) {}
  void on_message(ProcessId from, std::string payload) override {
    if (on_message_) on_message_(from, std::move(payload));
  }

 private:
  absl::AnyInvocable<void(ProcessId, std::string)> on_message_;
};

struct Fixture {
  explicit Fixture(uint64_t seed = 1, StrategyKind strategy = StrategyKind::kRandom)
      : world({.seed = seed, .strategy = strategy}) {
    world.add_node({.name = "head"});
    world.add_node({.name = "other"});
  }
  ProcessId start(NodeId node, absl::AnyInvocable<void(ProcessId, std::string)> on_message = nullptr) {
    return *world.start_process(node, "p", std::make_unique<Host>(std::move(on_message)));
  }
  World world;
};

TEST(World, TimeJumpsToTheNextEventWhenNothingIsRunnable) {
  Fixture f;
  ProcessId p = f.start(NodeId{0});
  std::vector<Nanos> woke;
  f.world.spawn(p, "sleeper", [&] {
    Nanos deadline = f.world.now() + 3600 * kSecond;
    FiberId self = ExecutionContext::current()->fiber;
    f.world.start_timer(p, deadline, [&, self] { f.world.unpark(self); });
    f.world.park({.what = "an hour"});
    woke.push_back(f.world.now());
    f.world.stop();
  });
  ASSERT_TRUE(f.world.run().ok());
  EXPECT_EQ(woke, (std::vector<Nanos>{3600 * kSecond}));
}

TEST(World, CancelledTimersNeverFire) {
  Fixture f;
  ProcessId p = f.start(NodeId{0});
  int fired = 0;
  f.world.spawn(p, "main", [&] {
    TimerId timer = f.world.start_timer(p, 10 * kMillisecond, [&] { ++fired; });
    f.world.cancel_timer(timer);
    f.world.start_timer(p, 20 * kMillisecond, [&] { f.world.stop(); });
  });
  ASSERT_TRUE(f.world.run().ok());
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(f.world.now(), 20 * kMillisecond);
}

TEST(World, MessagesTakeTheModelledLatency) {
  Fixture f;
  std::vector<std::pair<Nanos, std::string>> received;
  ProcessId receiver = f.start(NodeId{1}, [&](ProcessId, std::string payload) {
    received.emplace_back(f.world.now(), payload);
    if (received.size() == 2) f.world.stop();
  });
  ProcessId sender = f.start(NodeId{0});
  f.world.spawn(sender, "send", [&] {
    f.world.send(sender, receiver, "a");
    f.world.send(sender, receiver, "b");
  });
  ASSERT_TRUE(f.world.run().ok());
  ASSERT_EQ(received.size(), 2u);
  const NetworkOptions& net = f.world.options().network;
  for (const auto& [time, payload] : received) {
    EXPECT_GE(time, net.remote_latency_ns) << payload;
    EXPECT_LE(time, net.remote_latency_ns + net.jitter_ns) << payload;
  }
}

TEST(World, DeadlockIsReportedWithEveryParkedFiberAndWhatItWaitsFor) {
  Fixture f;
  ProcessId p = f.start(NodeId{0});
  f.world.spawn(p, "stuck", [&] { f.world.park({.what = "get", .object = ObjectId{1, 1}.packed()}); });
  absl::Status status = f.world.run();
  ASSERT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(status.message()),
            "deadlock at 0.000000ms: nothing runnable and no pending event\n"
            "  n0 p1 (p) fiber f1 'stuck' waits for get o1.1\n");
}

TEST(World, KillingAProcessUnwindsItsFibersAndDropsItsMessages) {
  Fixture f;
  int delivered = 0;
  bool unwound = false;
  ProcessId victim = f.start(NodeId{0}, [&](ProcessId, std::string) { ++delivered; });
  ProcessId killer = f.start(NodeId{0});
  struct Guard {
    bool* flag;
    ~Guard() { *flag = true; }
  };
  f.world.spawn(victim, "parked", [&] {
    Guard guard{&unwound};
    f.world.park({.what = "forever"});
  });
  f.world.spawn(killer, "killer", [&] {
    troupe::Nanos later = f.world.now() + kMillisecond;
    FiberId self = ExecutionContext::current()->fiber;
    f.world.start_timer(killer, later, [&, self] { f.world.unpark(self); });
    f.world.park({.what = "a moment"});
    f.world.kill_process(victim, "test");
    EXPECT_TRUE(unwound);
    f.world.send(killer, victim, "late");
    f.world.start_timer(killer, f.world.now() + kSecond, [&] { f.world.stop(); });
  });
  ASSERT_TRUE(f.world.run().ok());
  EXPECT_TRUE(unwound);
  EXPECT_EQ(delivered, 0);
}

TEST(World, StepLimitStopsARunawayRun) {
  World world({.seed = 1, .max_steps = 1000});
  world.add_node({.name = "head"});
  ProcessId p = *world.start_process(NodeId{0}, "spinner", std::make_unique<Host>());
  world.spawn(p, "spin", [&] {
    for (;;) world.yield();
  });
  absl::Status status = world.run();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(std::string(status.message()), "the run passed WorldOptions::max_steps (1000 steps)");
}

// Three fibers each append their name at three yields; the interleaving is a pure function of
// the seed, and fifo always gives round-robin.
std::string interleaving(uint64_t seed, StrategyKind strategy) {
  Fixture f(seed, strategy);
  ProcessId p = f.start(NodeId{0});
  std::string order;
  int done = 0;
  for (char name : std::string("abc")) {
    f.world.spawn(p, std::string(1, name), [&, name] {
      for (int i = 0; i < 3; ++i) {
        order += name;
        f.world.yield();
      }
      if (++done == 3) f.world.stop();
    });
  }
  EXPECT_TRUE(f.world.run().ok());
  return order;
}

TEST(World, TheSameSeedGivesTheSameInterleaving) {
  EXPECT_EQ(interleaving(5, StrategyKind::kRandom), interleaving(5, StrategyKind::kRandom));
  EXPECT_EQ(interleaving(5, StrategyKind::kFifo), "abcabcabc");
  std::set<std::string> seen;
  for (uint64_t seed = 1; seed <= 30; ++seed) seen.insert(interleaving(seed, StrategyKind::kRandom));
  EXPECT_GT(seen.size(), 5u) << "the random strategy should explore several interleavings";
}

// The directory skips copying nodes() at a placement when nodes_version() has not moved, so the
// version must move at every change nodes() can show, and only then.
TEST(World, NodesVersionMovesExactlyWhenNodesChange) {
  World world({.seed = 1});
  const uint64_t empty = world.nodes_version();
  world.add_node({.name = "head"});
  world.add_node({.name = "gpu", .gpus = 2});
  const uint64_t built = world.nodes_version();
  EXPECT_EQ(built, empty + 2);
  std::vector<uint64_t> versions;
  world.at(kMillisecond, [&] {
    world.throttle_gpu(NodeId{1}, 0, 2.0, kSecond);  // not part of nodes(): no change
    versions.push_back(world.nodes_version());
  });
  world.at(2 * kMillisecond, [&] {
    world.lose_gpu(NodeId{1}, 1);
    versions.push_back(world.nodes_version());
    EXPECT_EQ(world.nodes()[1].gpu_lost, (std::vector<bool>{false, true}));
  });
  world.at(3 * kMillisecond, [&] {
    world.crash_node(NodeId{1}, /*reboot_after=*/kSecond);
    versions.push_back(world.nodes_version());
  });
  world.at(2 * kSecond, [&] {
    versions.push_back(world.nodes_version());  // after the reboot
    EXPECT_TRUE(world.nodes()[1].alive);
    EXPECT_EQ(world.nodes()[1].gpu_lost, (std::vector<bool>{false, false}));
    world.stop();
  });
  ASSERT_TRUE(world.run().ok());
  EXPECT_EQ(versions, (std::vector<uint64_t>{built, built + 1, built + 2, built + 3}));
}

}  // namespace
}  // namespace troupe::sim
