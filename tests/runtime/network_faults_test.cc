// What callers observe when the network breaks connections (DESIGN §3 and §5, docs/semantics.md
// "Broken connections"): calls in flight on a broken data connection fail with
// ActorUnavailableError, or are resent when they have retries left (and may then run twice);
// directory traffic is delayed by a partition, never lost. Exact values on pinned timelines.
//
// The cluster has an empty head (the driver and the directory) and one worker node, so every
// actor lands on node 1 and every call crosses the link a partition cuts.
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/troupe.h"
#include "sim/sim_run.h"

namespace troupe {
namespace {

class Slow {
 public:
  int add(int delta) { return value_ += delta; }
  // Sleeps `ms` simulated milliseconds, then adds.
  int add_after(int delta, int ms) {
    troupe::sleep(std::chrono::milliseconds(ms));
    return value_ += delta;
  }
  int value() { return value_; }

 private:
  int value_ = 0;
};
TROUPE_ACTOR(Slow, &Slow::add, &Slow::add_after, &Slow::value);

Nanos now_ns() { return troupe::now().count(); }

void sleep_until(Nanos time) {
  ASSERT_LT(now_ns(), time) << "the timeline of this test slipped";
  troupe::sleep(std::chrono::nanoseconds(time - now_ns()));
}

// Partitions node 0 from node 1 during [from, to).
sim::SimRunOptions partitioned(uint64_t seed, Nanos from, Nanos to) {
  sim::SimRunOptions options{.seed = seed};
  options.cluster.nodes = {{.name = "head", .cpus = 0}, {.name = "node1", .cpus = 8}};
  options.prepare = [from, to](sim::World& world) {
    world.at(from, [&world] { world.network().partition({NodeId{0}}, {NodeId{1}}, /*one_way=*/false); });
    world.at(to, [&world] { world.network().heal_partitions(); });
  };
  return options;
}

template <typename F>
std::string unavailable_error(F&& f) {
  try {
    f();
  } catch (const ActorUnavailableError& e) {
    return e.what();
  }
  return "(no ActorUnavailableError)";
}

constexpr uint64_t kSeeds = 20;

// Runs `driver` on seeds 1..kSeeds with node 0 cut off from node 1 during [from, to).
void run_partitioned(Nanos from, Nanos to, const std::function<void(System&)>& driver) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    sim::SimRunResult result = sim::run_simulation(partitioned(seed, from, to), driver);
    ASSERT_TRUE(result.status.ok()) << "seed " << seed << ": " << result.status;
  }
}

// The reply is lost: the method ran, but an at-most-once caller cannot know, so it gets
// ActorUnavailableError; the actor keeps its state and answers again once the network heals.
TEST(BrokenConnectionSim, ALostReplyFailsAnAtMostOnceCallThatRan) {
  run_partitioned(20 * kMillisecond, 40 * kMillisecond, [](System& sys) {
    auto slow = sys.spawn<Slow>();
    EXPECT_EQ(sys.get(slow.call(&Slow::add, 10)), 10);
    sleep_until(10 * kMillisecond);
    // Runs from ~10.1 ms to ~30.1 ms; its reply meets the partition.
    Ref<int> lost = slow.call(&Slow::add_after, 1, 20);
    EXPECT_EQ(unavailable_error([&] { sys.get(lost); }),
              "the connection to a2.1 (worker p3) broke while the call was in flight; it may or may not "
              "have run, and has no retries left");
    EXPECT_GE(now_ns(), 31 * kMillisecond);  // the reply was dropped at ~30.1 ms, heard of 1 ms later
    EXPECT_LT(now_ns(), 32 * kMillisecond);
    sleep_until(50 * kMillisecond);
    EXPECT_EQ(sys.get(slow.call(&Slow::value)), 11) << "the lost call ran exactly once";
  });
}

// The request is lost: the call never ran. The worker does not wait for its sequence number:
// the next call carries the caller's floor and runs at once.
TEST(BrokenConnectionSim, ALostRequestFailsAndDoesNotBlockLaterCalls) {
  run_partitioned(15 * kMillisecond, 30 * kMillisecond, [](System& sys) {
    auto slow = sys.spawn<Slow>();
    EXPECT_EQ(sys.get(slow.call(&Slow::add, 10)), 10);
    sleep_until(20 * kMillisecond);
    EXPECT_EQ(unavailable_error([&] { sys.get(slow.call(&Slow::add, 1)); }),
              "the connection to a2.1 (worker p3) broke while the call was in flight; it may or may not "
              "have run, and has no retries left");
    sleep_until(40 * kMillisecond);
    EXPECT_EQ(sys.get(slow.call(&Slow::add, 100)), 110) << "the lost call never ran";
  });
}

// With retries the caller resends after 10 ms; the first attempt had run, so the method runs
// twice: at-least-once, as Ray promises for max_task_retries > 0.
TEST(BrokenConnectionSim, AResentCallWhoseReplyWasLostRunsAgain) {
  run_partitioned(20 * kMillisecond, 40 * kMillisecond, [](System& sys) {
    auto slow = sys.spawn<Slow>();
    EXPECT_EQ(sys.get(slow.call(&Slow::add, 10)), 10);
    sleep_until(10 * kMillisecond);
    // Reply dropped at ~30.1 ms; heard of at ~31.1 ms; resent at ~41.1 ms, after the heal; the
    // second run sleeps 20 ms more.
    EXPECT_EQ(sys.get(slow.with({.max_task_retries = 1}).call(&Slow::add_after, 1, 20)), 12);
    EXPECT_GE(now_ns(), 61 * kMillisecond);
    EXPECT_LT(now_ns(), 62 * kMillisecond);
    EXPECT_EQ(sys.get(slow.call(&Slow::value)), 12);
  });
}

// A call sent into a long partition is resent with a doubling delay (10, 20, 40, ... ms, each
// after the 1 ms loss notice) until one attempt gets through: it runs exactly once, since every
// earlier attempt was lost on the way in.
TEST(BrokenConnectionSim, ResendsBackOffUntilThePartitionHeals) {
  run_partitioned(10 * kMillisecond, 500 * kMillisecond, [](System& sys) {
    auto slow = sys.spawn<Slow>();
    EXPECT_EQ(sys.get(slow.call(&Slow::add, 10)), 10);
    sleep_until(20 * kMillisecond);
    // Lost at 20; resent at 31, 52, 93, 174, 335 (all lost) and 656 ms.
    EXPECT_EQ(sys.get(slow.with({.max_task_retries = -1}).call(&Slow::add, 1)), 11);
    EXPECT_GE(now_ns(), 656 * kMillisecond);
    EXPECT_LT(now_ns(), 657 * kMillisecond);
  });
}

// Directory traffic rides the control channel: the new worker's "started" notice is resent every
// 50 ms until the partition heals, so the actor comes up late but does come up, and nothing fails.
TEST(BrokenConnectionSim, APartitionDelaysActorCreationWithoutLosingIt) {
  run_partitioned(0, 120 * kMillisecond, [](System& sys) {
    auto slow = sys.spawn<Slow>();
    EXPECT_EQ(sys.get(slow.call(&Slow::add, 5)), 5);
    EXPECT_GE(now_ns(), 120 * kMillisecond);
    EXPECT_LT(now_ns(), 152 * kMillisecond);  // the first resend after the heal (every 50 ms)
  });
}

// ---- Split brain: a falsely suspected worker keeps running ---------------------------------------

// What each run of Witness::add_after saw: (incarnation, value after adding). A test-side log
// (the simulator is single-threaded), cleared before each seed.
std::vector<std::pair<int, int>>& witness_log() {
  static std::vector<std::pair<int, int>> log;
  return log;
}

class Witness {
 public:
  int add(int delta) { return value_ += delta; }
  int add_after(int delta, int ms) {
    troupe::sleep(std::chrono::milliseconds(ms));
    value_ += delta;
    witness_log().emplace_back(this_actor::restart_count(), value_);
    return value_;
  }
  int value() { return value_; }

 private:
  int value_ = 0;
};
TROUPE_ACTOR(Witness, &Witness::add, &Witness::add_after, &Witness::value);

// The directory is told that the worker p3 died at 10 ms, but it is alive; its fence message is
// held (the directory's link to p3 is clogged until 100 ms). The old instance finishes the call
// it was running and answers, but its answer carries incarnation 0 and the caller, who by then
// talks to incarnation 1, ignores it: the caller sees only the new incarnation's result, and the
// call ran on both instances (at-least-once: it had a retry). The old worker ends when the fence
// arrives.
TEST(SplitBrainSim, AFalselySuspectedWorkerCannotAnswerForItsSuccessor) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    witness_log().clear();
    sim::World* world = nullptr;
    sim::SimRunOptions options{.seed = seed};
    options.cluster.nodes = {{.name = "head", .cpus = 0}, {.name = "node1", .cpus = 8}};
    options.prepare = [&world](sim::World& w) {
      world = &w;
      // p1 is the directory, p2 the driver, p3 the actor's first worker.
      w.at(5 * kMillisecond, [&w] { w.network().clog_link(ProcessId{1}, ProcessId{3}, 100 * kMillisecond); });
      w.at(10 * kMillisecond, [&w] { w.suspect_process(ProcessId{3}, "missed heartbeats"); });
    };
    sim::SimRunResult result = sim::run_simulation(options, [&world](System& sys) {
      auto witness = sys.spawn<Witness>({.max_restarts = 1, .max_task_retries = 1});
      EXPECT_EQ(sys.get(witness.call(&Witness::add, 10)), 10);
      sleep_until(8 * kMillisecond);
      // Runs on p3 from ~8.1 to ~28.1 ms. The caller hears "restarting" at ~11 ms and retries it
      // on incarnation 1 (value 0), which answers first... and only that answer counts.
      EXPECT_EQ(sys.get(witness.call(&Witness::add_after, 1, 20)), 1);
      EXPECT_EQ(sys.get(witness.call(&Witness::value)), 1);
      sleep_until(150 * kMillisecond);
      std::vector<sim::ProcessInfo> processes = world->processes();
      ASSERT_EQ(processes.size(), 4u);
      EXPECT_FALSE(processes[2].alive) << "the fence reached the old worker after the clog";
      EXPECT_TRUE(processes[3].alive);
    });
    ASSERT_TRUE(result.status.ok()) << "seed " << seed << ": " << result.status;
    // Both instances ran the call: the old one on its own state (10 + 1), the new one on fresh
    // state (0 + 1). In run order, which is fixed: the new one finishes at ~31 ms.
    EXPECT_EQ(witness_log(), (std::vector<std::pair<int, int>>{{0, 11}, {1, 1}})) << "seed " << seed;
  }
}

}  // namespace
}  // namespace troupe
