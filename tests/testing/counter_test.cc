// The Counter of the Ray actors guide tested the two ways testing/ offers:
//   * TROUPE_SIM_TEST: a GoogleTest body run under the simulator for each seed of a range, with
//     swarm faults (testing/sim_test.h);
//   * a model-based RapidCheck property: generated call sequences and fault plans against a model
//     (testing/actor_model.h).
// Plus the harness's own behaviour that a passing test can show: the seed it hands the body, the
// TROUPE_SEEDS override, bad environment values. (A failing TROUPE_SIM_TEST and its rerun command
// are checked by tests/testing/sim_test_rerun.sh, in a process of their own.)
#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <ostream>
#include <string>
#include <vector>

#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "runtime/troupe.h"
#include "testing/actor_model.h"
#include "testing/property.h"
#include "testing/sim_test.h"

namespace counter_example {

class Counter {
 public:
  explicit Counter(int start) : value_(start) {}
  int increment() { return ++value_; }
  int add(int amount) { return value_ += amount; }
  int get_value() const { return value_; }

 private:
  int value_;
};
TROUPE_ACTOR(Counter, &Counter::increment, &Counter::add, &Counter::get_value);

// A caller on another node: increments `times` times and returns what it saw.
class Client {
 public:
  explicit Client(troupe::ActorHandle<Counter> counter) : counter_(counter) {}
  std::vector<int> run(int times) {
    std::vector<int> seen;
    for (int i = 0; i < times; ++i) seen.push_back(troupe::this_actor::system().get(counter_.call(&Counter::increment)));
    return seen;
  }

 private:
  troupe::ActorHandle<Counter> counter_;
};
TROUPE_ACTOR(Client, &Client::run);

// The guide's first example, exactly, on 100 seeds with delay faults (held messages, latency
// spikes) that slow calls down but must not change a reply. Its four calls take about a
// millisecond of simulated time: the fault window is that long.
TROUPE_SIM_TEST(Counter, GuideExampleIsExact, .seeds = 100, .faults = troupe::testing::kDelayFaults,
                .fault_window_ns = 1 * troupe::kMillisecond) {
  auto counter = sys.spawn<Counter>({}, 0);
  EXPECT_EQ(sys.get(counter.call(&Counter::increment)), 1);
  EXPECT_EQ(sys.get(counter.call(&Counter::increment)), 2);
  EXPECT_EQ(sys.get(counter.call(&Counter::add, 5)), 7);
  EXPECT_EQ(sys.get(counter.call(&Counter::get_value)), 7);
}

// Three clients increment at once: each sees its own replies strictly increasing (its calls run
// in order), every value 1..30 is handed out exactly once, and the total is exact.
// The clients' calls interleave on some seeds (require_sometimes fails the test if never).
TROUPE_SIM_TEST(Counter, ConcurrentClientsShareOneSequence, .seeds = 200, .faults = troupe::testing::kDelayFaults,
                .fault_window_ns = 3 * troupe::kMillisecond, .require_sometimes = true) {
  auto counter = sys.spawn<Counter>({}, 0);
  std::vector<troupe::Ref<std::vector<int>>> runs;
  for (int i = 0; i < 3; ++i) runs.push_back(sys.spawn<Client>({}, counter).call(&Client::run, 10));
  std::vector<int> all;
  bool interleaved = false;
  for (const std::vector<int>& seen : sys.get(runs)) {
    ASSERT_EQ(seen.size(), 10u);
    for (size_t i = 1; i < seen.size(); ++i) EXPECT_LT(seen[i - 1], seen[i]) << "a client's replies went backwards";
    if (seen.back() - seen.front() != 9) interleaved = true;
    all.insert(all.end(), seen.begin(), seen.end());
  }
  std::sort(all.begin(), all.end());
  std::vector<int> expected(30);
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(all, expected);
  EXPECT_EQ(sys.get(counter.call(&Counter::get_value)), 30);
  run.checks().sometimes("the clients' calls interleaved", interleaved);
}

// The body learns its seed, inside the range asked for.
TROUPE_SIM_TEST(SimTestHarness, TheBodyLearnsItsSeed, .seeds = 5, .first_seed = 40) {
  if (std::getenv("TROUPE_SEED") != nullptr || std::getenv("TROUPE_SEEDS") != nullptr) return;
  EXPECT_GE(run.seed(), 40u);
  EXPECT_LE(run.seed(), 44u);
  EXPECT_FALSE(run.faults_planned());
}

std::vector<uint64_t> seeds_seen;
void count_seed(troupe::System&, troupe::testing::SimRun& run) { seeds_seen.push_back(run.seed()); }

// The harness runs exactly the range asked for, each seed once, in order.
TEST(SimTestHarness, RunsEachSeedOfItsRangeOnce) {
  if (std::getenv("TROUPE_SEED") != nullptr || std::getenv("TROUPE_SEEDS") != nullptr) GTEST_SKIP();
  seeds_seen.clear();
  const troupe::testing::SimTestReport report = troupe::testing::run_sim_test({.seeds = 5, .first_seed = 40}, &count_seed);
  EXPECT_EQ(seeds_seen, (std::vector<uint64_t>{40, 41, 42, 43, 44}));
  EXPECT_EQ(report.seeds_run, 5u);
  EXPECT_EQ(report.first_seed, 40u);
  EXPECT_EQ(report.last_seed, 44u);
  EXPECT_FALSE(report.failed_seed.has_value());
}

// Regression seeds run first, then the range; an environment override runs neither of them.
TEST(SimTestHarness, RegressionSeedsRunBeforeTheRange) {
  if (std::getenv("TROUPE_SEED") != nullptr || std::getenv("TROUPE_SEEDS") != nullptr) GTEST_SKIP();
  seeds_seen.clear();
  const troupe::testing::SimTestReport report =
      troupe::testing::run_sim_test({.seeds = 3, .regression_seeds = {977, 12}}, &count_seed);
  EXPECT_EQ(seeds_seen, (std::vector<uint64_t>{977, 12, 1, 2, 3}));
  EXPECT_EQ(report.seeds_run, 5u);
}

// Each variable overrides the options' range, and a malformed value fails the test naming it.
// (setenv: these tests run one at a time, in one thread, and restore the variable.)
class SimTestEnvironment : public testing::Test {
 protected:
  void SetUp() override { seeds_seen.clear(); }
  void TearDown() override {
    unsetenv("TROUPE_SEED");
    unsetenv("TROUPE_SEEDS");
  }
};

TEST_F(SimTestEnvironment, TroupeSeedRunsOnlyThatSeed) {
  setenv("TROUPE_SEED", "977", 1);
  const troupe::testing::SimTestReport report = troupe::testing::run_sim_test({.seeds = 50}, &count_seed);
  EXPECT_EQ(seeds_seen, (std::vector<uint64_t>{977}));
  EXPECT_EQ(report.seeds_run, 1u);
  EXPECT_EQ(report.first_seed, 977u);
  EXPECT_EQ(report.last_seed, 977u);
  EXPECT_FALSE(report.failed_seed.has_value());
}

TEST_F(SimTestEnvironment, TroupeSeedsReplacesTheRange) {
  setenv("TROUPE_SEEDS", "7..9", 1);
  const troupe::testing::SimTestReport report =
      troupe::testing::run_sim_test({.seeds = 50, .regression_seeds = {977}}, &count_seed);
  EXPECT_EQ(seeds_seen, (std::vector<uint64_t>{7, 8, 9}));
  EXPECT_EQ(report.seeds_run, 3u);
}

TEST_F(SimTestEnvironment, MalformedValuesFailNamingTheVariable) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"TROUPE_SEED", "abc"}, {"TROUPE_SEED", "0"}, {"TROUPE_SEEDS", "9..7"}, {"TROUPE_SEEDS", "5"}};
  const std::vector<std::string> messages = {
      "TROUPE_SEED='abc': not a seed (a whole number from 1)",
      "TROUPE_SEED='0': not a seed (a whole number from 1)",
      "TROUPE_SEEDS='9..7': not a seed range (A..B with 1 <= A <= B, e.g. 1..5000)",
      "TROUPE_SEEDS='5': not a seed range (A..B with 1 <= A <= B, e.g. 1..5000)"};
  for (size_t i = 0; i < cases.size(); ++i) {
    TearDown();
    setenv(cases[i].first.c_str(), cases[i].second.c_str(), 1);
    troupe::testing::SimTestReport report;
    const auto run = [&report] { report = troupe::testing::run_sim_test({}, &count_seed); };
    EXPECT_NONFATAL_FAILURE(run(), messages[i]);
    EXPECT_EQ(report.seeds_run, 0u);
  }
  EXPECT_TRUE(seeds_seen.empty());
}

// ---- The model-based property ----------------------------------------------------------------

struct CounterModel {
  int value = 0;
};
using CounterCommand = troupe::testing::ActorCommand<CounterModel, Counter>;
using CounterSut = troupe::testing::ActorSut<Counter>;

struct Increment : CounterCommand {
  void apply(CounterModel& model) const override { ++model.value; }
  void run(const CounterModel& model, CounterSut& counter) const override {
    RC_ASSERT(counter.get(&Counter::increment) == model.value + 1);
  }
  void show(std::ostream& os) const override { os << "increment()"; }
};

struct Add : CounterCommand {
  int amount = *rc::gen::inRange(-50, 51);
  void apply(CounterModel& model) const override { model.value += amount; }
  void run(const CounterModel& model, CounterSut& counter) const override {
    RC_ASSERT(counter.get(&Counter::add, amount) == model.value + amount);
  }
  void show(std::ostream& os) const override { os << "add(" << amount << ")"; }
};

struct GetValue : CounterCommand {
  void run(const CounterModel& model, CounterSut& counter) const override {
    RC_ASSERT(counter.get(&Counter::get_value) == model.value);
  }
  void show(std::ostream& os) const override { os << "get_value()"; }
};

TROUPE_PROPERTY(Counter, MatchesModelUnderFaults, .cases = 200) {
  troupe::testing::check_actor_model<CounterModel, Counter>(
      {.faults = {.kinds = troupe::testing::kDelayFaults}, .name = "counter"}, CounterModel{},
      [](troupe::System& sys) { return sys.spawn<Counter>({}, 0); },
      rc::state::gen::execOneOfWithArgs<Increment, Add, GetValue>());
}

}  // namespace counter_example
