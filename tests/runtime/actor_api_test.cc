// The actor API of DESIGN §2 on the simulator, with exact expected values.
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/core/cluster.h"
#include "runtime/real/threads_platform.h"
#include "runtime/troupe.h"
#include "sim/sim_run.h"
#include "tests/runtime/backends.h"

namespace troupe {
namespace {

using namespace std::chrono_literals;

class Counter {
 public:
  explicit Counter(int start) : value_(start) {}
  int increment() { return ++value_; }
  int add(int delta) { return value_ += delta; }
  int get_value() const { return value_; }
  void fail(std::string message) { throw std::out_of_range(message); }
  int slow_increment(int64_t sleep_ms) {
    int before = value_;
    troupe::sleep(std::chrono::milliseconds(sleep_ms));
    value_ = before + 1;
    return value_;
  }
  std::string repr() const { return "Counter(" + std::to_string(value_) + ")"; }

 private:
  int value_;
};
TROUPE_ACTOR(Counter, &Counter::increment, &Counter::add, &Counter::get_value, &Counter::fail,
             &Counter::slow_increment);

// Calls another actor from inside a method, through a handle passed as an argument.
class Forwarder {
 public:
  explicit Forwarder(ActorHandle<Counter> target) : target_(target) {}
  int forward_increment() { return this_actor::system().get(target_.call(&Counter::increment)); }
  int add_ref(int value) { return value + 1000; }
  uint64_t self_id() { return this_actor::id().packed(); }

 private:
  ActorHandle<Counter> target_;
};
TROUPE_ACTOR(Forwarder, &Forwarder::forward_increment, &Forwarder::add_ref, &Forwarder::self_id);

// Reports where it runs, and can end itself.
class Placed {
 public:
  Placed() = default;
  uint32_t node() { return this_actor::node().value; }
  int restarts() { return this_actor::restart_count(); }
  int work(int x) { return x * 2; }
  // Exits after a pause, so calls sent right after it have reached the actor's queue (delivery
  // takes microseconds on threads and at most 150 us simulated).
  void quit() {
    troupe::sleep(std::chrono::milliseconds(100));
    this_actor::exit();
  }
};
TROUPE_ACTOR(Placed, &Placed::node, &Placed::restarts, &Placed::work, &Placed::quit);

class Thrower {
 public:
  Thrower() { throw std::runtime_error("no database"); }
  int work() { return 1; }
};
TROUPE_ACTOR(Thrower, &Thrower::work);

constexpr uint64_t kSeeds = 20;

// The API suite runs on both platforms: the same driver code, the same expected values.
class ActorApi : public ::testing::TestWithParam<Backend> {
 protected:
  void run(uint64_t seed, absl::AnyInvocable<void(System&)> driver) { run_on(GetParam(), seed, 1, driver); }
  void run_seeds(absl::AnyInvocable<void(System&)> driver) { run_on(GetParam(), 1, kSeeds, driver); }
};

void run(uint64_t seed, absl::AnyInvocable<void(System&)> driver) { run_on(Backend::kSim, seed, 1, driver); }

TEST_P(ActorApi, CallsReturnResultsThroughRefs) {
  {
    run_seeds([](System& sys) {
      auto counter = sys.spawn<Counter>({}, 10);
      Ref<int> first = counter.call(&Counter::increment);
      Ref<int> second = counter.call(&Counter::add, 5);
      EXPECT_EQ(sys.get(first), 11);
      EXPECT_EQ(sys.get(second), 16);
      EXPECT_EQ(sys.get(counter.call(&Counter::get_value)), 16);
    });
  }
}

TEST_P(ActorApi, OneCallersCallsRunInSubmissionOrder) {
  {
    run_seeds([](System& sys) {
      auto counter = sys.spawn<Counter>({}, 0);
      std::vector<Ref<int>> refs;
      for (int i = 0; i < 50; ++i) refs.push_back(counter.call(&Counter::increment));
      std::vector<int> expected;
      for (int i = 1; i <= 50; ++i) expected.push_back(i);
      EXPECT_EQ(sys.get(refs), expected);
    });
  }
}

TEST_P(ActorApi, SequentialActorRunsOneCallAtATime) {
  // slow_increment reads, sleeps, then writes: overlapping calls would lose updates.
  run(3, [](System& sys) {
    auto counter = sys.spawn<Counter>({}, 0);
    std::vector<Ref<int>> refs;
    for (int i = 0; i < 5; ++i) refs.push_back(counter.call(&Counter::slow_increment, int64_t{100}));
    EXPECT_EQ(sys.get(refs), (std::vector<int>{1, 2, 3, 4, 5}));
  });
}

TEST_P(ActorApi, MethodExceptionsBecomeTaskErrorsWithTypeAndMessage) {
  run(1, [](System& sys) {
    auto counter = sys.spawn<Counter>({}, 0);
    Ref<void> failed = counter.call(&Counter::fail, std::string("index 7"));
    try {
      sys.get(failed);
      ADD_FAILURE() << "get did not throw";
    } catch (const TaskError& e) {
      EXPECT_EQ(e.type_name(), "std::out_of_range");
      EXPECT_EQ(e.message(), "index 7");
    }
    // The actor survives its method's exception.
    EXPECT_EQ(sys.get(counter.call(&Counter::increment)), 1);
  });
}

TEST_P(ActorApi, ConstructorExceptionKillsTheActor) {
  run(1, [](System& sys) {
    auto thrower = sys.spawn<Thrower>();
    try {
      sys.get(thrower.call(&Thrower::work));
      ADD_FAILURE() << "get did not throw";
    } catch (const ActorDiedError& e) {
      EXPECT_EQ(e.cause(), "the constructor threw std::runtime_error: no database");
    }
  });
}

TEST(ActorApiSim, GetWithTimeoutThrowsAndTheCallGoesOn) {
  run(1, [](System& sys) {
    auto counter = sys.spawn<Counter>({}, 0);
    Ref<int> slow = counter.call(&Counter::slow_increment, int64_t{1000});
    auto start = troupe::now();
    EXPECT_THROW(sys.get(slow, 100ms), GetTimeoutError);
    EXPECT_GE(troupe::now() - start, 100ms);
    EXPECT_LT(troupe::now() - start, 200ms);
    EXPECT_EQ(sys.get(slow, 10s), 1);
  });
}

// A get or wait that returns before its object is ready leaves no waiter behind: the object,
// filled later (after its last Ref is gone, or while the fiber waits for something else), must
// not wake that fiber. Found by the ASan stage (where the runtime's assertions are on): a timed-out
// get of a temporary Ref left its fiber in the released object's waiters.
TEST(ActorApiSim, AGetOrWaitThatReturnsEarlyLeavesNoWaiterBehind) {
  run(1, [](System& sys) {
    auto counter = sys.spawn<Counter>({}, 0);
    EXPECT_THROW(sys.get(counter.call(&Counter::slow_increment, int64_t{300}), 100ms), GetTimeoutError);
    std::vector<Ref<int>> refs = {counter.call(&Counter::slow_increment, int64_t{300}),
                                  counter.call(&Counter::slow_increment, int64_t{300})};
    EXPECT_EQ(sys.wait(refs, 1, 50ms).ready.size(), 0u);
    refs.clear();  // both calls are still running: their objects are released when they fill
    auto start = troupe::now();
    troupe::sleep(1s);  // the three objects fill meanwhile
    EXPECT_EQ(troupe::now() - start, 1s);
    EXPECT_EQ(sys.get(counter.call(&Counter::get_value)), 3);
  });
}

TEST_P(ActorApi, WaitSplitsReadyAndNotReadyInInputOrder) {
  run(1, [](System& sys) {
    auto fast = sys.spawn<Counter>({}, 0);
    auto slow = sys.spawn<Counter>({}, 0);
    std::vector<Ref<int>> refs = {slow.call(&Counter::slow_increment, int64_t{2000}),
                                  fast.call(&Counter::slow_increment, int64_t{10}),
                                  slow.call(&Counter::increment),
                                  fast.call(&Counter::slow_increment, int64_t{20})};
    WaitResult<int> result = sys.wait(refs, 2, 1s);
    EXPECT_EQ(result.ready, (std::vector<Ref<int>>{refs[1], refs[3]}));
    EXPECT_EQ(result.not_ready, (std::vector<Ref<int>>{refs[0], refs[2]}));
    // Timeout with fewer ready than asked: ready holds those that are.
    WaitResult<int> partial = sys.wait(refs, 4, 100ms);
    EXPECT_EQ(partial.ready.size(), 2u);
    EXPECT_EQ(partial.not_ready.size(), 2u);
    WaitResult<int> all = sys.wait(refs, 4);
    EXPECT_EQ(all.ready, refs);
    EXPECT_TRUE(all.not_ready.empty());
  });
}

TEST_P(ActorApi, PutValuesAndRefArgumentsResolveBeforeTheMethodRuns) {
  run(5, [](System& sys) {
    auto counter = sys.spawn<Counter>({}, 0);
    Ref<int> seven = sys.put(7);
    EXPECT_EQ(sys.get(seven), 7);
    EXPECT_EQ(sys.get(counter.call(&Counter::add, seven)), 7);
    // A call's result passed on to another call, without a get in between.
    Ref<int> eight = counter.call(&Counter::increment);
    auto forwarder = sys.spawn<Forwarder>({}, counter);
    EXPECT_EQ(sys.get(forwarder.call(&Forwarder::add_ref, eight)), 1008);
  });
}

TEST_P(ActorApi, HandlesPassedToActorsAllowActorToActorCalls) {
  run(9, [](System& sys) {
    auto counter = sys.spawn<Counter>({}, 100);
    auto forwarder = sys.spawn<Forwarder>({}, counter);
    EXPECT_EQ(sys.get(forwarder.call(&Forwarder::forward_increment)), 101);
    EXPECT_EQ(sys.get(forwarder.call(&Forwarder::forward_increment)), 102);
    EXPECT_EQ(sys.get(counter.call(&Counter::get_value)), 102);
    EXPECT_EQ(ActorId::unpack(sys.get(forwarder.call(&Forwarder::self_id))), forwarder.id());
  });
}

TEST_P(ActorApi, NamedActorsAreFoundByNameWithinTheirNamespace) {
  run(2, [](System& sys) {
    auto named = sys.spawn<Counter>({.name = "c"}, 1);
    auto other_ns = sys.spawn<Counter>({.name = "c", .ns = "other"}, 50);
    std::optional<ActorHandle<Counter>> found = sys.get_actor<Counter>("c");
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->id(), named.id());
    EXPECT_EQ(sys.get(found->call(&Counter::increment)), 2);
    std::optional<ActorHandle<Counter>> in_other = sys.get_actor<Counter>("c", "other");
    ASSERT_TRUE(in_other.has_value());
    EXPECT_EQ(in_other->id(), other_ns.id());
    EXPECT_FALSE(sys.get_actor<Counter>("missing").has_value());
    EXPECT_THROW(sys.get_actor<Forwarder>("c"), Error);
  });
}

TEST_P(ActorApi, DuplicateNamesFailUnlessGetIfExists) {
  run(2, [](System& sys) {
    auto first = sys.spawn<Counter>({.name = "db"}, 1);
    try {
      sys.spawn<Counter>({.name = "db"}, 2);
      ADD_FAILURE() << "spawn did not throw";
    } catch (const ActorNameTakenError& e) {
      EXPECT_EQ(std::string(e.what()),
                fmt::format("the actor name 'db' is taken in namespace 'default' by {} (Counter)", first.id()));
    }
    auto existing = sys.spawn<Counter>({.name = "db", .get_if_exists = true}, 3);
    EXPECT_EQ(existing.id(), first.id());
    EXPECT_EQ(sys.get(existing.call(&Counter::get_value)), 1);
  });
}

TEST_P(ActorApi, KillFailsQueuedAndFutureCallsAndFreesTheName) {
  run(4, [](System& sys) {
    auto counter = sys.spawn<Counter>({.name = "victim"}, 0);
    EXPECT_EQ(sys.get(counter.call(&Counter::increment)), 1);
    Ref<int> queued = counter.call(&Counter::slow_increment, int64_t{1000});
    sys.kill(counter);
    try {
      sys.get(queued);
      ADD_FAILURE() << "get did not throw";
    } catch (const ActorDiedError& e) {
      EXPECT_EQ(e.cause(), fmt::format("{} was killed by kill()", counter.id()));
    }
    EXPECT_THROW(sys.get(counter.call(&Counter::increment)), ActorDiedError);
    troupe::sleep(10ms);  // the directory frees the name once it has processed the kill
    EXPECT_FALSE(sys.get_actor<Counter>("victim").has_value());
    auto reborn = sys.spawn<Counter>({.name = "victim"}, 40);
    EXPECT_EQ(sys.get(reborn.call(&Counter::increment)), 41);
  });
}

TEST_P(ActorApi, ExitFinishesQueuedCallsThenFailsLaterOnes) {
  run(6, [](System& sys) {
    auto actor = sys.spawn<Placed>();
    Ref<int> before = actor.call(&Placed::work, 1);
    Ref<void> quit = actor.call(&Placed::quit);
    Ref<int> queued = actor.call(&Placed::work, 2);
    EXPECT_EQ(sys.get(before), 2);
    sys.get(quit);
    EXPECT_EQ(sys.get(queued), 4);  // it had reached the actor's queue when exit() was called
    troupe::sleep(10ms);
    try {
      sys.get(actor.call(&Placed::work, 3));
      ADD_FAILURE() << "get did not throw";
    } catch (const ActorDiedError& e) {
      EXPECT_EQ(e.cause(), fmt::format("{} exited (this_actor::exit())", actor.id()));
    }
  });
}

TEST_P(ActorApi, PlacementTakesTheNodeWithMostFreeCpusLowestIdFirst) {
  run(1, [](System& sys) {
    std::vector<uint32_t> nodes;
    for (int i = 0; i < 4; ++i) {
      auto actor = sys.spawn<Placed>({.num_cpus = 2});
      nodes.push_back(sys.get(actor.call(&Placed::node)));
      EXPECT_EQ(sys.get(actor.call(&Placed::restarts)), 0);
    }
    // Three nodes of 8 CPUs: n0, n1, n2 each have 8 free, then n0 has 6 and the others 8, ...
    EXPECT_EQ(nodes, (std::vector<uint32_t>{0, 1, 2, 0}));
  });
}

TEST_P(ActorApi, AnActorWaitsForResourcesAndIsPlacedWhenTheyAreFreed) {
  run(1, [](System& sys) {
    std::vector<ActorHandle<Placed>> big;
    for (int i = 0; i < 3; ++i) big.push_back(sys.spawn<Placed>({.num_cpus = 8}));
    for (auto& actor : big) EXPECT_EQ(sys.get(actor.call(&Placed::work, 1)), 2);
    auto waiting = sys.spawn<Placed>({.num_cpus = 8});
    Ref<int> pending = waiting.call(&Placed::work, 21);
    EXPECT_THROW(sys.get(pending, 1s), GetTimeoutError);
    sys.kill(big[1]);
    EXPECT_EQ(sys.get(pending, 1s), 42);
    EXPECT_EQ(sys.get(waiting.call(&Placed::node)), 1u);
  });
}

TEST_P(ActorApi, AnInfeasibleActorStaysPending) {
  run(1, [](System& sys) {
    auto huge = sys.spawn<Placed>({.num_cpus = 64});
    EXPECT_THROW(sys.get(huge.call(&Placed::work, 1), 1s), GetTimeoutError);
  });
}

TEST_P(ActorApi, ObjectsAreFreedWhenTheirLastRefGoesUnlessTheyWereSent) {
  run(3, [](System& sys) {
    auto counter = sys.spawn<Counter>({}, 0);
    size_t baseline = sys.objects_held();
    for (int i = 0; i < 1000; ++i) (void)sys.get(counter.call(&Counter::increment));
    EXPECT_EQ(sys.objects_held(), baseline);
    {
      std::vector<Ref<int>> kept;
      for (int i = 0; i < 10; ++i) kept.push_back(counter.call(&Counter::increment));
      std::vector<Ref<int>> copies = kept;
      (void)sys.get(kept);
      EXPECT_EQ(sys.objects_held(), baseline + 10);
    }
    EXPECT_EQ(sys.objects_held(), baseline);
    {
      Ref<int> sent = sys.put(5);
      EXPECT_EQ(sys.get(counter.call(&Counter::add, sent)), 1015);
    }
    EXPECT_EQ(sys.objects_held(), baseline + 1) << "a Ref sent to an actor keeps its value";
    {
      Ref<int> dropped_early = counter.call(&Counter::slow_increment, int64_t{50});
    }  // the call goes on; its result is dropped when it arrives
    EXPECT_EQ(sys.get(counter.call(&Counter::get_value)), 1016);
    troupe::sleep(10ms);  // replies may overtake each other: let the dropped one land
    EXPECT_EQ(sys.objects_held(), baseline + 1);
  });
}

TEST(ActorApiSim, SleepingAnHourTakesNoWallTime) {
  run(1, [](System& sys) {
    auto counter = sys.spawn<Counter>({}, 0);
    auto start = troupe::now();
    EXPECT_EQ(sys.get(counter.call(&Counter::slow_increment, int64_t{3'600'000})), 1);
    EXPECT_GE(troupe::now() - start, 1h);
  });
}

TEST(ActorApiSim, SameSeedSameTraceHash) {
  auto driver = [](System& sys) {
    auto counter = sys.spawn<Counter>({}, 0);
    std::vector<Ref<int>> refs;
    for (int i = 0; i < 20; ++i) refs.push_back(counter.call(&Counter::increment));
    (void)sys.get(refs);
  };
  sim::SimRunResult a = sim::run_simulation({.seed = 77}, driver);
  sim::SimRunResult b = sim::run_simulation({.seed = 77}, driver);
  sim::SimRunResult c = sim::run_simulation({.seed = 78}, driver);
  ASSERT_TRUE(a.status.ok()) << a.status;
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.events, b.events);
  EXPECT_NE(a.trace_hash, c.trace_hash);
}

INSTANTIATE_TEST_SUITE_P(Platforms, ActorApi, kBothBackends, backend_name);

}  // namespace
}  // namespace troupe

// Two actor classes with the same name in different namespaces stay distinct.
namespace troupe::same_name_a {
class Counter {
 public:
  int which() { return 1; }
};
TROUPE_ACTOR(Counter, &Counter::which);
}  // namespace troupe::same_name_a
namespace troupe::same_name_b {
class Counter {
 public:
  int which() { return 2; }
  std::string name() { return "b"; }
};
TROUPE_ACTOR(Counter, &Counter::which, &Counter::name);
}  // namespace troupe::same_name_b

namespace troupe {
namespace {
TEST(ActorApiSim, ClassesWithTheSameNameInDifferentNamespacesAreDistinct) {
  run(1, [](System& sys) {
    auto a = sys.spawn<same_name_a::Counter>();
    auto b = sys.spawn<same_name_b::Counter>();
    EXPECT_EQ(sys.get(a.call(&same_name_a::Counter::which)), 1);
    EXPECT_EQ(sys.get(b.call(&same_name_b::Counter::which)), 2);
    EXPECT_EQ(sys.get(b.call(&same_name_b::Counter::name)), "b");
  });
}
}  // namespace
}  // namespace troupe

namespace troupe::enum_test {
enum class Color { kRed, kGreen };
class Painter {
 public:
  Color swap(Color c) { return c == Color::kRed ? Color::kGreen : Color::kRed; }
};
TROUPE_ACTOR(Painter, &Painter::swap);
}  // namespace troupe::enum_test
TROUPE_SERIALIZABLE_ENUM(troupe::enum_test::Color);

namespace troupe {
namespace {
TEST(ActorApiSim, EnumsDeclaredSerializableCrossTheWire) {
  run(1, [](System& sys) {
    auto painter = sys.spawn<enum_test::Painter>();
    EXPECT_EQ(sys.get(painter.call(&enum_test::Painter::swap, enum_test::Color::kRed)), enum_test::Color::kGreen);
  });
}
}  // namespace
}  // namespace troupe
