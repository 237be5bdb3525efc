// TROUPE_SIM_TEST: a GoogleTest test whose body runs as the driver of a fresh simulated cluster,
// once per seed of a range, with swarm faults if asked.
//
//   TROUPE_SIM_TEST(Counter, IncrementsAreExact, .seeds = 200, .faults = troupe::testing::kDelayFaults) {
//     auto counter = sys.spawn<Counter>({}, 0);
//     for (int i = 1; i <= 10; ++i) EXPECT_EQ(sys.get(counter.call(&Counter::increment)), i);
//   }
//
// The body sees `sys` (the run's troupe::System) and `run` (the seed, the fault window, and the
// Checks of the Scenario API: run.checks().always / sometimes). GoogleTest's EXPECT_* and
// ASSERT_* work anywhere in the body and in the actors it spawns (everything runs on the test's
// thread, in simulated time). Each seed is a fresh World: seed N always gives the same run.
//
// Seeds run in order; the first seed that fails stops the test, which then fails with one
// report naming the seed, the simulated time of the first failure, what failed (the first
// EXPECT/ASSERT, a failed `always` check, an uncaught exception, a deadlock or a liveness
// timeout), the faults the seed realized, and the command that reruns only that seed:
//
//   TROUPE_SIM_TEST Account.ConcurrentDepositsAddUp failed on seed 2 (1 seed passed before it;
//   seeds 1..500, strategy random, faults: none)
//     at simulated time 0.227 ms:
//       tests/testing/sim_test_failure_example.cc:42: Expected equality of these values: ...
//     realized faults: none
//   rerun only this seed:
//     TROUPE_SEED=2 /path/to/sim_test_failure_example --gtest_filter=Account.ConcurrentDepositsAddUp
//   once fixed, keep it as a regression: add 2 to the test's .regression_seeds
//   its timeline (and TROUPE_TRACE=FILE.jsonl for every event):
//     TROUPE_SEED=2 TROUPE_HTML=Account.ConcurrentDepositsAddUp.seed2.html /path/to/... --gtest_filter=...
//
// Every EXPECT failure inside a seed also carries "troupe seed 17" in its GoogleTest trace.
//
// Environment (read at each test's start; a malformed value fails the test naming it):
//   TROUPE_SEED=N        run only seed N (the rerun command above)
//   TROUPE_SEEDS=A..B    run seeds A to B instead of the options' range (a nightly sweep, say)
// Either one replaces the whole list of seeds, SimTestOptions::regression_seeds included.
//   TROUPE_TRACE=FILE    with TROUPE_SEED: the seed's trace (".json" Chrome, ".jsonl" JSON lines,
//                        else text), as `troupe replay --trace` writes it
//   TROUPE_HTML=FILE     with TROUPE_SEED: its HTML timeline, as `troupe replay --html` writes it
//
// Not thread-safe: run one TROUPE_SIM_TEST at a time per process (GoogleTest's default).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "faults/fault_kind.h"
#include "gtest/gtest.h"
#include "runtime/system.h"
#include "scenarios/scenario.h"
#include "sim/sim_run.h"
#include "sim/strategy.h"
#include "testing/fault_kinds.h"

namespace troupe::testing {

// Limits on the seed range of one test.
inline constexpr uint64_t kSimTestSeedsMax = 100'000'000;

struct SimTestOptions {
  uint64_t seeds = 100;        // how many seeds to run, from first_seed; 1 to kSimTestSeedsMax
  uint64_t first_seed = 1;     // >= 1
  // The fault kinds swarm may draw from for each seed (faults/swarm.h): empty runs without
  // faults. Swarm picks a subset per seed and schedules faults inside the fault window.
  std::set<faults::FaultKind> faults = {};
  sim::ClusterShape cluster = {};
  sim::StrategyKind strategy = sim::StrategyKind::kRandom;
  // Liveness (DESIGN §4): faults land in [0, fault_window_ns), then quiet_ns without faults,
  // and the body must return by deadline_ns of simulated time. The window should cover the body's
  // work: a call takes 0.1 to 0.3 ms of simulated time, so the default suits a few dozen calls; a
  // body that works in rounds (run.keep_working) goes on until the window has passed. A window
  // under a second is a compressed second: as many faults, durations and delays scaled down.
  // The summary line says on how many seeds the faults fired.
  Nanos fault_window_ns = 10 * kMillisecond;
  Nanos quiet_ns = 10 * kMillisecond;
  Nanos deadline_ns = 5 * kSecond;
  // The troupe::buggify() sites the body's code evaluates (swarm's buggify faults force them on).
  std::vector<std::string> buggify_sites = {};
  // Seeds that once failed, run before the range (not with TROUPE_SEED or TROUPE_SEEDS): a
  // failure report says which number to add here once the bug is fixed.
  std::vector<uint64_t> regression_seeds = {};
  // Fail the test when a run.checks().sometimes() probe held on none of the seeds.
  bool require_sometimes = false;
};

// What the body of one seed sees besides `sys`.
class SimRun {
 public:
  SimRun(uint64_t seed, scenarios::Checks& checks) : seed_(seed), checks_(checks) {}

  uint64_t seed() const { return seed_; }
  // The Scenario API's checks: always(name, cond, detail) fails the seed like an EXPECT;
  // sometimes(name, cond) is a coverage probe counted over the whole range.
  scenarios::Checks& checks() { return checks_; }
  // Whether swarm planned any fault for this seed: a body may demand exact restart counts when
  // not, and bounds when so.
  bool faults_planned() const { return checks_.faults_planned(); }
  Nanos fault_window_ns() const { return checks_.fault_window_ns(); }
  // Whether a body working in rounds starts another one: while simulated time is inside the
  // fault window (the first round always runs). See scenarios::keep_working.
  bool keep_working(System& sys, int rounds_done) const {
    return scenarios::keep_working(sys, checks_, rounds_done);
  }

 private:
  uint64_t seed_;
  scenarios::Checks& checks_;
};

using SimTestBody = void (*)(System& sys, SimRun& run);

// What run_sim_test did, for tests of the harness itself.
struct SimTestReport {
  uint64_t first_seed = 0;
  uint64_t last_seed = 0;       // the range actually requested (after TROUPE_SEED/TROUPE_SEEDS)
  uint64_t seeds_run = 0;
  uint64_t seeds_with_faults = 0;  // seeds on which at least one planned fault fired
  uint64_t faults_realized = 0;
  std::optional<uint64_t> failed_seed;
  std::string failure;          // the report added to GoogleTest (empty when all passed)
  std::string rerun_command;    // "TROUPE_SEED=17 /path/test --gtest_filter=Suite.Name"
};

// A simulated time for failure reports: "0.227 ms" below a second, else "1.250000 s".
std::string format_sim_time(Nanos time);

// Runs `body` for each seed as TROUPE_SIM_TEST describes, inside the current GoogleTest test
// (whose name goes into the rerun command). Failures are reported to GoogleTest.
SimTestReport run_sim_test(const SimTestOptions& options, SimTestBody body);

}  // namespace troupe::testing

// Defines the GoogleTest test Suite.Name whose body runs under the simulator for each seed;
// the options are SimTestOptions designated initializers (or nothing, or one SimTestOptions
// value). The body's parameters are `troupe::System& sys` and `troupe::testing::SimRun& run`.
#define TROUPE_SIM_TEST(Suite, Name, ...)                                                                   \
  static void TroupeSimTestBody_##Suite##_##Name(::troupe::System& sys, ::troupe::testing::SimRun& run);    \
  TEST(Suite, Name) {                                                                                       \
    ::troupe::testing::run_sim_test(::troupe::testing::SimTestOptions{__VA_ARGS__},                         \
                                    &TroupeSimTestBody_##Suite##_##Name);                                   \
  }                                                                                                         \
  static void TroupeSimTestBody_##Suite##_##Name([[maybe_unused]] ::troupe::System& sys,                    \
                                                 [[maybe_unused]] ::troupe::testing::SimRun& run)
