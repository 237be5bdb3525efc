// `troupe shrink` (tools/troupe/shrink.h): which faults and choices it keeps, how it softens what
// it keeps, its budget, the plan file it writes and the command line around it.
#include "tools/troupe/shrink.h"

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "faults/plan.h"
#include "fmt/format.h"
#include "tests/cli/cli_test_util.h"

namespace troupe::cli {
namespace {

using scenarios::Checks;
using scenarios::Registry;
using scenarios::RunOptions;
using scenarios::RunOutcome;
using scenarios::Scenario;
using testing::CliResult;
using testing::run_cli_captured;

faults::FaultPlan parse(std::string_view json) {
  absl::StatusOr<faults::FaultPlan> plan = faults::parse_plan(json, "test plan");
  EXPECT_TRUE(plan.ok()) << plan.status();
  return plan.ok() ? *plan : faults::FaultPlan{};
}

// Twelve faults of which counter (no restarts) fails on the crash of its caller (process 1) only;
// the other crash comes after the run has failed.
constexpr std::string_view kNoisyPlan = R"({"version": 1,
  "generator": {"kinds": ["clog", "crash", "latency", "storage", "buggify"],
                "intensity_per_s": {"clog": 2, "crash": 1, "latency": 2, "storage": 1, "buggify": 1},
                "fault_window_ms": 1000, "quiet_ms": 500, "deadline_ms": 5000},
  "faults": [
    {"at_ms": 2, "kind": "latency", "extra_latency_ms": 40, "duration_ms": 300},
    {"at_ms": 10, "kind": "clog", "node": 1, "duration_ms": 200},
    {"at_ms": 20, "kind": "storage", "error_rate": 0.3, "loss_rate": 0.2, "duration_ms": 400},
    {"at_ms": 50, "kind": "buggify", "sites": ["a.one", "b.two", "c.three"]},
    {"at_ms": 100, "kind": "latency", "extra_latency_ms": 10, "duration_ms": 100},
    {"at_ms": 150, "kind": "clog", "link": [0, 2], "duration_ms": 500},
    {"at_ms": 300, "kind": "crash", "process": 1},
    {"at_ms": 400, "kind": "latency", "extra_latency_ms": 100, "duration_ms": 500},
    {"at_ms": 500, "kind": "clog", "node": 2, "duration_ms": 100},
    {"at_ms": 600, "kind": "storage", "error_rate": 0.5, "duration_ms": 300},
    {"at_ms": 700, "kind": "crash", "process": 2},
    {"at_ms": 800, "kind": "latency", "extra_latency_ms": 5, "duration_ms": 100}]})";

constexpr std::string_view kCrashFailure =
    "driver threw troupe::ActorDiedError: actor died: a2.2 crashed: crashed by a fault plan (max_restarts = 0)";

Registry builtins() {
  Registry registry;
  scenarios::register_builtin_scenarios(registry);
  return registry;
}

// What `troupe replay --plan` does with a plan: its seed, its schedule section.
RunOptions with_plan(uint64_t seed, const faults::FaultPlan& plan) {
  RunOptions options;
  options.seed = seed;
  options.plan = plan;
  return options;
}

RunOutcome replay_plan(const Scenario& scenario, const faults::FaultPlan& plan) {
  RunOptions options = with_plan(*plan.seed, plan);
  follow_plan_schedule(options);
  return scenarios::run_scenario(scenario, options);
}

TEST(ShrinkRun, KeepsTheOneFaultThatMattersWithTheGeneratorSettings) {
  const Registry registry = builtins();
  const Scenario& counter = *registry.find("counter");
  const faults::FaultPlan noisy = parse(kNoisyPlan);
  absl::StatusOr<ShrinkResult> result = shrink_run(counter, with_plan(1, noisy), {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->failure, kCrashFailure);
  EXPECT_EQ(result->realized_faults, 7u);  // the run failed before the last five were due
  EXPECT_EQ(result->planned_faults, 12u);
  const faults::FaultPlan& plan = result->plan;
  ASSERT_EQ(plan.faults.size(), 1u);
  EXPECT_EQ(plan.faults[0], (faults::ScheduledFault{.at_ns = 300 * kMillisecond, .params = faults::CrashFault{1}}));
  EXPECT_EQ(plan.generator, noisy.generator);  // the same window, quiet phase and deadline
  EXPECT_EQ(plan.scenario, "counter");
  EXPECT_EQ(plan.seed, 1u);
  // The verdict `troupe regress` checks: the original failure, compared as --match said.
  EXPECT_EQ(plan.expect, (faults::Expectation{.outcome = faults::ExpectedOutcome::kFail,
                                              .match = faults::FailureMatch::kMessage,
                                              .failure = std::string(kCrashFailure)}));
  ASSERT_TRUE(plan.schedule.has_value());
  EXPECT_TRUE(plan.schedule->choices.empty());
  EXPECT_FALSE(result->budget_ran_out);
  // The original, the seven realized faults, five for ddmin, the recorded run and its guided replay.
  EXPECT_EQ(result->runs, 9u);
  EXPECT_TRUE(faults::validate_plan(plan, "shrunk").ok());
  const RunOutcome replayed = replay_plan(counter, plan);
  EXPECT_EQ(replayed.failure, kCrashFailure);
}

TEST(ShrinkRun, SoftensTheFaultsItKeeps) {
  const Registry registry = builtins();
  const Scenario& counter = *registry.find("counter");
  const faults::FaultPlan plan = parse(R"({"version": 1, "faults": [
      {"at_ms": 1, "kind": "latency", "extra_latency_ms": 40, "duration_ms": 300},
      {"at_ms": 5, "kind": "partition", "sides": [[0], [1, 2]], "duration_ms": 800},
      {"at_ms": 7, "kind": "buggify", "sites": ["x.one", "y.two"]},
      {"at_ms": 20, "kind": "clog", "node": 2, "duration_ms": 200}]})");
  absl::StatusOr<ShrinkResult> result = shrink_run(counter, with_plan(1, plan), {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->failure,
            "driver threw troupe::ActorUnavailableError: the connection to a2.2 (worker p4) broke while the call "
            "was in flight; it may or may not have run, and has no retries left");
  ASSERT_EQ(result->plan.faults.size(), 1u);
  // 800 ms halved nine times, in whole milliseconds: 400, 200, 100, 50, 25, 12, 6, 3, 1.
  EXPECT_EQ(result->plan.faults[0],
            (faults::ScheduledFault{.at_ns = 5 * kMillisecond,
                                    .params = faults::PartitionFault{.sides = {{0}, {1, 2}},
                                                                     .duration_ns = 1 * kMillisecond}}));
  EXPECT_EQ(replay_plan(counter, result->plan).failure, result->failure);
}

TEST(ShrinkRun, APassingSeedHasNothingToShrink) {
  const Registry registry = builtins();
  RunOptions no_faults;
  no_faults.seed = 1;
  absl::StatusOr<ShrinkResult> result = shrink_run(*registry.find("counter"), no_faults, {});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(result.status().message(), "seed 1 of counter passes; nothing to shrink");
}

TEST(ShrinkRun, StopsAtTheBudgetWithAPlanThatStillFails) {
  const Registry registry = builtins();
  const Scenario& counter = *registry.find("counter");
  absl::StatusOr<ShrinkResult> result = shrink_run(counter, with_plan(1, parse(kNoisyPlan)), {.max_runs = 4});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->budget_ran_out);
  EXPECT_EQ(result->runs, 4u);
  // The seven realized faults (run 2), then ddmin: none (run 3), the first half (run 4).
  EXPECT_EQ(result->plan.faults.size(), 7u);
  EXPECT_FALSE(result->plan.schedule.has_value());
  EXPECT_EQ(result->schedule_note, "the run budget ran out before the schedule could be recorded");
  EXPECT_EQ(replay_plan(counter, result->plan).failure, kCrashFailure);
}

// Most runs make few scheduling decisions (preemption draws CPU times, so items rarely become ready
// at the same instant); a failing swarm seed of gpu_training.bug_no_oom_fallback whose failure
// needs one of its choices shows the scheduling step keeping exactly what it needs.
TEST(ShrinkRun, KeepsOnlyTheSchedulingChoicesTheFailureNeeds) {
  const Registry registry = builtins();
  const Scenario& scenario = *registry.find("gpu_training.bug_no_oom_fallback");
  RunOptions options;
  options.faults = *faults::parse_fault_kinds("swarm");
  uint64_t found = 0;
  absl::StatusOr<ShrinkResult> result;
  for (uint64_t seed = 1; seed <= 200 && found == 0; ++seed) {
    options.seed = seed;
    result = shrink_run(scenario, options, {});
    if (result.ok() && result->plan.schedule && !result->plan.schedule->choices.empty()) found = seed;
  }
  ASSERT_NE(found, 0u) << "no failing seed in 1..200 needs a scheduling choice";
  SCOPED_TRACE(fmt::format("seed {}", found));
  const faults::FaultPlan& plan = result->plan;
  EXPECT_GT(result->recorded_choices, plan.schedule->choices.size());
  EXPECT_GE(result->decisions, result->recorded_choices);
  EXPECT_LE(plan.faults.size(), std::max<size_t>(3, result->realized_faults / 4));
  EXPECT_EQ(replay_plan(scenario, plan).failure, result->failure);
  // 1-minimal: without any one of the choices kept, the run no longer fails the same way.
  for (size_t i = 0; i < plan.schedule->choices.size(); ++i) {
    faults::FaultPlan fewer = plan;
    fewer.schedule->choices.erase(fewer.schedule->choices.begin() + static_cast<ptrdiff_t>(i));
    EXPECT_NE(replay_plan(scenario, fewer).failure, result->failure) << "choice " << i << " is not needed";
  }
}

class ShrinkCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("troupe_shrink_test_{}", ::testing::UnitTest::GetInstance()->random_seed());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(std::string_view name) const { return (dir_ / name).string(); }
  void write(std::string_view name, std::string_view text) const {
    std::FILE* file = std::fopen(path(name).c_str(), "wb");
    ASSERT_NE(file, nullptr);
    std::fwrite(text.data(), 1, text.size(), file);
    std::fclose(file);
  }

  std::filesystem::path dir_;
  Registry registry_ = builtins();
};

TEST_F(ShrinkCli, WritesThePlanAndPrintsWhatReplaysIt) {
  write("noisy.json", kNoisyPlan);
  const CliResult shrunk =
      run_cli_captured({"shrink", "counter", "--seed", "1", "--plan", path("noisy.json"), "--out", path("out.json")},
                       registry_);
  EXPECT_EQ(shrunk.code, kExitPassed) << shrunk.err;
  EXPECT_EQ(shrunk.out, fmt::format("shrink: counter seed 1\n"
                                    "failure: {}\n"
                                    "faults: 7 realized by the seed (12 planned) -> 1 in the plan\n"
                                    "schedule: 0 decisions, 0 not the oldest ready item -> 0 in the plan\n"
                                    "runs: 9 in {} s (and one to check the written plan)\n"
                                    "plan: {}\n"
                                    "replay: troupe replay counter --seed 1 --plan {}\n",
                                    kCrashFailure, shrunk.out.substr(shrunk.out.find("runs: 9 in ") + 11, 3),
                                    path("out.json"), path("out.json")));
  EXPECT_NE(shrunk.err.find("shrink: 12 faults -> 1 fault, 7 runs"), std::string::npos) << shrunk.err;
  // The plan names its scenario and seed: replay needs nothing else.
  const CliResult replayed = run_cli_captured({"replay", "--plan", path("out.json")}, registry_);
  EXPECT_EQ(replayed.code, kExitFailed);
  EXPECT_NE(replayed.out.find(fmt::format("outcome: FAILED: {}\n", kCrashFailure)), std::string::npos)
      << replayed.out;
  // The plan has a schedule section, which picks the strategy: the echoed command names none.
  EXPECT_EQ(replayed.out.substr(0, replayed.out.find('\n')),
            fmt::format("troupe replay counter --seed 1 --plan {}", path("out.json")));
  // The plan carries its verdict, so it is a regression test as written.
  const faults::FaultPlan written = faults::load_plan(path("out.json")).value();
  EXPECT_EQ(written.expect, (faults::Expectation{.outcome = faults::ExpectedOutcome::kFail,
                                                 .match = faults::FailureMatch::kMessage,
                                                 .failure = std::string(kCrashFailure)}));
  const CliResult regressed = run_cli_captured({"regress", path("out.json")}, registry_);
  EXPECT_EQ(regressed.code, kExitPassed) << regressed.out << regressed.err;
  EXPECT_EQ(regressed.out, fmt::format("ok        {}  (fails as expected: {})\n1 regression: 1 ok, 0 mismatched\n",
                                       path("out.json"), kCrashFailure));
  // A seed or scenario on the command line wins over the plan's.
  const CliResult other_seed = run_cli_captured({"replay", "--plan", path("out.json"), "--seed", "2"}, registry_);
  EXPECT_EQ(other_seed.out.substr(0, other_seed.out.find('\n')),
            fmt::format("troupe replay counter --seed 2 --plan {}", path("out.json")));
}

TEST_F(ShrinkCli, APassingSeedIsAnErrorAndWritesNothingUseful) {
  const CliResult result =
      run_cli_captured({"shrink", "counter", "--seed", "1", "--out", path("out.json")}, registry_);
  EXPECT_EQ(result.code, kExitFailed);
  EXPECT_EQ(result.err, "troupe: seed 1 of counter passes; nothing to shrink\n");
  EXPECT_EQ(result.out, "");
}

TEST_F(ShrinkCli, UsageMistakesNameWhatIsWrong) {
  const auto error = [&](const std::vector<std::string>& args) {
    const CliResult result = run_cli_captured(args, registry_);
    EXPECT_EQ(result.code, kExitUsage) << result.out;
    return result.err;
  };
  EXPECT_EQ(error({"shrink", "counter", "--seed", "1"}), "troupe: shrink needs --out FILE (the plan it writes)\n");
  EXPECT_EQ(error({"shrink", "counter", "--out", "x.json"}), "troupe: shrink needs --seed N\n");
  EXPECT_EQ(error({"shrink", "--seed", "1", "--out", "x.json"}), "troupe: shrink needs a scenario name\n");
  EXPECT_EQ(error({"shrink", "nosuch", "--seed", "1", "--out", path("x.json")}),
            "troupe: unknown scenario 'nosuch' (troupe list shows them)\n");
  EXPECT_EQ(error({"shrink", "counter", "--seed", "1", "--out", "x.json", "--match", "exact"}),
            "troupe: --match: unknown 'exact' (expected message or check)\n");
  EXPECT_EQ(error({"shrink", "counter", "--seed", "1", "--out", "x.json", "--max-runs", "0"}),
            "troupe: --max-runs: '0' is not a number of runs (expected an integer from 1 to 1000000000)\n");
  EXPECT_EQ(error({"shrink", "counter", "--seed", "1", "--out", "x.json", "--platform", "threads"}),
            "troupe: unknown flag '--platform' for shrink (troupe help shows the usage)\n");
  EXPECT_EQ(error({"shrink", "counter", "--seed", "1", "--out", path("no/such/dir/x.json")}),
            fmt::format("troupe: cannot write the plan '{}'\n", path("no/such/dir/x.json")));

  write("scheduled.json", R"({"version": 1, "faults": [], "schedule": {"decisions": [[2, 1]]}})");
  EXPECT_EQ(error({"run", "counter", "--seeds", "1..3", "--plan", path("scheduled.json")}),
            fmt::format("troupe: {}: a plan with a schedule section replays one run: give it to troupe replay (a "
                        "sweep schedules every seed with --strategy)\n",
                        path("scheduled.json")));
  EXPECT_EQ(error({"replay", "--plan", path("scheduled.json"), "--seed", "1"}),
            fmt::format("troupe: replay needs a scenario name ({} names none)\n", path("scheduled.json")));
  EXPECT_EQ(error({"replay", "counter", "--plan", path("scheduled.json")}),
            fmt::format("troupe: replay needs --seed N ({} records none)\n", path("scheduled.json")));
  write("trace.jsonl", R"({"kind":"decision","call":"o2.1"})" "\n");
  EXPECT_EQ(error({"replay", "counter", "--seed", "1", "--plan", path("scheduled.json"), "--schedule",
                   path("trace.jsonl")}),
            fmt::format("troupe: {} has a schedule section: give it without --schedule\n", path("scheduled.json")));
}

TEST(FailureKey, MessageMatchesEverythingCheckMatchesTheCheckOrTheFirstClause) {
  const std::string check = "always 'every item once' failed: item 7 of producer 2 flushed twice";
  EXPECT_EQ(failure_key(check, ShrinkMatch::kMessage), check);
  EXPECT_EQ(failure_key(check, ShrinkMatch::kCheck), "always 'every item once'");
  EXPECT_EQ(failure_key("always 'x: y' failed", ShrinkMatch::kCheck), "always 'x: y'");
  EXPECT_EQ(failure_key("driver threw troupe::ActorDiedError: actor died: p4 crashed", ShrinkMatch::kCheck),
            "driver threw troupe::ActorDiedError");
  EXPECT_EQ(failure_key("deadlock\n  p2 waits for p3", ShrinkMatch::kCheck), "deadlock");
  EXPECT_EQ(failure_key("liveness: counter did not finish by its deadline", ShrinkMatch::kCheck), "liveness");
}

}  // namespace
}  // namespace troupe::cli
