// The HTML timeline (tools/troupe/html_timeline.h): lanes, spans, arrows and marks built from
// handmade traces with exact expected values, escaping of the embedded data, the page's
// self-containment, the item limit, and `troupe replay --html` (in-process, local registry).
// tests/cli/html_timeline_render.sh renders a real page in headless Chromium.
#include "tools/troupe/html_timeline.h"

#include <atomic>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/troupe.h"
#include "tests/cli/cli_test_util.h"
#include "tools/troupe/args.h"

namespace troupe::cli {
namespace {

using scenarios::Checks;
using scenarios::Registry;
using testing::CliResult;
using testing::run_cli_captured;

// Events numbered in order, as Trace::record would.
std::vector<TraceEvent> numbered(std::vector<TraceEvent> events) {
  for (size_t i = 0; i < events.size(); ++i) events[i].number = i;
  return events;
}

constexpr ProcessId kDirectory{1};
constexpr ProcessId kDriver{2};
constexpr ProcessId kWorker{3};
constexpr ProcessId kWorker2{4};
constexpr ActorId kActor{2, 1};
constexpr ActorId kNeverPlaced{2, 2};

// A small run: directory, driver, one actor on p3 (restarted on p4), one actor never placed, a
// network fault with no process, a call, three messages, and the failing check.
std::vector<TraceEvent> small_run() {
  return numbered({
      {.time = 0, .kind = TraceKind::kProcessStart, .node = {0}, .process = kDirectory, .detail = "directory"},
      {.time = 0, .kind = TraceKind::kProcessStart, .node = {0}, .process = kDriver, .detail = "driver"},
      {.time = 0, .kind = TraceKind::kFiberSpawn, .node = {0}, .process = kDriver, .detail = "driver"},
      {.time = 10, .kind = TraceKind::kSend, .process = kDriver, .peer = kDirectory, .bytes = 100},
      {.time = 10, .kind = TraceKind::kSend, .process = kDriver, .peer = kDirectory, .bytes = 50},
      {.time = 20, .kind = TraceKind::kDeliver, .process = kDirectory, .peer = kDriver, .bytes = 50},
      {.time = 20, .kind = TraceKind::kActorCreate, .process = kDirectory, .actor = kActor,
       .detail = "Counter cpus=1 name='' ns='default'"},
      {.time = 21, .kind = TraceKind::kActorCreate, .process = kDirectory, .actor = kNeverPlaced,
       .detail = "pending: no node has 64 CPUs"},
      {.time = 22, .kind = TraceKind::kProcessStart, .node = {1}, .process = kWorker, .detail = "a2.1 Counter"},
      {.time = 23, .kind = TraceKind::kActorAlive, .node = {1}, .process = kWorker, .actor = kActor,
       .detail = "Counter Counter(value=0)"},
      {.time = 30, .kind = TraceKind::kCallStart, .node = {1}, .process = kWorker, .peer = kDriver, .actor = kActor,
       .call = ObjectId{2, 3}.packed(), .detail = "increment"},
      {.time = 31, .kind = TraceKind::kCallStart, .node = {1}, .process = kWorker, .peer = kDriver, .actor = kActor,
       .call = ObjectId{2, 4}.packed(), .detail = "get"},
      {.time = 35, .kind = TraceKind::kCallEnd, .node = {1}, .process = kWorker, .peer = kDriver, .actor = kActor,
       .call = ObjectId{2, 3}.packed(), .detail = "ok"},
      {.time = 36, .kind = TraceKind::kSend, .process = kWorker, .peer = kDriver, .bytes = 7, .detail = "resent"},
      {.time = 36, .kind = TraceKind::kDrop, .process = kWorker, .peer = kDriver, .bytes = 7, .detail = "partitioned"},
      {.time = 37, .kind = TraceKind::kFault, .detail = "partition {n0} | {n1}"},
      {.time = 40, .kind = TraceKind::kProcessExit, .node = {1}, .process = kWorker, .detail = "crashed by a fault"},
      {.time = 41, .kind = TraceKind::kActorDead, .process = kDirectory, .actor = kActor,
       .detail = "restarting as incarnation 1: its worker crashed"},
      {.time = 45, .kind = TraceKind::kProcessStart, .node = {2}, .process = kWorker2, .detail = "a2.1 Counter"},
      {.time = 46, .kind = TraceKind::kActorAlive, .node = {2}, .process = kWorker2, .actor = kActor,
       .detail = "Counter Counter(value=0)"},
      {.time = 50, .kind = TraceKind::kCheck, .process = kDriver, .detail = "sometimes 'x' held"},
      {.time = 60, .kind = TraceKind::kCheck, .process = kDriver, .detail = "always 'count' failed: got 1, expected 2"},
  });
}

const HtmlRunSummary kFailed{.title = "small seed 1", .command = "troupe replay small --seed 1", .passed = false,
                             .failure = "always 'count' failed: got 1, expected 2", .end_time = 70,
                             .trace_hash = 0x1234, .simulated = true};

std::vector<std::string> lane_names(const Timeline& timeline) {
  std::vector<std::string> names;
  for (const TimelineLane& lane : timeline.lanes) names.push_back(lane.kind + ":" + lane.name + "@" + lane.node);
  return names;
}

TEST(HtmlTimeline, LanesAreClusterThenEachProcessFollowedByTheActorsItHostedFirst) {
  const Timeline timeline = build_timeline(small_run(), kFailed);
  EXPECT_EQ(lane_names(timeline), (std::vector<std::string>{
                                      "cluster:cluster@", "process:p1 directory@n0", "process:p2 driver@n0",
                                      "process:p3 a2.1 Counter@n1", "actor:a2.1 Counter@", "process:p4 a2.1 Counter@n2",
                                      "actor:a2.2@"}));
  EXPECT_EQ(timeline.lanes[4].id, "a2.1");
  EXPECT_EQ(timeline.lanes[6].id, "a2.2");
  EXPECT_EQ(timeline.end_time, 70);
  EXPECT_EQ(timeline.events, 22u);
  EXPECT_EQ(timeline.left_out, 0u);
}

TEST(HtmlTimeline, CallsAreSpansOnTheirActorStackedWhenTheyOverlapAndCutWhenTheProcessExits) {
  const Timeline timeline = build_timeline(small_run(), kFailed);
  ASSERT_EQ(timeline.spans.size(), 2u);
  const TimelineSpan& increment = timeline.spans[0];
  EXPECT_EQ(increment.lane, 4u);
  EXPECT_EQ(increment.start, 30);
  EXPECT_EQ(increment.end, 35);
  EXPECT_EQ(increment.row, 0u);
  EXPECT_TRUE(increment.ended);
  EXPECT_EQ(increment.method, "increment");
  EXPECT_EQ(increment.outcome, "ok");
  EXPECT_EQ(increment.call, "o2.3");
  EXPECT_EQ(increment.caller, "p2");
  EXPECT_EQ(increment.start_number, 10u);
  EXPECT_EQ(increment.end_number, 12u);
  const TimelineSpan& get = timeline.spans[1];
  EXPECT_EQ(get.start, 31);
  EXPECT_EQ(get.end, 40);  // its process exited
  EXPECT_EQ(get.row, 1u);
  EXPECT_FALSE(get.ended);
  EXPECT_EQ(get.outcome, "");
}

TEST(HtmlTimeline, DeliveriesMatchTheOldestSendOfTheSameSizeAndDropsTheirSend) {
  const Timeline timeline = build_timeline(small_run(), kFailed);
  ASSERT_EQ(timeline.arrows.size(), 3u);
  const TimelineArrow& first = timeline.arrows[0];  // 100 bytes: never delivered
  EXPECT_EQ(first.status, ArrowStatus::kInFlight);
  EXPECT_EQ(first.from_lane, 2u);
  EXPECT_EQ(first.to_lane, 1u);
  EXPECT_EQ(first.sent, 10);
  EXPECT_EQ(first.arrived, 10);
  EXPECT_EQ(first.end_number, 0u);
  const TimelineArrow& second = timeline.arrows[1];  // 50 bytes: delivered at 20, though sent second
  EXPECT_EQ(second.status, ArrowStatus::kDelivered);
  EXPECT_EQ(second.arrived, 20);
  EXPECT_EQ(second.bytes, 50u);
  EXPECT_EQ(second.send_number, 4u);
  EXPECT_EQ(second.end_number, 5u);
  const TimelineArrow& third = timeline.arrows[2];
  EXPECT_EQ(third.status, ArrowStatus::kDropped);
  EXPECT_EQ(third.from_lane, 3u);
  EXPECT_EQ(third.to_lane, 2u);
  EXPECT_EQ(third.arrived, 36);
  EXPECT_EQ(third.detail, "resent; partitioned");
}

std::vector<std::string> mark_list(const Timeline& timeline) {
  std::vector<std::string> marks;
  for (const TimelineMark& mark : timeline.marks) {
    marks.push_back(fmt::format("{}@{} {} {} #{}", mark.lane, mark.time, mark.style, mark.kind, mark.number));
  }
  return marks;
}

TEST(HtmlTimeline, CrashesRestartsFaultsAndTheFailingCheckAreMarked) {
  const Timeline timeline = build_timeline(small_run(), kFailed);
  EXPECT_EQ(mark_list(timeline), (std::vector<std::string>{
                                     "4@20 create actor_create #6", "6@21 create actor_create #7",
                                     "0@37 fault fault #15", "3@40 exit process_exit #16",
                                     "4@41 restart actor_dead #17", "4@46 alive actor_alive #19",
                                     "2@50 check check #20", "2@60 failure check #21"}));
  ASSERT_TRUE(timeline.failure_mark.has_value());
  EXPECT_EQ(*timeline.failure_mark, 7u);
  std::vector<std::string> bars;
  for (const TimelineBar& bar : timeline.bars) bars.push_back(fmt::format("{} {}..{} {}", bar.lane, bar.start, bar.end, bar.state));
  EXPECT_EQ(bars, (std::vector<std::string>{"4 20..23 pending", "3 22..40 running", "4 23..41 alive",
                                            "4 41..46 restarting", "1 0..70 running", "2 0..70 running",
                                            "5 45..70 running", "4 46..70 alive", "6 21..70 pending"}));
}

TEST(HtmlTimeline, EventsThatMatchNothingBecomeMarksOfTheirOwn) {
  const std::vector<TraceEvent> events = numbered({
      {.time = 5, .kind = TraceKind::kDeliver, .process = kDriver, .peer = kDirectory, .bytes = 9},
      {.time = 6, .kind = TraceKind::kCallEnd, .process = kWorker, .actor = kActor, .call = 7, .detail = "ok"},
      {.time = 7, .kind = TraceKind::kDrop, .process = kDriver, .peer = kWorker, .detail = "malformed"},
      {.time = 8, .kind = TraceKind::kSend, .process = kDriver, .peer = kWorker, .bytes = 3},
      {.time = 9, .kind = TraceKind::kDrop, .process = kDriver, .peer = kWorker, .bytes = 4, .detail = "other size"},
      {.time = 10, .kind = TraceKind::kConnectionLost, .process = kDriver, .peer = kWorker},
  });
  const Timeline timeline = build_timeline(events, {.passed = true});
  EXPECT_EQ(lane_names(timeline), (std::vector<std::string>{"process:p1@n0", "process:p2@n0", "process:p3@n0",
                                                             "actor:a2.1@"}));
  EXPECT_EQ(mark_list(timeline), (std::vector<std::string>{"1@5 deliver deliver #0", "3@6 info call_end #1",
                                                           "1@7 drop drop #2", "1@9 drop drop #4",
                                                           "1@10 lost connection_lost #5"}));
  ASSERT_EQ(timeline.arrows.size(), 1u);
  EXPECT_EQ(timeline.arrows[0].status, ArrowStatus::kInFlight);
  EXPECT_TRUE(timeline.spans.empty());
}

TEST(HtmlTimeline, APassingRunHasNoFailureMarkEvenWithTheSameCheckText) {
  HtmlRunSummary passed = kFailed;
  passed.passed = true;
  const Timeline timeline = build_timeline(small_run(), passed);
  EXPECT_FALSE(timeline.failure_mark.has_value());
  EXPECT_EQ(timeline.marks.back().style, "check");
}

TEST(HtmlTimeline, TheItemLimitLeavesOutLaterEventsAndSaysHowMany) {
  const Timeline timeline = build_timeline(small_run(), kFailed, 3);
  EXPECT_EQ(timeline.spans.size() + timeline.arrows.size() + timeline.marks.size(), 3u);
  EXPECT_EQ(timeline.arrows.size(), 2u);
  EXPECT_EQ(timeline.marks.size(), 1u);
  // 21 drawable events (the fiber spawn is bookkeeping); 6 were taken (two process starts, two
  // sends, the delivery that matched one, the first actor_create), the other 15 left out.
  EXPECT_EQ(timeline.left_out, 15u);
}

TEST(HtmlTimeline, JsonStringsCannotEndTheScriptElement) {
  EXPECT_EQ(html_safe_json_string("</script><!-- \"q\" 'a' & \\ \n"),
            "\"\\u003c/script\\u003e\\u003c!-- \\\"q\\\" 'a' \\u0026 \\\\ \\n\"");
  EXPECT_EQ(html_safe_json_string("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
}

std::string page(const std::vector<TraceEvent>& events, const HtmlRunSummary& summary) {
  std::ostringstream out;
  write_html_timeline(out, events, summary);
  return out.str();
}

size_t count(const std::string& text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(HtmlTimeline, DetailsWithScriptTagsAndQuotesStayData) {
  std::vector<TraceEvent> events = small_run();
  events.push_back({.time = 65, .number = 22, .kind = TraceKind::kUser, .process = kDriver,
                    .detail = "</script><script>alert(\"x\")</script> it's"});
  HtmlRunSummary summary = kFailed;
  summary.title = "<b>\"t\"</b>";
  const std::string html = page(events, summary);
  EXPECT_EQ(count(html, "</script>"), 2u);  // the data element's and the code's own
  EXPECT_EQ(count(html, "<script"), 2u);
  EXPECT_NE(html.find("\"\\u003c/script\\u003e\\u003cscript\\u003ealert(\\\"x\\\")\\u003c/script\\u003e it's\""),
            std::string::npos);
  EXPECT_NE(html.find("<title>&lt;b&gt;&quot;t&quot;&lt;/b&gt; - troupe timeline</title>"), std::string::npos);
  EXPECT_NE(html.find("<div id=\"failure-message\">always &#39;count&#39; failed: got 1, expected 2</div>"),
            std::string::npos);
  EXPECT_NE(html.find("<span id=\"failure-time\">0.000060 ms</span> simulated time<button"), std::string::npos);
}

TEST(HtmlTimeline, ThePageNamesNoExternalResource) {
  const std::string html = page(small_run(), kFailed);
  for (std::string_view external : {"http:", "https:", "src=", "href=", "@import", "url(", "//cdn", "<link"}) {
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  }
  EXPECT_NE(html.find("<style>\n:root { --fail: #d93025; }\n"), std::string::npos);
  EXPECT_NE(html.find("<script type=\"application/json\" id=\"timeline-data\">{\"title\":\"small seed 1\""),
            std::string::npos);
}

TEST(HtmlTimeline, TheSameEventsWriteTheSamePage) {
  EXPECT_EQ(page(small_run(), kFailed), page(small_run(), kFailed));
}

TEST(ReplayHtml, HtmlTakesAFileAndCombinesWithTrace) {
  absl::StatusOr<Command> command =
      parse_command({"replay", "counter", "--seed", "3", "--html", "t.html", "--trace=t.txt"});
  ASSERT_TRUE(command.ok()) << command.status();
  const ReplayCommand& replay = std::get<ReplayCommand>(*command);
  EXPECT_EQ(replay.html_path, "t.html");
  EXPECT_EQ(replay.trace_path, "t.txt");
  EXPECT_EQ(std::get<ReplayCommand>(*parse_command({"replay", "counter", "--seed", "3"})).html_path, "");
}

std::atomic<int> driver_runs{0};

Registry html_registry() {
  Registry registry;
  registry.add({.name = "fails", .summary = "always fails", .driver = [](System&, Checks& checks) {
                  ++driver_runs;
                  checks.always("never <true>", false, "it's \"false\"");
                }});
  return registry;
}

TEST(ReplayHtml, ABadPathIsAUsageErrorBeforeTheRun) {
  const Registry registry = html_registry();
  driver_runs = 0;
  const CliResult result =
      run_cli_captured({"replay", "fails", "--seed", "1", "--html", "/nonexistent-dir/t.html"}, registry);
  EXPECT_EQ(result.code, kExitUsage);
  EXPECT_EQ(result.err, "troupe: cannot write the HTML timeline '/nonexistent-dir/t.html'\n");
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(driver_runs, 0);
}

TEST(ReplayHtml, AFailingReplayWritesThePageWithItsFailureAndSaysWhere) {
  const Registry registry = html_registry();
  const std::string path = ::testing::TempDir() + "replay_fails.html";
  const CliResult result = run_cli_captured({"replay", "fails", "--seed", "1", "--html", path}, registry);
  EXPECT_EQ(result.code, kExitFailed);
  EXPECT_NE(result.out.find(fmt::format("\nhtml: {}\n", path)), std::string::npos) << result.out;
  const std::string html = testing::read_file(path);
  EXPECT_NE(html.find("<div id=\"failure-message\">always &#39;never &lt;true&gt;&#39; failed: it&#39;s "
                      "&quot;false&quot;</div>"),
            std::string::npos);
  EXPECT_NE(html.find("<h1>fails seed 1</h1>"), std::string::npos);
  EXPECT_NE(html.find("\"failure\":\"always 'never \\u003ctrue\\u003e' failed: it's \\\"false\\\"\""),
            std::string::npos);
  EXPECT_EQ(html.find("(the end of the run)"), std::string::npos);  // the check event was found
  const CliResult again = run_cli_captured({"replay", "fails", "--seed", "1", "--html", path + "2"}, registry);
  EXPECT_EQ(again.code, kExitFailed);
  EXPECT_EQ(testing::read_file(path + "2"), html);
}

}  // namespace
}  // namespace troupe::cli
