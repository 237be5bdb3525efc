// `troupe replay` writes traces a user can open: the built binary, run as a subprocess, exports a
// seed of the counter scenario as Chrome trace-event JSON that parses, with one named track per
// actor; the export is byte-identical when replayed again. Also: the --json report parses.
#include <cctype>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "fmt/format.h"
#include "tests/cli/cli_test_util.h"
#include "tests/cli/json_value.h"

namespace troupe::testing {
namespace {

// Set by CMake to the built `troupe` binary.
constexpr const char* kTroupe = TROUPE_CLI_PATH;

std::string temp_path(std::string_view name) { return ::testing::TempDir() + std::string(name); }

// Replays counter seed 7 into `trace` as Chrome JSON; returns the CLI's stdout.
std::string replay_counter_to_chrome(const std::string& trace) {
  const std::string stdout_path = trace + ".stdout";
  const int code = run_shell(fmt::format("'{}' replay counter --seed 7 --trace '{}' --trace-format chrome > '{}'", kTroupe,
                                         trace, stdout_path));
  EXPECT_EQ(code, 0);
  return read_file(stdout_path);
}

TEST(ReplayTrace, ChromeExportParsesAndHasOneNamedTrackPerActor) {
  const std::string trace = temp_path("counter_seed7.json");
  const std::string out = replay_counter_to_chrome(trace);
  EXPECT_NE(out.find("troupe replay counter --seed 7 --strategy random\noutcome: passed\ntrace hash: 0x"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(fmt::format("trace: {} (chrome)\n", trace)), std::string::npos) << out;

  std::string error;
  std::optional<JsonValue> document = parse_json(read_file(trace), &error);
  ASSERT_TRUE(document.has_value()) << error;
  const JsonValue* events = document->find("traceEvents");
  ASSERT_NE(events, nullptr);
  ASSERT_NE(events->array(), nullptr);
  ASSERT_GT(events->array()->size(), 100u);

  // Actor tracks: a thread_name "a<creator>.<index> ..." names the process an actor lives in.
  std::map<double, std::string> actor_track_names;  // tid -> name
  for (const JsonValue& event : *events->array()) {
    ASSERT_NE(event.find("ph"), nullptr);
    const JsonValue* name = event.find("name");
    if (name == nullptr || name->string() == nullptr || *name->string() != "thread_name") continue;
    const std::string* track = event.find("args")->find("name")->string();
    ASSERT_NE(track, nullptr);
    if (track->size() > 1 && (*track)[0] == 'a' && std::isdigit(static_cast<unsigned char>((*track)[1]))) {
      const double tid = *event.find("tid")->number();
      EXPECT_FALSE(actor_track_names.contains(tid)) << "two actor names for one track: " << *track;
      actor_track_names[tid] = *track;
    }
  }
  // The counter scenario spawns one Counter and three Caller actors, each in its own process.
  int counters = 0;
  int callers = 0;
  std::set<std::string> actor_ids;
  for (const auto& [tid, name] : actor_track_names) {
    actor_ids.insert(name.substr(0, name.find(' ')));
    counters += name.find("Counter") != std::string::npos ? 1 : 0;
    callers += name.find("Caller") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(actor_track_names.size(), 4u);
  EXPECT_EQ(actor_ids.size(), 4u);
  EXPECT_EQ(counters, 1);
  EXPECT_EQ(callers, 3);
}

TEST(ReplayTrace, ReplayingASeedAgainGivesTheSameHashAndTheSameFile) {
  const std::string first = temp_path("counter_seed7_a.json");
  const std::string second = temp_path("counter_seed7_b.json");
  const std::string first_out = replay_counter_to_chrome(first);
  const std::string second_out = replay_counter_to_chrome(second);
  const auto hash_line = [](const std::string& out) {
    const size_t at = out.find("trace hash: ");
    return at == std::string::npos ? std::string() : out.substr(at, out.find('\n', at) - at);
  };
  EXPECT_NE(hash_line(first_out), "");
  EXPECT_EQ(hash_line(first_out), hash_line(second_out));
  EXPECT_EQ(read_file(first), read_file(second));
}

TEST(JsonReport, ListsFailuresWithSeedMessageAndTraceHash) {
  scenarios::Registry registry;
  scenarios::register_builtin_scenarios(registry);
  const std::string path = temp_path("report.json");
  CliResult result = run_cli_captured({"run", "counter.bug_lost_increment", "counter", "--seeds", "1..30", "--json", path},
                                      registry);
  EXPECT_EQ(result.code, cli::kExitFailed) << result.out;
  std::string error;
  std::optional<JsonValue> report = parse_json(read_file(path), &error);
  ASSERT_TRUE(report.has_value()) << error;
  EXPECT_EQ(*report->find("exit_code")->number(), 1);
  const JsonValue::Array& scenarios = *report->find("scenarios")->array();
  ASSERT_EQ(scenarios.size(), 2u);
  EXPECT_EQ(*scenarios[0].find("name")->string(), "counter.bug_lost_increment");
  EXPECT_EQ(*scenarios[1].find("name")->string(), "counter");
  EXPECT_EQ(*scenarios[1].find("seeds")->number(), 30);
  EXPECT_TRUE(scenarios[1].find("failures")->array()->empty());
  const JsonValue::Array& failures = *scenarios[0].find("failures")->array();
  ASSERT_FALSE(failures.empty());
  for (const JsonValue& failure : failures) {
    const auto seed = static_cast<uint64_t>(*failure.find("seed")->number());
    EXPECT_NE(result.out.find(fmt::format("FAIL counter.bug_lost_increment seed {}: {}\n", seed,
                                          *failure.find("message")->string())),
              std::string::npos);
    EXPECT_EQ(failure.find("trace_hash")->string()->size(), 18u);
    EXPECT_EQ(*failure.find("replay")->string(),
              fmt::format("troupe replay counter.bug_lost_increment --seed {} --strategy random", seed));
  }
}

TEST(JsonReport, RecordsThePctDepthAndWhereMaxFailuresStoppedTheSweep) {
  scenarios::Registry registry;
  scenarios::register_builtin_scenarios(registry);
  const std::string path = temp_path("report_pct.json");
  CliResult result = run_cli_captured({"run", "counter.bug_lost_increment", "--seeds", "1..100", "--strategy", "pct",
                                       "--pct-depth", "2", "--max-failures", "1", "--json", path},
                                      registry);
  EXPECT_EQ(result.code, cli::kExitFailed) << result.out;
  std::string error;
  std::optional<JsonValue> report = parse_json(read_file(path), &error);
  ASSERT_TRUE(report.has_value()) << error;
  EXPECT_EQ(*report->find("strategy")->string(), "pct");
  EXPECT_EQ(*report->find("pct_depth")->number(), 2);
  EXPECT_EQ(*report->find("pct_steps")->number(), 0);  // adaptive
  EXPECT_EQ(*report->find("max_failures")->number(), 1);
  const JsonValue& scenario = report->find("scenarios")->array()->at(0);
  const JsonValue::Array& failures = *scenario.find("failures")->array();
  ASSERT_EQ(failures.size(), 1u);
  const double seed = *failures[0].find("seed")->number();
  EXPECT_EQ(*scenario.find("stopped_at_seed")->number(), seed);
  EXPECT_EQ(*scenario.find("seeds")->number(), seed);  // seeds 1..seed ran, the first failure last
  EXPECT_EQ(*failures[0].find("replay")->string(),
            fmt::format("troupe replay counter.bug_lost_increment --seed {} --strategy pct --pct-depth 2", seed));
  EXPECT_NE(result.out.find(fmt::format("stopped counter.bug_lost_increment at seed {} after 1 failing seed "
                                        "(--max-failures 1); seeds {}..100 not run\n",
                                        seed, seed + 1)),
            std::string::npos)
      << result.out;

  // Without pct the report has no pct fields, and a sweep that ran every seed stopped nowhere.
  result = run_cli_captured({"run", "counter", "--seeds", "1..3", "--json", path}, registry);
  EXPECT_EQ(result.code, cli::kExitPassed) << result.out;
  report = parse_json(read_file(path), &error);
  ASSERT_TRUE(report.has_value()) << error;
  EXPECT_EQ(report->find("pct_depth"), nullptr);
  EXPECT_EQ(*report->find("max_failures")->number(), 0);
  EXPECT_TRUE(std::holds_alternative<std::nullptr_t>(report->find("scenarios")->array()->at(0).find("stopped_at_seed")->value));
}

}  // namespace
}  // namespace troupe::testing
