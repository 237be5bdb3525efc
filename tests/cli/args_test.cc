// The `troupe` command line (DESIGN §7): parsing, exact error messages and exit codes, and how
// run judges planted bugs. Runs the CLI in-process against small local registries.
#include <regex>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/troupe.h"
#include "tests/cli/cli_test_util.h"
#include "tools/troupe/args.h"

namespace troupe::cli {
namespace {

using scenarios::Checks;
using scenarios::Registry;
using scenarios::Scenario;
using testing::CliResult;
using testing::run_cli_captured;

std::string parse_error(const std::vector<std::string>& args) {
  absl::StatusOr<Command> command = parse_command(args);
  EXPECT_FALSE(command.ok());
  return command.ok() ? "(parsed)" : std::string(command.status().message());
}

std::string seed_range_error(std::string_view text) {
  absl::StatusOr<SeedRange> range = parse_seed_range(text);
  EXPECT_FALSE(range.ok());
  return range.ok() ? "(parsed)" : std::string(range.status().message());
}

TEST(SeedRange, ParsesARangeAndASingleSeed) {
  absl::StatusOr<SeedRange> range = parse_seed_range("1..2000");
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->first, 1u);
  EXPECT_EQ(range->last, 2000u);
  EXPECT_EQ(range->count(), 2000u);
  range = parse_seed_range("17");
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->first, 17u);
  EXPECT_EQ(range->last, 17u);
  range = parse_seed_range("18446744073709551615");
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->last, 18446744073709551615u);
  range = parse_seed_range("18446744073709551610..18446744073709551615");
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->count(), 6u);
}

TEST(SeedRange, MalformedRangesNameWhatIsWrong) {
  EXPECT_EQ(seed_range_error("5..1"), "bad seed range '5..1': the first seed is larger than the last");
  EXPECT_EQ(seed_range_error("a..b"),
            "bad seed range 'a..b': 'a' is not a seed (a decimal number up to 18446744073709551615)");
  EXPECT_EQ(seed_range_error("1.."), "bad seed range '1..': the last seed is missing (expected A..B)");
  EXPECT_EQ(seed_range_error("..3"), "bad seed range '..3': the first seed is missing (expected A..B)");
  EXPECT_EQ(seed_range_error("1..18446744073709551616"),
            "bad seed range '1..18446744073709551616': '18446744073709551616' is out of range (seeds are at most "
            "18446744073709551615)");
  EXPECT_EQ(seed_range_error("0..18446744073709551615"),
            "bad seed range '0..18446744073709551615': more than 1000000000 seeds");
  EXPECT_EQ(seed_range_error("-3"), "bad seed range '-3': '-3' is not a seed (a decimal number up to 18446744073709551615)");
  EXPECT_EQ(seed_range_error("+3"), "bad seed range '+3': '+3' is not a seed (a decimal number up to 18446744073709551615)");
  EXPECT_EQ(seed_range_error(" 3"), "bad seed range ' 3': ' 3' is not a seed (a decimal number up to 18446744073709551615)");
  EXPECT_EQ(seed_range_error(""), "bad seed range '': '' is not a seed (a decimal number up to 18446744073709551615)");
}

TEST(ParseCommand, RunTakesScenariosAndFlagsInEitherSpelling) {
  absl::StatusOr<Command> command =
      parse_command({"run", "counter", "database", "--seeds=3..9", "--strategy", "fifo", "--check-determinism",
                     "--json", "out.json", "--bugs"});
  ASSERT_TRUE(command.ok()) << command.status();
  const RunCommand& run = std::get<RunCommand>(*command);
  EXPECT_EQ(run.scenarios, (std::vector<std::string>{"counter", "database"}));
  EXPECT_EQ(run.seeds.first, 3u);
  EXPECT_EQ(run.seeds.last, 9u);
  EXPECT_EQ(run.strategy, sim::StrategyKind::kFifo);
  EXPECT_EQ(run.platform, scenarios::PlatformKind::kSim);
  EXPECT_TRUE(run.check_determinism);
  EXPECT_TRUE(run.bugs);
  EXPECT_FALSE(run.all);
  EXPECT_EQ(run.json_path, "out.json");
}

TEST(ParseCommand, PctTakesADepthAndOptionallyASteps) {
  absl::StatusOr<Command> command =
      parse_command({"run", "counter", "--seeds", "1..9", "--strategy", "pct", "--pct-depth", "2", "--max-failures=1"});
  ASSERT_TRUE(command.ok()) << command.status();
  const RunCommand& run = std::get<RunCommand>(*command);
  EXPECT_EQ(run.strategy, sim::StrategyKind::kPct);
  EXPECT_EQ(run.pct.depth, 2u);
  EXPECT_EQ(run.pct.steps, 0u);  // adaptive
  EXPECT_EQ(run.max_failures, 1u);
  command = parse_command({"replay", "counter", "--seed", "4", "--strategy=pct", "--pct-steps", "500"});
  ASSERT_TRUE(command.ok()) << command.status();
  const ReplayCommand& replay = std::get<ReplayCommand>(*command);
  EXPECT_EQ(replay.strategy, sim::StrategyKind::kPct);
  EXPECT_EQ(replay.pct.depth, sim::kPctDefaultDepth);
  EXPECT_EQ(replay.pct.steps, 500u);
  EXPECT_EQ(std::get<RunCommand>(*parse_command({"run", "counter", "--seeds", "1"})).max_failures, 0u);
}

TEST(ParseCommand, ReplayTakesOneScenarioASeedAndATrace) {
  absl::StatusOr<Command> command = parse_command(
      {"replay", "counter", "--seed", "17", "--platform=threads", "--trace", "t.json", "--trace-format", "chrome"});
  ASSERT_TRUE(command.ok()) << command.status();
  const ReplayCommand& replay = std::get<ReplayCommand>(*command);
  EXPECT_EQ(replay.scenario, "counter");
  EXPECT_EQ(replay.seed, 17u);
  EXPECT_EQ(replay.strategy, sim::StrategyKind::kRandom);
  EXPECT_EQ(replay.platform, scenarios::PlatformKind::kThreads);
  EXPECT_EQ(replay.trace_path, "t.json");
  EXPECT_EQ(replay.trace_format, TraceFormat::kChrome);
}

TEST(ParseCommand, MistakesAreOneLineNamingWhatIsWrong) {
  EXPECT_EQ(parse_error({}), "no command (expected list, run, replay, shrink, regress, head or node; troupe help shows the usage)");
  EXPECT_EQ(parse_error({"sweep"}), "unknown command 'sweep' (expected list, run, replay, shrink, regress, head or node)");
  EXPECT_EQ(parse_error({"shrink", "counter"}), "shrink needs --seed N");
  EXPECT_EQ(parse_error({"list", "counter"}), "list takes no arguments (got 'counter')");
  EXPECT_EQ(parse_error({"run", "counter"}), "run needs --seeds A..B");
  EXPECT_EQ(parse_error({"run", "--seeds", "1..2"}), "run needs scenario names, --all or --bugs");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds"}), "--seeds needs a value");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "--all"}), "--seeds needs a value");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds="}), "--seeds needs a value");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1", "--seeds", "2"}), "--seeds is given twice");
  EXPECT_EQ(parse_error({"run", "--all=yes", "--seeds", "1"}), "--all takes no value");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1", "--verbose"}),
            "unknown flag '--verbose' for run (troupe help shows the usage)");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1", "-v"}), "unknown flag '-v' for run (troupe help shows the usage)");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1", "--jobs", "0"}),
            "--jobs: '0' is not a number of worker processes (expected an integer from 1 to 256)");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1", "--jobs", "many"}),
            "--jobs: 'many' is not a number of worker processes (expected an integer from 1 to 256)");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1..10", "--shard", "0/3"}),
            "--shard: bad shard '0/3': I must be from 1 to N = 3 (shards count from 1)");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1..10", "--shard", "4/3"}),
            "--shard: bad shard '4/3': I must be from 1 to N = 3 (shards count from 1)");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1..10", "--shard", "2"}),
            "--shard: bad shard '2': expected I/N, e.g. 2/4 for the second of four shards");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1..10", "--shard", "a/b"}),
            "--shard: bad shard 'a/b': expected I/N with decimal numbers, e.g. 2/4");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1..10", "--shard", "1/0"}),
            "--shard: bad shard '1/0': N must be from 1 to 100000");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1..3", "--shard", "2/4"}),
            "--shard 2/4: the range 1..3 has only 3 seeds, fewer than the shards");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1", "--junit"}), "--junit needs a value");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "5..1"}), "bad seed range '5..1': the first seed is larger than the last");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1", "--strategy", "dfs"}),
            "--strategy: unknown strategy 'dfs' (expected random, pct or fifo)");
  EXPECT_EQ(parse_error({"replay", "counter", "--seed", "1", "--strategy", "replay"}),
            "--strategy: unknown strategy 'replay' (expected random, pct or fifo)");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1", "--pct-depth", "2"}), "--pct-depth needs --strategy pct");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1", "--strategy", "fifo", "--pct-steps", "9"}),
            "--pct-steps needs --strategy pct");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1", "--strategy", "pct", "--pct-depth", "0"}),
            "--pct-depth: '0' is not a depth (expected an integer from 1 to 1000)");
  EXPECT_EQ(parse_error({"replay", "counter", "--seed", "1", "--strategy", "pct", "--pct-depth", "1001"}),
            "--pct-depth: '1001' is not a depth (expected an integer from 1 to 1000)");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1", "--strategy", "pct", "--pct-depth", "two"}),
            "--pct-depth: 'two' is not a depth (expected an integer from 1 to 1000)");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1", "--strategy", "pct", "--pct-steps", "-5"}),
            "--pct-steps: '-5' is not a step bound (expected an integer from 1 to 1000000000000)");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1", "--max-failures", "0"}),
            "--max-failures: '0' is not a count of seeds (expected an integer from 1 to 1000000000)");
  EXPECT_EQ(parse_error({"replay", "counter", "--seed", "1", "--max-failures", "1"}),
            "unknown flag '--max-failures' for replay (troupe help shows the usage)");
  EXPECT_EQ(parse_error({"replay", "counter", "--seed", "1", "--strategy", "pct", "--schedule", "s.jsonl"}),
            "--schedule replays recorded decisions: give it without --strategy, --pct-depth or --pct-steps");
  EXPECT_EQ(parse_error({"replay", "counter", "--seed", "1", "--schedule", "/nonexistent/s.jsonl"}),
            "cannot read the schedule '/nonexistent/s.jsonl'");
  EXPECT_EQ(parse_error({"replay", "counter", "--seed", "1", "--platform", "threads", "--schedule", "s.jsonl"}),
            "--schedule needs --platform sim");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1", "--platform", "ray"}),
            "unknown platform 'ray' (expected sim, threads or cluster)");
  // The cluster's flags need --platform cluster, and each other where they say so.
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1", "--chaos-kills"}),
            "--address, --token-file, --cluster-log and --chaos-kills need --platform cluster");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1", "--platform", "cluster", "--token-file", "t"}),
            "--token-file needs --address (a local cluster makes its own token)");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1", "--platform", "cluster", "--address", "h:0"}),
            "--address: address 'h:0': '0' is not a port (1-65535)");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1", "--platform", "cluster", "--chaos-kills", "--jobs", "2"}),
            "--chaos-kills runs in this process only (drop --jobs)");
  EXPECT_EQ(parse_error({"node", "--token-file", "t"}), "node needs --head HOST:PORT");
  EXPECT_EQ(parse_error({"head", "--token-file", "t", "--gpus", "-1"}),
            "--gpus: '-1' is not a whole number from 0 to 1024");
  EXPECT_EQ(parse_error({"head", "extra", "--token-file", "t"}), "head takes no arguments (got 'extra')");
  EXPECT_EQ(parse_error({"run", "counter", "--seeds", "1", "--platform", "threads", "--check-determinism"}),
            "--check-determinism needs --platform sim (runs on threads are not reproducible)");
  EXPECT_EQ(parse_error({"replay", "--seed", "1"}), "replay needs a scenario name");
  EXPECT_EQ(parse_error({"replay", "a", "b", "--seed", "1"}), "replay takes one scenario (got 'a' and 'b')");
  EXPECT_EQ(parse_error({"replay", "counter"}), "replay needs --seed N");
  EXPECT_EQ(parse_error({"replay", "counter", "--seed", "x"}),
            "bad --seed: 'x' is not a seed (a decimal number up to 18446744073709551615)");
  EXPECT_EQ(parse_error({"replay", "counter", "--seed", "1", "--trace-format", "chrome"}), "--trace-format needs --trace FILE");
  EXPECT_EQ(parse_error({"replay", "counter", "--seed", "1", "--trace", "t", "--trace-format", "xml"}),
            "unknown trace format 'xml' (expected text, jsonl or chrome)");
  EXPECT_EQ(parse_error({"replay", "counter", "--seed", "1", "--seeds", "1..2"}),
            "unknown flag '--seeds' for replay (troupe help shows the usage)");
}

// A registry of driver-only scenarios (no actors) with known outcomes.
Registry test_registry() {
  Registry registry;
  registry.add({.name = "ok", .summary = "always passes", .driver = [](System&, Checks& checks) {
                  checks.always("true", true);
                }});
  // troupe::random() is the seeded stream of the driver's process: fails on about half the seeds.
  const auto coin = [](System&, Checks& checks) {
    const uint64_t draw = troupe::random() % 2;
    checks.always("heads", draw == 0, fmt::format("drew {}", draw));
  };
  registry.add({.name = "coin", .summary = "fails on some seeds", .driver = coin});
  registry.add({.name = "coin.bug_tails", .summary = "a planted bug", .expect_fail = true, .driver = coin});
  registry.add({.name = "ok.bug_hidden", .summary = "a planted bug never found", .expect_fail = true,
                .driver = [](System&, Checks&) {}});
  return registry;
}

TEST(RunCli, ExitCodesAreZeroForPassOneForFailureTwoForUsage) {
  const Registry registry = test_registry();
  EXPECT_EQ(run_cli_captured({"run", "ok", "--seeds", "1..20"}, registry).code, kExitPassed);
  EXPECT_EQ(run_cli_captured({"run", "coin", "--seeds", "1..20"}, registry).code, kExitFailed);
  CliResult unknown = run_cli_captured({"run", "nosuch", "--seeds", "1..2"}, registry);
  EXPECT_EQ(unknown.code, kExitUsage);
  EXPECT_EQ(unknown.err, "troupe: unknown scenario 'nosuch' (troupe list shows them)\n");
  EXPECT_EQ(unknown.out, "");
  CliResult bad_range = run_cli_captured({"run", "ok", "--seeds", "5..1"}, registry);
  EXPECT_EQ(bad_range.code, kExitUsage);
  EXPECT_EQ(bad_range.err, "troupe: bad seed range '5..1': the first seed is larger than the last\n");
  CliResult bad_replay = run_cli_captured({"replay", "nosuch", "--seed", "1"}, registry);
  EXPECT_EQ(bad_replay.code, kExitUsage);
  EXPECT_EQ(bad_replay.err, "troupe: unknown scenario 'nosuch' (troupe list shows them)\n");
}

TEST(RunCli, FailuresPrintTheirReplayCommands) {
  const Registry registry = test_registry();
  CliResult result = run_cli_captured({"run", "coin", "--seeds", "1..40", "--strategy", "fifo"}, registry);
  ASSERT_EQ(result.code, kExitFailed);
  size_t printed = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    const std::string fail_line = fmt::format("FAIL coin seed {}: always 'heads' failed: drew 1\n", seed);
    if (result.out.find(fail_line) == std::string::npos) continue;
    ++printed;
    const std::string replay_line = fmt::format("  replay: troupe replay coin --seed {} --strategy fifo  # trace hash ", seed);
    const size_t at = result.out.find(fail_line + replay_line);
    ASSERT_NE(at, std::string::npos) << result.out;
    const std::string hash = result.out.substr(at + fail_line.size() + replay_line.size(), 18);
    // The replay command reproduces the failure, and the very same run: the same trace hash.
    CliResult replay = run_cli_captured({"replay", "coin", "--seed", std::to_string(seed), "--strategy", "fifo"}, registry);
    EXPECT_EQ(replay.code, kExitFailed);
    EXPECT_NE(replay.out.find("outcome: FAILED: always 'heads' failed: drew 1\n"), std::string::npos) << replay.out;
    EXPECT_NE(replay.out.find("trace hash: " + hash + "\n"), std::string::npos) << hash << "\n" << replay.out;
  }
  // The summary row: scenario, seeds, failures, distinct failure messages.
  std::smatch row;
  ASSERT_TRUE(std::regex_search(result.out, row, std::regex("\ncoin +40 +([0-9]+) +1  "))) << result.out;
  const size_t failures = std::stoul(row[1]);
  EXPECT_GT(failures, 10u);
  EXPECT_LT(failures, 35u);
  // The first ten failures print; later ones with the same message are only counted, which the
  // output says once, and the summary names the first seed of the message with its replay.
  EXPECT_EQ(printed, 10u);
  EXPECT_NE(result.out.find("(further failures of coin with a message already printed are counted in the summary, "
                            "not printed)\n"),
            std::string::npos);
  EXPECT_TRUE(std::regex_search(result.out, std::regex("x \\(first seed [0-9]+\\) always 'heads' failed: drew 1\n"
                                                       " +replay: troupe replay coin --seed [0-9]+ --strategy fifo\n")))
      << result.out;
  EXPECT_NE(result.out.find("1 of 1 scenario failed\n"), std::string::npos);
}

TEST(RunCli, BugsPassWhenEveryPlantedBugIsFound) {
  Registry registry = test_registry();
  // ok.bug_hidden never fails: --bugs reports it as not found.
  CliResult all_bugs = run_cli_captured({"run", "--bugs", "--seeds", "1..20"}, registry);
  EXPECT_EQ(all_bugs.code, kExitFailed);
  EXPECT_NE(all_bugs.out.find("bug found (expected)"), std::string::npos) << all_bugs.out;
  EXPECT_NE(all_bugs.out.find("bug NOT found"), std::string::npos) << all_bugs.out;
  // Only the one that is found: passes.
  CliResult found = run_cli_captured({"run", "coin.bug_tails", "--bugs", "--seeds", "1..20"}, registry);
  EXPECT_EQ(found.code, kExitFailed) << "--bugs also selects ok.bug_hidden";
  Registry only_found;
  only_found.add(*registry.find("coin.bug_tails"));
  EXPECT_EQ(run_cli_captured({"run", "--bugs", "--seeds", "1..20"}, only_found).code, kExitPassed);
  // Named without --bugs, a planted bug that is found fails the run like any failure (DESIGN §6).
  CliResult named = run_cli_captured({"run", "coin.bug_tails", "--seeds", "1..20"}, registry);
  EXPECT_EQ(named.code, kExitFailed);
  EXPECT_NE(named.out.find("FAILED (planted bug found)"), std::string::npos) << named.out;
  // --all leaves planted bugs out.
  CliResult all = run_cli_captured({"run", "--all", "--seeds", "1..3"}, registry);
  EXPECT_EQ(all.out.find("bug_"), std::string::npos) << all.out;
}

TEST(RunCli, ListShowsEveryScenarioAndMarksPlantedBugs) {
  CliResult result = run_cli_captured({"list"}, test_registry());
  EXPECT_EQ(result.code, kExitPassed);
  EXPECT_EQ(result.out,
            "correct scenarios (2), each must pass on every seed:\n"
            "  coin" + std::string(27, ' ') + "fails on some seeds\n" +
                "  ok" + std::string(29, ' ') + "always passes\n" +
                "planted bugs (2), each expected to fail on some seed (troupe run --bugs):\n"
                "  coin.bug_tails  [expect-fail]  a planted bug\n" +
                "  ok.bug_hidden   [expect-fail]  a planted bug never found\n");
}

TEST(SelectScenarios, NamedFirstThenAllThenBugsEachOnce) {
  const Registry registry = test_registry();
  RunCommand command{.scenarios = {"ok", "coin.bug_tails"}, .all = true, .bugs = true};
  absl::StatusOr<std::vector<const Scenario*>> selected = select_scenarios(registry, command);
  ASSERT_TRUE(selected.ok());
  std::vector<std::string> names;
  for (const Scenario* scenario : *selected) names.push_back(scenario->name);
  EXPECT_EQ(names, (std::vector<std::string>{"ok", "coin.bug_tails", "coin", "ok.bug_hidden"}));
}

}  // namespace
}  // namespace troupe::cli
