// `troupe regress` (tools/troupe/regress.h): the verdict of one outcome against an expect section,
// the corpus in tests/regressions (every planted bug has its plan, every plan meets its
// expectation), the MISMATCH report of deliberately wrong expectations (tests/cli/regress_fixtures)
// and the usage errors of plans that cannot be regression tests.
#include "tools/troupe/regress.h"

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "faults/plan.h"
#include "fmt/format.h"
#include "tests/cli/cli_test_util.h"
#include "tools/troupe/shrink.h"

namespace troupe::cli {
namespace {

using faults::ExpectedOutcome;
using faults::Expectation;
using faults::FailureMatch;
using scenarios::Registry;
using scenarios::RunOutcome;
using testing::CliResult;
using testing::run_cli_captured;

const std::string kCorpus = TROUPE_REGRESSIONS_DIR;
const std::string kFixtures = TROUPE_REGRESS_FIXTURES_DIR;

Registry builtins() {
  Registry registry;
  scenarios::register_builtin_scenarios(registry);
  return registry;
}

RunOutcome failed_with(std::string failure) { return RunOutcome{.passed = false, .failure = std::move(failure)}; }

// The corpus's plan files, sorted by name, as `troupe regress DIR` takes them.
std::vector<std::string> corpus_files() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(kCorpus)) {
    if (entry.path().extension() == ".json") names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(MeetsExpectation, PassMeansTheRunPassed) {
  const Expectation pass{.outcome = ExpectedOutcome::kPass};
  EXPECT_TRUE(meets_expectation(pass, RunOutcome{.passed = true}));
  EXPECT_FALSE(meets_expectation(pass, failed_with("always 'x' failed: 1")));
}

TEST(MeetsExpectation, MessageComparesTheWholeTextAndCheckOnlyTheCheck) {
  const std::string failure = "always 'count' failed: got 28, expected 30";
  const Expectation message{.outcome = ExpectedOutcome::kFail, .match = FailureMatch::kMessage, .failure = failure};
  EXPECT_TRUE(meets_expectation(message, failed_with(failure)));
  EXPECT_FALSE(meets_expectation(message, failed_with("always 'count' failed: got 29, expected 30")));
  EXPECT_FALSE(meets_expectation(message, failed_with(failure + "\nand one more line")));
  EXPECT_FALSE(meets_expectation(message, RunOutcome{.passed = true}));
  const Expectation check{.outcome = ExpectedOutcome::kFail, .match = FailureMatch::kCheck, .failure = failure};
  EXPECT_TRUE(meets_expectation(check, failed_with("always 'count' failed: got 29, expected 30")));
  EXPECT_FALSE(meets_expectation(check, failed_with("always 'order' failed: got 28, expected 30")));
  EXPECT_FALSE(meets_expectation(check, failed_with("liveness: counter did not finish by its deadline")));
  // A run that left its plan's schedule section is stale, never the expected failure, whatever its text.
  EXPECT_FALSE(meets_expectation(message, RunOutcome{.passed = false, .failure = failure, .schedule_diverged = true}));
}

// Issue 7's acceptance: every file of tests/regressions meets its expectation (ctest also runs each
// file on its own as regression.<stem>).
TEST(RegressCorpus, EveryPlanMeetsItsExpectation) {
  const std::vector<std::string> files = corpus_files();
  ASSERT_GE(files.size(), 19u);
  const CliResult result = run_cli_captured({"regress", kCorpus}, builtins());
  EXPECT_EQ(result.code, kExitPassed) << result.out << result.err;
  EXPECT_EQ(result.err, "");
  std::vector<std::string> lines;
  for (size_t start = 0; start < result.out.size();) {
    const size_t end = result.out.find('\n', start);
    lines.push_back(result.out.substr(start, end - start));
    start = end + 1;
  }
  ASSERT_EQ(lines.size(), files.size() + 1) << result.out;
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_TRUE(lines[i].starts_with(fmt::format("ok        {}  (", (std::filesystem::path(kCorpus) / files[i]).string())))
        << lines[i];
  }
  EXPECT_EQ(lines.back(), fmt::format("{} regressions: {} ok, 0 mismatched", files.size(), files.size()));
}

// One shrunk plan per planted bug, named after it, and at least three correct scenarios that must
// pass under real faults.
TEST(RegressCorpus, HoldsAPlanPerPlantedBugAndPassingRunsUnderFaults) {
  const Registry registry = builtins();
  size_t bugs = 0;
  for (const scenarios::Scenario* scenario : registry.all()) {
    if (!scenario->expect_fail) continue;
    ++bugs;
    const std::string path = fmt::format("{}/{}.json", kCorpus, scenario->name);
    const absl::StatusOr<faults::FaultPlan> plan = faults::load_plan(path);
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_EQ(plan->scenario, scenario->name) << path;
    ASSERT_TRUE(plan->expect.has_value()) << path;
    EXPECT_EQ(plan->expect->outcome, ExpectedOutcome::kFail) << path;
  }
  EXPECT_EQ(bugs, 16u);
  size_t passing_under_faults = 0;
  for (const std::string& name : corpus_files()) {
    const faults::FaultPlan plan = faults::load_plan(fmt::format("{}/{}", kCorpus, name)).value();
    if (plan.expect->outcome != ExpectedOutcome::kPass) continue;
    EXPECT_FALSE(registry.find(*plan.scenario)->expect_fail) << name;
    EXPECT_FALSE(plan.faults.empty()) << name;
    ++passing_under_faults;
  }
  EXPECT_GE(passing_under_faults, 3u);
}

TEST(Regress, WrongExpectationsAreMismatchesWithWhatWasExpectedAndWhatHappened) {
  const std::string dir = kFixtures + "/mismatches";
  const CliResult result = run_cli_captured({"regress", dir}, builtins());
  EXPECT_EQ(result.code, kExitFailed);
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(result.out,
            fmt::format(
                "MISMATCH  {0}/counter.expects_pass.json\n"
                "  expected: pass\n"
                "  got:      fail: driver threw troupe::ActorUnavailableError: the connection to a2.2 (worker p4) "
                "broke while the call was in flight; it may or may not have run, and has no retries left\n"
                "  replay:   troupe replay --plan {0}/counter.expects_pass.json\n"
                "MISMATCH  {0}/counter.wrong_check.json\n"
                "  expected: fail (match check): always 'each caller sees its own increments in order'\n"
                "  got:      fail: always 'get_value counts every increment' failed: got 28, expected 30\n"
                "  replay:   troupe replay --plan {0}/counter.wrong_check.json\n"
                "MISMATCH  {0}/counter.wrong_count.json\n"
                "  expected: fail (match message): always 'get_value counts every increment' failed: got 29, "
                "expected 30\n"
                "  got:      fail: always 'get_value counts every increment' failed: got 28, expected 30\n"
                "  replay:   troupe replay --plan {0}/counter.wrong_count.json\n"
                "MISMATCH  {0}/lru_cache.expects_fail.json\n"
                "  expected: fail (match message): always 'the least recently used key was evicted' failed: planted "
                "in a fixture\n"
                "  got:      passed\n"
                "  replay:   troupe replay --plan {0}/lru_cache.expects_fail.json\n"
                "4 regressions: 0 ok, 4 mismatched\n",
                dir));
}

TEST(Regress, OneMismatchAmongMatchesFailsTheRunInTheOrderGiven) {
  const std::string ok = kCorpus + "/counter.bug_lost_increment.json";
  const std::string wrong = kFixtures + "/mismatches/counter.wrong_count.json";
  const CliResult result = run_cli_captured({"regress", wrong, ok}, builtins());
  EXPECT_EQ(result.code, kExitFailed);
  EXPECT_EQ(result.out, fmt::format("MISMATCH  {0}\n"
                                    "  expected: fail (match message): always 'get_value counts every increment' "
                                    "failed: got 29, expected 30\n"
                                    "  got:      fail: always 'get_value counts every increment' failed: got 28, "
                                    "expected 30\n"
                                    "  replay:   troupe replay --plan {0}\n"
                                    "ok        {1}  (fails as expected: always 'get_value counts every increment' "
                                    "failed: got 28, expected 30)\n"
                                    "2 regressions: 1 ok, 1 mismatched\n",
                                    wrong, ok));
}

TEST(Regress, PlansThatCannotBeRegressionTestsAreUsageErrorsBeforeAnythingRuns) {
  const Registry registry = builtins();
  const auto error = [&](const std::vector<std::string>& args) {
    const CliResult result = run_cli_captured(args, registry);
    EXPECT_EQ(result.code, kExitUsage);
    EXPECT_EQ(result.out, "");  // nothing ran, not even the good plans before the bad one
    return result.err;
  };
  const std::string needs = "(a regression plan names its scenario and seed and has an expect section)";
  EXPECT_EQ(error({"regress", kCorpus, kFixtures + "/missing_expect.json"}),
            fmt::format("troupe: {}/missing_expect.json: has no expect section {}\n", kFixtures, needs));
  EXPECT_EQ(error({"regress", kFixtures + "/missing_seed.json"}),
            fmt::format("troupe: {}/missing_seed.json: names no seed {}\n", kFixtures, needs));
  EXPECT_EQ(error({"regress", kFixtures + "/missing_scenario.json"}),
            fmt::format("troupe: {}/missing_scenario.json: names no scenario {}\n", kFixtures, needs));
  EXPECT_EQ(error({"regress", kFixtures + "/unknown_scenario.json"}),
            fmt::format("troupe: {}/unknown_scenario.json: unknown scenario 'counter.bug_renamed' (troupe list "
                        "shows them)\n",
                        kFixtures));
  EXPECT_EQ(error({"regress", kFixtures + "/no_plans"}),
            fmt::format("troupe: {}/no_plans: no plan files (*.json) in the directory\n", kFixtures));
  EXPECT_EQ(error({"regress", kFixtures + "/nosuch.json"}),
            fmt::format("troupe: {}/nosuch.json: cannot open: No such file or directory\n", kFixtures));
  EXPECT_EQ(error({"regress"}), "troupe: regress needs plan files or directories of them (tests/regressions, say)\n");
  EXPECT_EQ(error({"regress", "--seed", "1", kCorpus}),
            "troupe: unknown flag '--seed' for regress (troupe help shows the usage)\n");
}

}  // namespace
}  // namespace troupe::cli
