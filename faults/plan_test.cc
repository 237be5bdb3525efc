#include "faults/plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "faults/fault_kind.h"

namespace troupe::faults {
namespace {

std::string message_of(const absl::Status& status) { return std::string(status.message()); }

// The error parse_plan gives for `json`, read as "plan.json".
std::string plan_error(std::string_view json) {
  absl::StatusOr<FaultPlan> plan = parse_plan(json, "plan.json");
  EXPECT_FALSE(plan.ok()) << "accepted: " << json;
  if (plan.ok()) return "";
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  return message_of(plan.status());
}

// A plan holding the single fault `fault_json`.
std::string with_fault(std::string_view fault_json) {
  return "{\"version\": 1, \"faults\": [" + std::string(fault_json) + "]}";
}

// One fault of every kind, with every optional field used somewhere.
constexpr std::string_view kEveryKind = R"({
  "version": 1,
  "generator": {
    "kinds": ["crash", "partition", "storage"],
    "intensity_per_s": {"crash": 0.5, "partition": 0.25, "storage": 2},
    "fault_window_ms": 10000, "quiet_ms": 5000, "deadline_ms": 30000
  },
  "faults": [
    {"at_ms": 0, "kind": "crash", "process": 3},
    {"at_ms": 100.5, "kind": "node_crash", "node": 1, "reboot_after_ms": 2000},
    {"at_ms": 200, "kind": "node_crash", "node": 2},
    {"at_ms": 300, "kind": "partition", "sides": [[2, 0], [1]], "one_way": true, "duration_ms": 1500},
    {"at_ms": 400, "kind": "partition", "sides": [[0], [1, 2]], "duration_ms": 0.000001},
    {"at_ms": 500, "kind": "clog", "node": 2, "duration_ms": 250},
    {"at_ms": 600, "kind": "clog", "link": [1, 0], "duration_ms": 250},
    {"at_ms": 700, "kind": "reset", "link": [0, 2]},
    {"at_ms": 800, "kind": "latency", "extra_latency_ms": 40, "duration_ms": 1000},
    {"at_ms": 900, "kind": "storage", "error_rate": 0.1, "duration_ms": 3000},
    {"at_ms": 1000, "kind": "buggify", "sites": ["store.slow_ack", "directory.drop_lease"]},
    {"at_ms": 1100, "kind": "suspect", "process": 2},
    {"at_ms": 1200, "kind": "gpu_throttle", "node": 1, "device": 3, "slowdown": 2.5, "duration_ms": 400},
    {"at_ms": 1300, "kind": "gpu_memory", "node": 0, "device": 1, "bytes": 4294967296, "duration_ms": 600},
    {"at_ms": 1400, "kind": "gpu_loss", "node": 2, "device": 0}
  ]
})";

TEST(FaultKind, NamesAreStableAndRoundTrip) {
  const std::array<const char*, kFaultKindCount> names = {"crash", "node_crash", "partition", "clog", "reset",
                                                          "latency", "storage", "buggify", "suspect", "gpu_throttle",
                                                          "gpu_memory", "gpu_loss"};
  for (size_t i = 0; i < kFaultKindCount; ++i) {
    EXPECT_EQ(fault_kind_name(kAllFaultKinds[i]), names[i]);
    EXPECT_EQ(fault_kind_from_name(names[i]), kAllFaultKinds[i]);
  }
  EXPECT_EQ(fault_kind_from_name("Crash"), std::nullopt);
  EXPECT_EQ(fault_kind_from_name(""), std::nullopt);
}

TEST(ParseFaultKinds, NoneSwarmAndLists) {
  EXPECT_EQ(*parse_fault_kinds("none"), (FaultSelection{.mode = FaultSelection::Mode::kNone, .kinds = {}}));
  const absl::StatusOr<FaultSelection> swarm = parse_fault_kinds("swarm");
  ASSERT_TRUE(swarm.ok());
  EXPECT_EQ(swarm->mode, FaultSelection::Mode::kSwarm);
  EXPECT_EQ(swarm->kinds.size(), kFaultKindCount);
  EXPECT_EQ(
      *parse_fault_kinds("partition,crash"),
      (FaultSelection{.mode = FaultSelection::Mode::kKinds, .kinds = {FaultKind::kCrash, FaultKind::kPartition}}));
  EXPECT_EQ(parse_fault_kinds(" clog , reset ")->kinds, (std::set<FaultKind>{FaultKind::kClog, FaultKind::kReset}));
}

TEST(ParseFaultKinds, BadListsNameTheItemAndTheChoices) {
  EXPECT_EQ(message_of(parse_fault_kinds("crash,flood").status()),
            "--faults 'crash,flood': unknown fault kind 'flood' (expected none, swarm, or a list of crash, "
            "node_crash, partition, clog, reset, latency, storage, buggify, suspect, gpu_throttle, gpu_memory or "
            "gpu_loss)");
  EXPECT_EQ(message_of(parse_fault_kinds("crash,,clog").status()), "--faults 'crash,,clog': item 2 is empty");
  EXPECT_EQ(message_of(parse_fault_kinds("crash,").status()), "--faults 'crash,': item 2 is empty");
  EXPECT_EQ(message_of(parse_fault_kinds("crash,crash").status()),
            "--faults 'crash,crash': fault kind 'crash' is listed twice");
  EXPECT_EQ(message_of(parse_fault_kinds("none,crash").status()),
            "--faults 'none,crash': 'none' must be the whole value, not part of a list");
  EXPECT_EQ(parse_fault_kinds("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_fault_kinds("Crash").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParsePlan, ReadsEveryKindWithItsParameters) {
  const absl::StatusOr<FaultPlan> plan = parse_plan(kEveryKind, "plan.json");
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->faults.size(), 15u);
  EXPECT_EQ(plan->version, 1);
  EXPECT_EQ(plan->faults[0], (ScheduledFault{.at_ns = 0, .params = CrashFault{.process = 3}}));
  EXPECT_EQ(plan->faults[1], (ScheduledFault{.at_ns = 100'500'000,
                                             .params = NodeCrashFault{.node = 1, .reboot_after_ns = 2 * kSecond}}));
  EXPECT_EQ(std::get<NodeCrashFault>(plan->faults[2].params).reboot_after_ns, std::nullopt);
  const auto& partition = std::get<PartitionFault>(plan->faults[3].params);
  EXPECT_EQ(partition.sides[0], (std::vector<uint32_t>{0, 2}));  // sorted
  EXPECT_EQ(partition.sides[1], (std::vector<uint32_t>{1}));
  EXPECT_TRUE(partition.one_way);
  EXPECT_EQ(partition.duration_ns, 1500 * kMillisecond);
  EXPECT_FALSE(std::get<PartitionFault>(plan->faults[4].params).one_way);
  EXPECT_EQ(std::get<PartitionFault>(plan->faults[4].params).duration_ns, 1);  // 0.000001 ms
  EXPECT_EQ(plan->faults[5].params,
            FaultParams(ClogFault{.node = 2, .link = std::nullopt, .duration_ns = 250 * kMillisecond}));
  EXPECT_EQ(plan->faults[6].params,
            FaultParams(ClogFault{.node = std::nullopt, .link = NodePair{1, 0}, .duration_ns = 250 * kMillisecond}));
  EXPECT_EQ(plan->faults[7].params, FaultParams(ResetFault{.link = {0, 2}}));
  EXPECT_EQ(plan->faults[8].params,
            FaultParams(LatencyFault{.extra_latency_ns = 40 * kMillisecond, .duration_ns = kSecond}));
  EXPECT_EQ(plan->faults[9].params,
            FaultParams(StorageFault{.error_rate = 0.1, .loss_rate = 0, .duration_ns = 3 * kSecond}));
  EXPECT_EQ(plan->faults[10].params, FaultParams(BuggifyFault{.sites = {"directory.drop_lease", "store.slow_ack"}}));
  EXPECT_EQ(plan->faults[11], (ScheduledFault{.at_ns = 1100 * kMillisecond, .params = SuspectFault{.process = 2}}));
  EXPECT_EQ(plan->faults[12].params,
            FaultParams(GpuThrottleFault{.gpu = {.node = 1, .device = 3}, .slowdown = 2.5, .duration_ns = 400 * kMillisecond}));
  EXPECT_EQ(plan->faults[13].params, FaultParams(GpuMemoryFault{
                                         .gpu = {.node = 0, .device = 1}, .bytes = int64_t{4} << 30, .duration_ns = 600 * kMillisecond}));
  EXPECT_EQ(plan->faults[14].params, FaultParams(GpuLossFault{.gpu = {.node = 2, .device = 0}}));
  for (size_t i = 0; i < kFaultKindCount; ++i) {
    bool seen = false;
    for (const ScheduledFault& fault : plan->faults) seen = seen || fault.kind() == kAllFaultKinds[i];
    EXPECT_TRUE(seen) << fault_kind_name(kAllFaultKinds[i]);
  }
  ASSERT_TRUE(plan->generator.has_value());
  EXPECT_EQ(plan->generator->kinds,
            (std::set<FaultKind>{FaultKind::kCrash, FaultKind::kPartition, FaultKind::kStorage}));
  EXPECT_EQ(plan->generator->intensity_per_s.at(FaultKind::kPartition), 0.25);
  EXPECT_EQ(plan->generator->fault_window_ns, 10 * kSecond);
  EXPECT_EQ(plan->generator->quiet_ns, 5 * kSecond);
  EXPECT_EQ(plan->generator->deadline_ns, 30 * kSecond);
}

TEST(ParsePlan, FractionalMillisecondsConvertExactly) {
  const auto at = [](std::string_view ms) {
    absl::StatusOr<FaultPlan> plan =
        parse_plan(with_fault(fmt::format(R"({{"at_ms": {}, "kind": "crash", "process": 0}})", ms)), "p");
    EXPECT_TRUE(plan.ok()) << plan.status();
    return plan.ok() ? plan->faults[0].at_ns : -1;
  };
  EXPECT_EQ(at("0.3"), 300'000);  // 0.3 * 1e6 is 299999.99999999994 in doubles
  EXPECT_EQ(at("1.000001"), 1'000'001);
  EXPECT_EQ(at("1e3"), kSecond);
  EXPECT_EQ(at("123456789.000001"), 123'456'789'000'001);
  EXPECT_EQ(at("-0.0"), 0);
  EXPECT_EQ(at("1000000000"), kPlanTimeMaxNs);
}

TEST(PlanToJson, RoundTripsEveryKind) {
  const absl::StatusOr<FaultPlan> plan = parse_plan(kEveryKind, "plan.json");
  ASSERT_TRUE(plan.ok()) << plan.status();
  const std::string text = plan_to_json(*plan);
  const absl::StatusOr<FaultPlan> again = parse_plan(text, "again.json");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << text;
  EXPECT_EQ(*again, *plan);
  EXPECT_EQ(plan_to_json(*again), text);
  EXPECT_TRUE(validate_plan(*plan, "plan").ok());
}

TEST(PlanToJson, WritesAStableLayout) {
  FaultPlan plan;
  plan.faults.push_back({.at_ns = 1'500'000, .params = CrashFault{.process = 2}});
  plan.faults.push_back(
      {.at_ns = 1, .params = PartitionFault{.sides = {{0}, {1, 2}}, .one_way = false, .duration_ns = 2 * kSecond}});
  EXPECT_EQ(
      plan_to_json(plan),
      "{\n"
      "  \"version\": 1,\n"
      "  \"faults\": [\n"
      "    {\"at_ms\":1.5,\"kind\":\"crash\",\"process\":2},\n"
      "    {\"at_ms\":1e-06,\"kind\":\"partition\",\"sides\":[[0],[1,2]],\"one_way\":false,\"duration_ms\":2000}\n"
      "  ]\n"
      "}\n");
  EXPECT_EQ(plan_to_json(FaultPlan{}), "{\n  \"version\": 1,\n  \"faults\": []\n}\n");
}

TEST(ValidatePlan, RejectsPlansBuiltWrongInCode) {
  FaultPlan unsorted;
  unsorted.faults.push_back(
      {.at_ns = 0, .params = PartitionFault{.sides = {{2, 0}, {1}}, .one_way = false, .duration_ns = 1}});
  EXPECT_EQ(validate_plan(unsorted, "code").code(), absl::StatusCode::kInternal);
  FaultPlan negative;
  negative.faults.push_back({.at_ns = -5 * kMillisecond, .params = CrashFault{}});
  EXPECT_EQ(message_of(validate_plan(negative, "code")), "code: faults[0].at_ms: must not be negative (got -5)");
}

TEST(ParsePlan, ErrorsNameTheFileTheFieldAndTheReason) {
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "latency", "extra_latency_ms": 3, "duration_ms": -5})")),
            "plan.json: faults[0].duration_ms: must not be negative (got -5)");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "flood"})")),
            "plan.json: faults[0].kind: unknown fault kind 'flood' (expected crash, node_crash, partition, clog, "
            "reset, latency, storage, buggify, suspect, gpu_throttle, gpu_memory or gpu_loss)");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "crash", "proces": 2})")),
            "plan.json: faults[0].proces: unknown key in a crash fault (expected at_ms, kind or process)");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "partition", "sides": [[0], [1]]})")),
            "plan.json: faults[0].duration_ms: missing required field of a partition fault");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "process": 2})")),
            "plan.json: faults[0].kind: missing required field of a fault");
  EXPECT_EQ(plan_error(R"({"version": 2, "faults": []})"),
            "plan.json: version: unsupported plan version 2 (this build reads version 1)");
  EXPECT_EQ(plan_error(R"({"faults": []})"), "plan.json: version: missing required field of a plan");
  EXPECT_EQ(plan_error(R"({"version": 1, "faults": [], "generater": {}})"),
            "plan.json: generater: unknown key in a plan (expected version, scenario, seed, expect, generator, "
            "faults or schedule)");
  EXPECT_EQ(plan_error("[1, 2]"), "plan.json: top level: must be an object (got [1,2])");
}

TEST(ParsePlan, ScenarioSeedAndScheduleRoundTripInAFixedLayout) {
  const absl::StatusOr<FaultPlan> plan = parse_plan(
      R"({"schedule": {"decisions": [[3, 1], [17, 2]]}, "faults": [{"at_ms": 5, "kind": "crash", "process": 1}],
          "seed": 18446744073709551615, "scenario": "counter.bug_lost_increment", "version": 1})",
      "plan.json");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->scenario, "counter.bug_lost_increment");
  EXPECT_EQ(plan->seed, uint64_t{18446744073709551615u});
  ASSERT_TRUE(plan->schedule.has_value());
  EXPECT_EQ(plan->schedule->choices,
            (std::vector<sim::GuidedChoice>{{.decision = 3, .choice = 1}, {.decision = 17, .choice = 2}}));
  EXPECT_EQ(plan_to_json(*plan),
            "{\n"
            "  \"version\": 1,\n"
            "  \"scenario\": \"counter.bug_lost_increment\",\n"
            "  \"seed\": 18446744073709551615,\n"
            "  \"faults\": [\n"
            "    {\"at_ms\":5,\"kind\":\"crash\",\"process\":1}\n"
            "  ],\n"
            "  \"schedule\": {\"decisions\": [[3,1],[17,2]]}\n"
            "}\n");
  EXPECT_TRUE(validate_plan(*plan, "plan.json").ok());
  // An empty schedule section is a schedule too: every decision takes the oldest item.
  FaultPlan empty{.schedule = sim::GuidedSchedule{}};
  EXPECT_EQ(plan_to_json(empty), "{\n  \"version\": 1,\n  \"faults\": [],\n  \"schedule\": {\"decisions\": []}\n}\n");
  EXPECT_EQ(parse_plan(plan_to_json(empty), "plan.json").value(), empty);
}

TEST(ParsePlan, ScheduleAndRunErrorsNameTheField) {
  const auto with_schedule = [](std::string_view decisions) {
    return R"({"version": 1, "faults": [], "schedule": {"decisions": )" + std::string(decisions) + "}}";
  };
  EXPECT_EQ(plan_error(with_schedule("[[3, 1], [3, 2]]")),
            "plan.json: schedule.decisions[1][0]: must be above the previous decision number 3 (got 3)");
  EXPECT_EQ(plan_error(with_schedule("[[0, 1]]")),
            "plan.json: schedule.decisions[0][0]: must be a decision number, an integer from 1 to 1099511627776 "
            "(got 0)");
  EXPECT_EQ(plan_error(with_schedule("[[4, -1]]")),
            "plan.json: schedule.decisions[0][1]: must be an index into the ready list, an integer from 0 to 1000000 "
            "(got -1)");
  EXPECT_EQ(plan_error(with_schedule("[[4, 1, 2]]")),
            "plan.json: schedule.decisions[0]: must be a [decision, choice] pair (got [4,1,2])");
  EXPECT_EQ(plan_error(with_schedule("{}")),
            "plan.json: schedule.decisions: must be an array of [decision, choice] pairs (got {})");
  EXPECT_EQ(plan_error(R"({"version": 1, "faults": [], "schedule": {"default": "fifo"}})"),
            "plan.json: schedule.default: unknown key in the schedule (expected decisions)");
  EXPECT_EQ(plan_error(R"({"version": 1, "faults": [], "seed": -3})"),
            "plan.json: seed: must be a seed, an integer from 0 to 2^64-1 (got -3)");
  EXPECT_EQ(plan_error(R"({"version": 1, "faults": [], "scenario": ""})"),
            "plan.json: scenario: must be a scenario name, a string of 1 to 256 bytes (got \"\")");
}

TEST(ParsePlan, ExpectSectionRoundTripsInAFixedLayout) {
  const absl::StatusOr<FaultPlan> failing = parse_plan(
      R"({"faults": [], "expect": {"failure": "always 'x' failed: got 2\nwanted \"3\"", "match": "check",
          "outcome": "fail"}, "seed": 7, "scenario": "counter.bug_lost_increment", "version": 1})",
      "plan.json");
  ASSERT_TRUE(failing.ok()) << failing.status();
  ASSERT_TRUE(failing->expect.has_value());
  EXPECT_EQ(*failing->expect, (Expectation{.outcome = ExpectedOutcome::kFail, .match = FailureMatch::kCheck,
                                           .failure = "always 'x' failed: got 2\nwanted \"3\""}));
  EXPECT_EQ(plan_to_json(*failing),
            "{\n"
            "  \"version\": 1,\n"
            "  \"scenario\": \"counter.bug_lost_increment\",\n"
            "  \"seed\": 7,\n"
            "  \"expect\": {\"outcome\":\"fail\",\"match\":\"check\",\"failure\":\"always 'x' failed: got 2\\nwanted "
            "\\\"3\\\"\"},\n"
            "  \"faults\": []\n"
            "}\n");
  EXPECT_EQ(parse_plan(plan_to_json(*failing), "plan.json").value(), *failing);
  EXPECT_TRUE(validate_plan(*failing, "plan.json").ok());

  const absl::StatusOr<FaultPlan> passing =
      parse_plan(R"({"version": 1, "faults": [], "expect": {"outcome": "pass"}})", "plan.json");
  ASSERT_TRUE(passing.ok()) << passing.status();
  EXPECT_EQ(passing->expect, Expectation{.outcome = ExpectedOutcome::kPass});
  EXPECT_EQ(plan_to_json(*passing), "{\n  \"version\": 1,\n  \"expect\": {\"outcome\":\"pass\"},\n  \"faults\": []\n}\n");
  EXPECT_EQ(parse_plan(plan_to_json(*passing), "plan.json").value(), *passing);
  // Without the section there is no expectation (not an expected pass).
  EXPECT_FALSE(parse_plan(R"({"version": 1, "faults": []})", "plan.json").value().expect.has_value());

  // The longest failure text the limit allows round-trips.
  FaultPlan longest{.expect = Expectation{.outcome = ExpectedOutcome::kFail, .match = FailureMatch::kMessage,
                                          .failure = std::string(kPlanFailureBytesMax, 'x')}};
  EXPECT_TRUE(validate_plan(longest, "plan.json").ok());
}

TEST(ParsePlan, ExpectErrorsNameTheFieldAndRejectInconsistentCombinations) {
  const auto with_expect = [](std::string_view expect) {
    return R"({"version": 1, "faults": [], "expect": )" + std::string(expect) + "}";
  };
  EXPECT_EQ(plan_error(with_expect(R"("pass")")), "plan.json: expect: must be an object (got \"pass\")");
  EXPECT_EQ(plan_error(with_expect("{}")), "plan.json: expect.outcome: missing required field of the expect section");
  EXPECT_EQ(plan_error(with_expect(R"({"outcome": "passes"})")),
            "plan.json: expect.outcome: must be \"pass\" or \"fail\" (got \"passes\")");
  EXPECT_EQ(plan_error(with_expect(R"({"outcome": true})")),
            "plan.json: expect.outcome: must be \"pass\" or \"fail\" (got true)");
  EXPECT_EQ(plan_error(with_expect(R"({"outcome": "pass", "hash": 3})")),
            "plan.json: expect.hash: unknown key in the expect section (expected outcome, match or failure)");
  EXPECT_EQ(plan_error(with_expect(R"({"outcome": "pass", "failure": "x"})")),
            "plan.json: expect.failure: an expected pass has no failure to match (remove the field, or expect "
            "\"fail\")");
  EXPECT_EQ(plan_error(with_expect(R"({"outcome": "pass", "match": "message"})")),
            "plan.json: expect.match: an expected pass has no failure to match (remove the field, or expect "
            "\"fail\")");
  EXPECT_EQ(plan_error(with_expect(R"({"outcome": "fail", "failure": "x"})")),
            "plan.json: expect.match: missing required field of the expect section");
  EXPECT_EQ(plan_error(with_expect(R"({"outcome": "fail", "match": "check"})")),
            "plan.json: expect.failure: missing required field of the expect section");
  EXPECT_EQ(plan_error(with_expect(R"({"outcome": "fail", "match": "exact", "failure": "x"})")),
            "plan.json: expect.match: must be \"message\" or \"check\" (got \"exact\")");
  EXPECT_EQ(plan_error(with_expect(R"({"outcome": "fail", "match": "message", "failure": ""})")),
            "plan.json: expect.failure: must be the failure text, a non-empty string (got \"\")");
  EXPECT_EQ(plan_error(with_expect(R"({"outcome": "fail", "match": "message", "failure": ["x"]})")),
            "plan.json: expect.failure: must be the failure text, a non-empty string (got [\"x\"])");
  const std::string too_long(kPlanFailureBytesMax + 1, 'x');
  EXPECT_EQ(plan_error(with_expect(R"({"outcome": "fail", "match": "message", "failure": ")" + too_long + "\"}")),
            "plan.json: expect.failure: is 65537 bytes; the limit is 65536");
  EXPECT_EQ(plan_error(R"({"version": 1, "faults": [], "expect": {"outcome": "pass"}, "expect": {"outcome": "pass"}})"),
            "plan.json: expect: duplicate key (a key may appear only once in an object)");
}

TEST(ValidatePlan, RejectsExpectationsTheFormatCannotHold) {
  // Built in code: a pass with a failure text would lose it when written.
  const FaultPlan pass_with_text{.expect = Expectation{.outcome = ExpectedOutcome::kPass, .failure = "x"}};
  EXPECT_EQ(validate_plan(pass_with_text, "out.json").code(), absl::StatusCode::kInternal);
  // A failure with no text is not a valid expect section.
  const FaultPlan fail_without_text{.expect = Expectation{.outcome = ExpectedOutcome::kFail}};
  EXPECT_EQ(message_of(validate_plan(fail_without_text, "out.json")),
            "out.json: expect.failure: must be the failure text, a non-empty string (got \"\")");
  // A failure text that is not UTF-8 is written with U+FFFD, so it does not round-trip.
  const FaultPlan not_utf8{.expect = Expectation{.outcome = ExpectedOutcome::kFail, .failure = "bad \xff byte"}};
  EXPECT_EQ(message_of(validate_plan(not_utf8, "out.json")),
            "out.json: the plan changes when written and read back (unsorted partition sides or buggify sites, or "
            "an expected failure that is not UTF-8?)");
  EXPECT_EQ(failure_match_name(FailureMatch::kCheck), "check");
  EXPECT_EQ(expected_outcome_name(ExpectedOutcome::kFail), "fail");
}

TEST(ParsePlan, SyntaxErrorsGiveLineAndColumn) {
  EXPECT_EQ(plan_error("{\n  \"version\": 1,\n  \"faults\" []\n}"),
            "plan.json: line 3 column 12: JSON syntax error: syntax error while parsing object separator - "
            "unexpected '['; expected ':'");
  EXPECT_EQ(plan_error("{\"version\": 1,}"),
            "plan.json: line 1 column 15: JSON syntax error: syntax error while parsing object key - unexpected "
            "'}'; expected string literal");
  EXPECT_EQ(plan_error(""),
            "plan.json: line 1 column 1: JSON syntax error: syntax error while parsing value - "
            "unexpected end of input; expected '[', '{', or a literal");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1e400, "kind": "crash", "process": 0})")),
            "plan.json: JSON syntax error: number overflow parsing '1e400'");
}

TEST(ParsePlan, RejectsDuplicateKeys) {
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "crash", "process": 0, "at_ms": 2})")),
            "plan.json: faults[0].at_ms: duplicate key (a key may appear only once in an object)");
  EXPECT_EQ(plan_error(R"({"version": 1, "version": 1, "faults": []})"),
            "plan.json: version: duplicate key (a key may appear only once in an object)");
  EXPECT_EQ(plan_error(R"({"version": 1, "faults": [], "generator": {"intensity_per_s": {"crash": 1, "crash": 2}}})"),
            "plan.json: generator.intensity_per_s.crash: duplicate key (a key may appear only once in an object)");
}

TEST(ParsePlan, RejectsBadTimes) {
  const auto at_error = [](std::string_view at) {
    return plan_error(with_fault(fmt::format(R"({{"at_ms": {}, "kind": "crash", "process": 0}})", at)));
  };
  EXPECT_EQ(at_error("-0.5"), "plan.json: faults[0].at_ms: must not be negative (got -0.5)");
  EXPECT_EQ(at_error("\"10\""), "plan.json: faults[0].at_ms: must be a number of milliseconds (got \"10\")");
  EXPECT_EQ(at_error("0.0000001"), "plan.json: faults[0].at_ms: must be a whole number of nanoseconds (got 1e-07 ms)");
  EXPECT_EQ(at_error("1000000001"), "plan.json: faults[0].at_ms: must be at most 1000000000 ms (got 1000000001)");
  EXPECT_EQ(at_error("1e300"), "plan.json: faults[0].at_ms: must be at most 1000000000 ms (got 1e+300)");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "clog", "node": 0, "duration_ms": 0})")),
            "plan.json: faults[0].duration_ms: must be positive (got 0)");
}

TEST(ParsePlan, RejectsBadParameters) {
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "crash", "process": 1.5})")),
            "plan.json: faults[0].process: must be an index, an integer from 0 to 65535 (got 1.5)");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "node_crash", "node": -1})")),
            "plan.json: faults[0].node: must be an index, an integer from 0 to 65535 (got -1)");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "partition", "sides": [[0, 1], [1]], "duration_ms": 5})")),
            "plan.json: faults[0].sides: node 1 is on both sides");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "partition", "sides": [[0], []], "duration_ms": 5})")),
            "plan.json: faults[0].sides[1]: must name at least one node");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "partition", "sides": [[0, 0], [1]], "duration_ms": 5})")),
            "plan.json: faults[0].sides[0][1]: node 0 is listed twice");
  EXPECT_EQ(plan_error(with_fault(
                R"({"at_ms": 1, "kind": "partition", "sides": [[0], [1]], "one_way": "yes", "duration_ms": 5})")),
            "plan.json: faults[0].one_way: must be true or false (got \"yes\")");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "clog", "node": 0, "link": [0, 1], "duration_ms": 5})")),
            "plan.json: faults[0].link: a clog fault needs exactly one of node and link");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "clog", "duration_ms": 5})")),
            "plan.json: faults[0].node: a clog fault needs exactly one of node and link");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "reset", "link": [2, 2]})")),
            "plan.json: faults[0].link: must name two different nodes (got [2,2])");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "storage", "error_rate": 1.5, "duration_ms": 5})")),
            "plan.json: faults[0].error_rate: must be a probability, a number from 0 to 1 (got 1.5)");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "storage", "duration_ms": 5})")),
            "plan.json: faults[0].error_rate: a storage fault needs error_rate or loss_rate above 0");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "gpu_throttle", "node": 0, "device": 0, "slowdown": 1,
                                      "duration_ms": 5})")),
            "plan.json: faults[0].slowdown: must be a factor above 1 and at most 1000 (got 1)");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "gpu_throttle", "node": 0, "slowdown": 2, "duration_ms": 5})")),
            "plan.json: faults[0].device: missing required field of a gpu_throttle fault");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "gpu_memory", "node": 0, "device": 0, "bytes": 0.5,
                                      "duration_ms": 5})")),
            "plan.json: faults[0].bytes: must be a whole number of bytes from 1 to 1125899906842624 (got 0.5)");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "gpu_loss", "node": 0, "device": 0, "duration_ms": 5})")),
            "plan.json: faults[0].duration_ms: unknown key in a gpu_loss fault (expected at_ms, kind, node or device)");
  EXPECT_EQ(plan_error(with_fault(R"({"at_ms": 1, "kind": "buggify", "sites": ["a", ""]})")),
            "plan.json: faults[0].sites[1]: must be a site name, a string of 1 to 128 bytes (got \"\")");
}

TEST(ParsePlan, ChecksGeneratorSettings) {
  const auto generator_error = [](std::string_view generator) {
    return plan_error(fmt::format(R"({{"version": 1, "faults": [], "generator": {}}})", generator));
  };
  EXPECT_EQ(
      generator_error(
          R"({"kinds": ["crash"], "intensity_per_s": {}, "fault_window_ms": 1, "quiet_ms": 1, "deadline_ms": 2})"),
      "plan.json: generator.intensity_per_s.crash: missing: every enabled kind needs an intensity");
  EXPECT_EQ(
      generator_error(
          R"({"kinds": [], "intensity_per_s": {"clog": 1}, "fault_window_ms": 1, "quiet_ms": 1, "deadline_ms": 2})"),
      "plan.json: generator.intensity_per_s.clog: kind 'clog' is not in generator.kinds");
  EXPECT_EQ(
      generator_error(
          R"({"kinds": ["crash"], "intensity_per_s": {"crash": 0}, "fault_window_ms": 1, "quiet_ms": 1, "deadline_ms": 2})"),
      "plan.json: generator.intensity_per_s.crash: must be a number of faults per second above 0 and at most "
      "1000000 (got 0)");
  EXPECT_EQ(
      generator_error(
          R"({"kinds": ["crash", "crash"], "intensity_per_s": {}, "fault_window_ms": 1, "quiet_ms": 1, "deadline_ms": 2})"),
      "plan.json: generator.kinds[1]: kind 'crash' is listed twice");
  EXPECT_EQ(
      generator_error(
          R"({"kinds": [], "intensity_per_s": {}, "fault_window_ms": 10000, "quiet_ms": 5000, "deadline_ms": 12000})"),
      "plan.json: generator.deadline_ms: must be at least fault_window_ms + quiet_ms = 15000 ms (got 12000 ms)");
  EXPECT_EQ(generator_error(R"({"kinds": [], "intensity_per_s": {}, "fault_window_ms": 1, "quiet_ms": 1})"),
            "plan.json: generator.deadline_ms: missing required field of the generator settings");
}

TEST(ParsePlan, WithGeneratorSettingsFaultsStayInsideTheWindow) {
  constexpr std::string_view kGenerator =
      R"("generator": {"kinds": [], "intensity_per_s": {}, "fault_window_ms": 1000, "quiet_ms": 0, "deadline_ms": 2000})";
  EXPECT_EQ(plan_error(fmt::format(
                R"({{"version": 1, {}, "faults": [{{"at_ms": 1000, "kind": "crash", "process": 0}}]}})", kGenerator)),
            "plan.json: faults[0].at_ms: 1000 ms is outside the generator's fault window [0, 1000 ms)");
  EXPECT_EQ(
      plan_error(fmt::format(
          R"({{"version": 1, {}, "faults": [{{"at_ms": 900, "kind": "node_crash", "node": 0, "reboot_after_ms": 100.5}}]}})",
          kGenerator)),
      "plan.json: faults[0].reboot_after_ms: the fault ends at 1000.5 ms, after the generator's fault window (1000 "
      "ms)");
  EXPECT_TRUE(
      parse_plan(
          fmt::format(
              R"({{"version": 1, {}, "faults": [{{"at_ms": 900, "kind": "clog", "node": 0, "duration_ms": 100}}]}})",
              kGenerator),
          "p")
          .ok());
}

TEST(LoadPlan, ReadsAFileAndNamesItInErrors) {
  const std::string path = testing::TempDir() + "/fault_plan_test_plan.json";
  {
    std::ofstream file(path);
    file << with_fault(R"({"at_ms": 1, "kind": "crash", "process": -5})");
  }
  EXPECT_EQ(message_of(load_plan(path).status()),
            path + ": faults[0].process: must be an index, an integer from 0 to 65535 (got -5)");
  {
    std::ofstream file(path);
    file << kEveryKind;
  }
  const absl::StatusOr<FaultPlan> plan = load_plan(path);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->faults.size(), 15u);
  std::remove(path.c_str());
  EXPECT_EQ(load_plan(path).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(message_of(load_plan(path).status()), path + ": cannot open: No such file or directory");
  EXPECT_EQ(message_of(load_plan(testing::TempDir()).status()),
            testing::TempDir() + ": is a directory, not a plan file");
}

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  EXPECT_TRUE(file.good()) << path;
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST(DocsExamples, EveryJsonBlockOfTheFormatDocIsAValidPlan) {
  const std::string doc = read_file(TROUPE_FAULT_PLANS_DOC);
  size_t blocks = 0;
  for (size_t at = doc.find("```json\n"); at != std::string::npos; at = doc.find("```json\n", at)) {
    const size_t begin = at + 8;
    const size_t end = doc.find("```", begin);
    ASSERT_NE(end, std::string::npos);
    const std::string block = doc.substr(begin, end - begin);
    const absl::StatusOr<FaultPlan> plan = parse_plan(block, fmt::format("docs block {}", blocks));
    EXPECT_TRUE(plan.ok()) << plan.status() << "\n" << block;
    if (plan.ok()) {
      EXPECT_FALSE(plan->faults.empty()) << block;
    }
    ++blocks;
    at = end + 3;
  }
  EXPECT_EQ(blocks, 15u);  // the first example, one per kind, the generator's, the schedule and expect sections'
}

TEST(DocsExamples, EveryExamplePlanLoadsAndRoundTrips) {
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(TROUPE_FAULTS_EXAMPLES_DIR)) {
    paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  ASSERT_GE(paths.size(), 3u);
  for (const std::string& path : paths) {
    const absl::StatusOr<FaultPlan> plan = load_plan(path);
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_EQ(parse_plan(plan_to_json(*plan), path).value(), *plan) << path;
  }
}

}  // namespace
}  // namespace troupe::faults
