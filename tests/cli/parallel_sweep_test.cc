// `troupe run --jobs N` (worker processes), --shard, --junit and Ctrl-C, in-process against small
// local registries: N processes print, count and hash exactly what one does; a worker that dies
// fails only its seed; shards cover a range exactly once; the JUnit file is well-formed XML whose
// failures carry their replay commands; an interrupted sweep reports what did not run.
#include <signal.h>

#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/troupe.h"
#include "tests/cli/cli_test_util.h"
#include "tools/troupe/args.h"
#include "tools/troupe/interrupt.h"

namespace troupe::cli {
namespace {

using scenarios::Checks;
using scenarios::Registry;
using testing::CliResult;
using testing::read_file;
using testing::run_cli_captured;
using testing::run_shell;

// Fails (or, for the "dies" variant, kills its own process) when the seed's first draw is 0 mod 3:
// the same seeds for both, since the draw is a function of the seed.
void third(Checks& checks, bool die) {
  const uint64_t draw = troupe::random() % 3;
  if (die && draw == 0) ::raise(SIGKILL);
  checks.always("not a third", draw != 0, fmt::format("drew {}", draw));
}

Registry parallel_registry() {
  Registry registry;
  registry.add({.name = "ok", .summary = "always passes", .driver = [](System&, Checks& checks) {
                  checks.always("true", true);
                  checks.sometimes("odd draw", troupe::random() % 2 == 1);
                }});
  registry.add({.name = "third", .summary = "fails on a third of the seeds",
                .driver = [](System&, Checks& checks) { third(checks, false); }});
  registry.add({.name = "third_dies", .summary = "its process dies on a third of the seeds",
                .driver = [](System&, Checks& checks) { third(checks, true); }});
  registry.add({.name = "escapes", .summary = "a failure message XML must escape",
                .driver = [](System&, Checks& checks) {
                  checks.always("markup", false, "<tag a=\"1\"> & 'quoted' \x01 bad utf-8: \xC3\x28 ok: \xC3\xA9");
                }});
  return registry;
}

// The output without what depends on the machine: wall times in the table and the rate line.
std::string without_timings(std::string text) {
  text = std::regex_replace(text, std::regex(" +[0-9]+\\.[0-9]+s  "), " <wall>  ");
  return std::regex_replace(text, std::regex("[0-9]+ seeds? in [0-9.]+ s \\([0-9]+ seeds/s, [0-9]+ jobs?"),
                            "<rate>");
}

TEST(ParallelSweep, JobsPrintCountAndHashExactlyWhatOneProcessDoes) {
  const Registry registry = parallel_registry();
  const std::vector<std::string> args = {"run", "ok", "third", "--seeds", "1..150", "--strategy", "random"};
  CliResult one = run_cli_captured([&] { auto a = args; a.insert(a.end(), {"--jobs", "1"}); return a; }(), registry);
  CliResult three = run_cli_captured([&] { auto a = args; a.insert(a.end(), {"--jobs", "3"}); return a; }(), registry);
  ASSERT_EQ(one.code, kExitFailed) << one.out;
  ASSERT_EQ(three.code, kExitFailed) << three.out;
  EXPECT_EQ(without_timings(three.out), without_timings(one.out));
  // Failures are there to compare (a third of the seeds, each with its replay command), and the
  // rate line names the jobs.
  EXPECT_TRUE(std::regex_search(three.out, std::regex("\nthird +150 +[1-9][0-9] +1 "))) << three.out;
  EXPECT_NE(three.out.find("FAIL third seed "), std::string::npos);
  EXPECT_NE(three.out.find("  replay: troupe replay third --seed "), std::string::npos);
  EXPECT_NE(three.out.find("300 seeds in "), std::string::npos) << three.out;
  EXPECT_NE(three.out.find(" seeds/s, 3 jobs)\n"), std::string::npos) << three.out;
}

TEST(ParallelSweep, MaxFailuresStopsAtTheSameSeedWithJobs) {
  const Registry registry = parallel_registry();
  CliResult one = run_cli_captured({"run", "third", "ok", "--seeds", "1..200", "--max-failures", "4"}, registry);
  CliResult two = run_cli_captured({"run", "third", "ok", "--seeds", "1..200", "--max-failures", "4", "--jobs", "2"},
                                   registry);
  ASSERT_EQ(one.code, kExitFailed);
  EXPECT_EQ(without_timings(two.out), without_timings(one.out));
  EXPECT_NE(one.out.find("stopped third at seed "), std::string::npos) << one.out;
}

TEST(ParallelSweep, AWorkerThatDiesFailsOnlyItsSeedAndTheSweepGoesOn) {
  const Registry registry = parallel_registry();
  // Sequentially, "third" reports the seeds whose draw is 0 mod 3 as failures.
  CliResult reference = run_cli_captured({"run", "third", "--seeds", "1..60"}, registry);
  std::vector<std::string> failing;
  const std::regex fail_line("FAIL third seed ([0-9]+): ");
  for (auto it = std::sregex_iterator(reference.out.begin(), reference.out.end(), fail_line);
       it != std::sregex_iterator(); ++it) {
    failing.push_back((*it)[1]);
  }
  ASSERT_GE(failing.size(), 10u) << reference.out;
  // With workers, "third_dies" kills its worker on exactly those seeds: each is a failure naming
  // the death, the other seeds pass, and the scenario after it runs normally.
  CliResult dies = run_cli_captured({"run", "third_dies", "ok", "--seeds", "1..60", "--jobs", "2"}, registry);
  ASSERT_EQ(dies.code, kExitFailed) << dies.err;
  std::vector<std::string> died;
  const std::regex died_line(
      "FAIL third_dies seed ([0-9]+): the worker process running this seed died: killed by signal 9 \\(Killed\\)\n");
  for (auto it = std::sregex_iterator(dies.out.begin(), dies.out.end(), died_line); it != std::sregex_iterator(); ++it) {
    died.push_back((*it)[1]);
  }
  EXPECT_EQ(died, failing) << dies.out;
  EXPECT_TRUE(std::regex_search(dies.out, std::regex("\nok +60 +0 +0 ")));
}

TEST(ParallelSweep, ShardsCoverTheRangeExactlyOnce) {
  const SeedRange range{.first = 1, .last = 10};
  std::vector<std::pair<uint64_t, uint64_t>> slices;
  for (uint64_t index = 1; index <= 3; ++index) {
    absl::StatusOr<SeedRange> slice = shard_range(range, {.index = index, .count = 3});
    ASSERT_TRUE(slice.ok());
    slices.emplace_back(slice->first, slice->last);
  }
  EXPECT_EQ(slices, (std::vector<std::pair<uint64_t, uint64_t>>{{1, 4}, {5, 7}, {8, 10}}));
  absl::StatusOr<SeedRange> top = shard_range({.first = 18446744073709551610u, .last = 18446744073709551615u},
                                              {.index = 2, .count = 2});
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->first, 18446744073709551613u);
  EXPECT_EQ(top->last, 18446744073709551615u);

  const Registry registry = parallel_registry();
  CliResult shard = run_cli_captured({"run", "ok", "--seeds", "1..10", "--shard", "2/3"}, registry);
  ASSERT_EQ(shard.code, kExitPassed);
  EXPECT_TRUE(std::regex_search(shard.out, std::regex("\nok +3 +0 +0 "))) << shard.out;
  EXPECT_NE(shard.out.find(", shard 2/3 of 1..10: seeds 5..7)\n"), std::string::npos) << shard.out;
}

TEST(ParallelSweep, JUnitIsWellFormedWithOneCasePerScenarioAndReplayCommands) {
  const Registry registry = parallel_registry();
  const std::string path = ::testing::TempDir() + "troupe_junit_test.xml";
  CliResult result = run_cli_captured({"run", "ok", "third", "escapes", "--seeds", "1..30", "--junit", path, "--jobs", "2"},
                                      registry);
  ASSERT_EQ(result.code, kExitFailed) << result.err;
  const std::string xml = read_file(path);
  if (run_shell("command -v xmllint >/dev/null") == 0) {
    EXPECT_EQ(run_shell("xmllint --noout " + path), 0) << xml;
  }
  EXPECT_NE(xml.find("<testcase classname=\"troupe.ok\" name=\"ok seeds 1..30\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<testcase classname=\"troupe.third\" name=\"third seeds 1..30\""), std::string::npos);
  EXPECT_NE(xml.find("<testcase classname=\"troupe.escapes\" name=\"escapes seeds 1..30\""), std::string::npos);
  EXPECT_NE(xml.find("<testsuite name=\"troupe run\" tests=\"3\" failures=\"2\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("replay: troupe replay third --seed "), std::string::npos) << xml;
  EXPECT_NE(xml.find("30x (first seed 1): always &apos;markup&apos; failed: &lt;tag a=&quot;1&quot;&gt; &amp; "
                     "&apos;quoted&apos; \xEF\xBF\xBD bad utf-8: \xEF\xBF\xBD( ok: \xC3\xA9\n"
                     "  replay: troupe replay escapes --seed 1 --strategy random"),
            std::string::npos)
      << xml;
  // One <failure> per failing scenario; the passing one has none.
  size_t failures = 0;
  for (size_t at = xml.find("<failure "); at != std::string::npos; at = xml.find("<failure ", at + 1)) ++failures;
  EXPECT_EQ(failures, 2u);
  CliResult bad = run_cli_captured({"run", "ok", "--seeds", "1", "--junit", "/nonexistent/dir/j.xml"}, registry);
  EXPECT_EQ(bad.code, kExitUsage);
  EXPECT_EQ(bad.err, "troupe: cannot write the JUnit report '/nonexistent/dir/j.xml'\n");
}

TEST(ParallelSweep, AnInterruptedSweepPrintsTheSummarySoFarAndWhatDidNotRun) {
  // The driver sends the process SIGINT on its 5th run: the sweep stops after that seed.
  Registry registry;
  int runs = 0;
  registry.add({.name = "interrupts", .summary = "Ctrl-C on its fifth seed", .driver = [&](System&, Checks& checks) {
                  if (++runs == 5) ::raise(SIGINT);
                  checks.always("true", true);
                }});
  registry.add({.name = "later", .summary = "never reached", .driver = [](System&, Checks&) {}});
  CliResult result = run_cli_captured({"run", "interrupts", "later", "--seeds", "1..100"}, registry);
  EXPECT_EQ(result.code, kExitInterrupted);
  EXPECT_TRUE(std::regex_search(result.out, std::regex("\ninterrupts +5 +0 +0 +[0-9.]+s  0x[0-9a-f]{16}  passed so far")))
      << result.out;
  EXPECT_TRUE(std::regex_search(result.out, std::regex("\nlater +0 +0 +0 .* not run ")));
  EXPECT_NE(result.out.find("interrupted (Ctrl-C): 5 of 200 seeds ran; the summary covers those. Not run:\n"
                            "  interrupts: seeds 6..100\n  later: seeds 1..100\n0 of 2 scenarios failed so far\n"),
            std::string::npos)
      << result.out;
}

}  // namespace
}  // namespace troupe::cli
