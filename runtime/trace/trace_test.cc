#include "runtime/trace/trace.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <limits>
#include <sstream>
#include <string_view>
#include <vector>

#include "runtime/trace/json.h"
#include "runtime/trace/trace_sinks.h"

namespace troupe {
namespace {

// A minimal strict JSON (RFC 8259) validator, so the tests need no JSON library.
class JsonValidator {
 public:
  static bool valid(std::string_view text) {
    JsonValidator v(text);
    return v.value() && (v.skip_space(), v.pos_ == text.size());
  }

 private:
  explicit JsonValidator(std::string_view text) : text_(text) {}

  void skip_space() {
    while (pos_ < text_.size() && std::strchr(" \t\r\n", text_[pos_]) != nullptr) pos_ += 1;
  }
  bool eat(char c) {
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != c) return false;
    pos_ += 1;
    return true;
  }
  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  bool value() {
    skip_space();
    if (pos_ >= text_.size()) return false;
    switch (text_[pos_]) {
      case '{': return sequence('}', true);
      case '[': return sequence(']', false);
      case '"': return string();
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: return number();
    }
  }
  // An object or array after its opening bracket: members separated by single commas.
  bool sequence(char close, bool object) {
    pos_ += 1;
    if (eat(close)) return true;
    do {
      if (object && !(skip_space(), string()) ) return false;
      if (object && !eat(':')) return false;
      if (!value()) return false;
    } while (eat(','));
    return eat(close);
  }
  bool string() {
    if (pos_ >= text_.size() || text_[pos_] != '"') return false;
    for (pos_ += 1; pos_ < text_.size(); pos_ += 1) {
      const unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') return pos_ += 1, true;
      if (c < 0x20) return false;
      if (c != '\\') continue;
      pos_ += 1;
      if (pos_ >= text_.size()) return false;
      if (text_[pos_] == 'u') {
        for (int i = 0; i < 4; ++i) {
          pos_ += 1;
          if (pos_ >= text_.size() || !std::isxdigit(static_cast<unsigned char>(text_[pos_]))) return false;
        }
      } else if (std::strchr("\"\\/bfnrt", text_[pos_]) == nullptr) {
        return false;
      }
    }
    return false;
  }
  bool digits() {
    const size_t start = pos_;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) pos_ += 1;
    return pos_ > start;
  }
  bool number() {
    if (pos_ < text_.size() && text_[pos_] == '-') pos_ += 1;
    if (pos_ < text_.size() && text_[pos_] == '0') {
      pos_ += 1;
    } else if (!digits()) {
      return false;
    }
    if (pos_ < text_.size() && text_[pos_] == '.' && (pos_ += 1, !digits())) return false;
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      pos_ += 1;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) pos_ += 1;
      if (!digits()) return false;
    }
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

TEST(TraceJsonValidatorTest, AcceptsJsonAndRejectsNearMisses) {
  EXPECT_TRUE(JsonValidator::valid(R"({"a":[1,-2.5e3,"x\n\u00e9",true,null,{}],"b":{}})"));
  EXPECT_TRUE(JsonValidator::valid("{\"traceEvents\":[\n]}\n"));
  EXPECT_FALSE(JsonValidator::valid(R"({"a":1,})"));
  EXPECT_FALSE(JsonValidator::valid(R"([1,,2])"));
  EXPECT_FALSE(JsonValidator::valid(R"({"a":1)"));
  EXPECT_FALSE(JsonValidator::valid(R"({"a":1}})"));
  EXPECT_FALSE(JsonValidator::valid("\"tab\there\""));
  EXPECT_FALSE(JsonValidator::valid(R"("\x")"));
  EXPECT_FALSE(JsonValidator::valid("01"));
}

// The events of a tiny run: a driver on n0 calls an actor on n1 whose process then dies.
std::vector<TraceEvent> sample_events() {
  return {
      {.time = 0, .kind = TraceKind::kProcessStart, .node = {0}, .process = {1}, .detail = "driver"},
      {.time = 1'000, .kind = TraceKind::kProcessStart, .node = {1}, .process = {3}, .detail = "worker"},
      {.time = 2'500, .kind = TraceKind::kActorAlive, .node = {1}, .process = {3}, .actor = {1, 2},
       .detail = "Counter(value=0)"},
      {.time = 1'250'000, .kind = TraceKind::kSend, .node = {0}, .process = {1}, .peer = {3}, .actor = {1, 2},
       .call = ObjectId{1, 4}.packed(), .detail = "call Counter.increment"},
      {.time = 1'500'000, .kind = TraceKind::kDeliver, .node = {1}, .process = {3}, .peer = {1}, .actor = {1, 2},
       .call = ObjectId{1, 4}.packed(), .detail = "call Counter.increment"},
      {.time = 1'600'000, .kind = TraceKind::kCallStart, .node = {1}, .process = {3}, .actor = {1, 2},
       .call = ObjectId{1, 4}.packed(), .detail = "Counter.increment"},
      {.time = 1'700'000, .kind = TraceKind::kCallEnd, .node = {1}, .process = {3}, .actor = {1, 2},
       .call = ObjectId{1, 4}.packed(), .detail = "ok"},
      {.time = 2'000'000, .kind = TraceKind::kCallStart, .node = {1}, .process = {3}, .actor = {1, 2},
       .call = ObjectId{1, 5}.packed(), .detail = "Counter.crash"},
      {.time = 2'100'000, .kind = TraceKind::kProcessExit, .node = {1}, .process = {3}, .detail = "killed"},
  };
}

// Records `events` into a Trace with one sink of `format` and returns what the sink wrote.
std::string export_events(TraceFormat format, std::vector<TraceEvent> events) {
  std::ostringstream out;
  Trace trace;
  trace.add_sink(make_trace_sink(format, out));
  for (TraceEvent& event : events) trace.record(std::move(event));
  trace.finish();
  return out.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// --- hash ---------------------------------------------------------------------------------

// The documented algorithm, written out over an explicit byte layout.
uint64_t reference_hash(uint64_t hash, const TraceEvent& e) {
  std::vector<uint64_t> words = {static_cast<uint64_t>(e.time),
                                 static_cast<uint64_t>(e.kind) + uint64_t{e.node.value} * 256,
                                 e.process.value + uint64_t{e.peer.value} * (uint64_t{1} << 32),
                                 e.actor.creator + uint64_t{e.actor.index} * (uint64_t{1} << 32),
                                 e.call,
                                 e.bytes,
                                 e.detail.size()};
  std::string padded = e.detail + std::string((8 - e.detail.size() % 8) % 8, '\0');
  for (size_t at = 0; at < padded.size(); at += 8) {
    uint64_t word = 0;
    for (int i = 7; i >= 0; --i) word = word * 256 + static_cast<unsigned char>(padded[at + i]);
    words.push_back(word);
  }
  for (uint64_t w : words) {
    hash = (hash ^ w) * 0x9e3779b97f4a7c15;
    hash ^= hash >> 29;
  }
  hash = (hash ^ (hash >> 33)) * 0xff51afd7ed558ccd;
  hash = (hash ^ (hash >> 33)) * 0xc4ceb9fe1a85ec53;
  return hash ^ (hash >> 33);
}

TEST(TraceHashTest, EmptyTraceHasTheFnvOffsetBasis) {
  Trace trace;
  EXPECT_EQ(trace.hash(), 0xcbf29ce484222325u);
  EXPECT_EQ(trace.hash(), kEmptyTraceHash);
  EXPECT_EQ(trace.event_count(), 0u);
}

TEST(TraceHashTest, MatchesTheDocumentedByteLayout) {
  uint64_t hash = kEmptyTraceHash;
  for (const TraceEvent& event : sample_events()) {
    EXPECT_EQ(hash_trace_event(hash, event), reference_hash(hash, event));
    hash = hash_trace_event(hash, event);
  }
}

// Pinned: these values must not change between compilers, platforms or releases. A change here
// breaks every recorded fingerprint (regression seeds, replay checks). They were also computed by
// reference_hash above, a separate transcription of the algorithm documented in trace.h.
TEST(TraceHashTest, PinnedValues) {
  EXPECT_EQ(hash_trace_event(kEmptyTraceHash, TraceEvent{}), 0x237162b67589a528u);
  Trace trace;
  std::vector<uint64_t> hashes;
  for (TraceEvent& event : sample_events()) {
    trace.record(std::move(event));
    hashes.push_back(trace.hash());
  }
  EXPECT_EQ(hashes, (std::vector<uint64_t>{0x07469a7ddb4523f7u, 0x377d6bb234d1466du, 0xca308025a0aee30au,
                                            0x0af4a151a6414412u, 0x8fa46acdae61eafeu, 0x067cc7ff86c15b21u,
                                            0x226f1ea77f194eedu, 0x78f266d40bc90eb3u, 0xebf4656d60df1569u}));
  EXPECT_EQ(trace.hash(), 0xebf4656d60df1569u);
}

TEST(TraceHashTest, NumberIsNotHashedButEveryOtherFieldIs) {
  const TraceEvent base = sample_events()[3];
  const uint64_t base_hash = hash_trace_event(kEmptyTraceHash, base);
  TraceEvent renumbered = base;
  renumbered.number = 99;
  EXPECT_EQ(hash_trace_event(kEmptyTraceHash, renumbered), base_hash);

  std::vector<TraceEvent> variants(9, base);
  variants[0].time += 1;
  variants[1].kind = TraceKind::kDeliver;
  variants[2].node.value += 1;
  variants[3].process.value += 1;
  variants[4].peer.value += 1;
  variants[5].actor.creator += 1;
  variants[6].actor.index += 1;
  variants[7].call += 1;
  variants[8].detail += "!";
  for (size_t i = 0; i < variants.size(); ++i) {
    EXPECT_NE(hash_trace_event(kEmptyTraceHash, variants[i]), base_hash) << "field " << i;
  }
}

TEST(TraceHashTest, OrderMatters) {
  const std::vector<TraceEvent> events = sample_events();
  const uint64_t forward = hash_trace_event(hash_trace_event(kEmptyTraceHash, events[0]), events[1]);
  const uint64_t backward = hash_trace_event(hash_trace_event(kEmptyTraceHash, events[1]), events[0]);
  EXPECT_NE(forward, backward);
}

// --- names, text, parsing -----------------------------------------------------------------

TEST(TraceKindNameTest, StableLowercaseNames) {
  std::vector<std::string_view> names;
  for (int k = 0; k <= static_cast<int>(TraceKind::kUser); ++k) names.push_back(trace_kind_name(TraceKind(k)));
  EXPECT_EQ(names, (std::vector<std::string_view>{
                       "process_start", "process_exit", "fiber_spawn", "fiber_run", "fiber_park", "fiber_exit",
                       "timer", "send", "deliver", "drop", "actor_create", "actor_alive", "actor_dead",
                       "call_start", "call_end", "decision", "check", "user"}));
}

TEST(FormatTraceEventTest, SendLineHasEveryField) {
  TraceEvent event = sample_events()[3];
  event.number = 17;
  event.node = {1};
  event.process = {3};
  event.peer = {5};
  event.actor = {3, 1};
  event.call = ObjectId{2, 4}.packed();
  EXPECT_EQ(format_trace_event(event), "    1.250000ms #17 n1 p3 send -> p5 a3.1 o2.4 call Counter.increment");
}

TEST(FormatTraceEventTest, OptionalFieldsAreLeftOut) {
  EXPECT_EQ(format_trace_event(TraceEvent{}), "    0.000000ms #0 n0 p0 user");
  const TraceEvent deliver{.time = 1, .number = 3, .kind = TraceKind::kDeliver, .process = {2}, .peer = {1}};
  EXPECT_EQ(format_trace_event(deliver), "    0.000001ms #3 n0 p2 deliver <- p1");
  const TraceEvent drop{.time = 3'600 * kSecond, .kind = TraceKind::kDrop, .process = {2}, .peer = {1},
                        .detail = "partition"};
  EXPECT_EQ(format_trace_event(drop), "3600000.000000ms #0 n0 p2 drop peer p1 partition");
}

TEST(ParseTraceFormatTest, KnownNamesAndError) {
  EXPECT_EQ(parse_trace_format("text").value(), TraceFormat::kText);
  EXPECT_EQ(parse_trace_format("jsonl").value(), TraceFormat::kJsonl);
  EXPECT_EQ(parse_trace_format("chrome").value(), TraceFormat::kChrome);
  const absl::StatusOr<TraceFormat> bad = parse_trace_format("json");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "unknown trace format 'json' (expected text, jsonl or chrome)");
  EXPECT_FALSE(parse_trace_format("").ok());
  EXPECT_FALSE(parse_trace_format("Text").ok());
}

TEST(TraceJsonTest, DecimalIsExact) {
  const auto decimal = [](int64_t value, int decimals) {
    std::string out;
    append_decimal(out, value, decimals);
    return out;
  };
  EXPECT_EQ(decimal(1'250, 3), "1.250");
  EXPECT_EQ(decimal(0, 3), "0.000");
  EXPECT_EQ(decimal(-5, 3), "-0.005");
  EXPECT_EQ(decimal(123'456'789, 6), "123.456789");
  EXPECT_EQ(decimal(std::numeric_limits<int64_t>::min(), 3), "-9223372036854775.808");
}

TEST(TraceJsonTest, StringEscaping) {
  const auto quoted = [](std::string_view text) {
    std::string out;
    append_json_string(out, text);
    return out;
  };
  EXPECT_EQ(quoted(R"(say "hi" \ bye)"), R"("say \"hi\" \\ bye")");
  EXPECT_EQ(quoted(std::string_view("\n\t\r\b\f\x01\x1f\0", 8)), R"("\n\t\r\b\f\u0001\u001f\u0000")");
  EXPECT_EQ(quoted("Zähler 计数器 🎭"), "\"Zähler 计数器 🎭\"");
  // Bytes that are not UTF-8 (a stray continuation, a truncated sequence, an overlong '/').
  EXPECT_EQ(quoted("a\x80z\xe4\xb8"), R"("a\ufffdz\ufffd\ufffd")");
  EXPECT_EQ(quoted("\xc0\xaf"), R"("\ufffd\ufffd")");
  EXPECT_TRUE(JsonValidator::valid(quoted("\x7f\"\\\x01 ok")));
}

// --- sinks --------------------------------------------------------------------------------

TEST(TextTraceSinkTest, OneLinePerEvent) {
  std::vector<TraceEvent> events = sample_events();
  events.resize(4);
  EXPECT_EQ(export_events(TraceFormat::kText, events),
            "    0.000000ms #0 n0 p1 process_start driver\n"
            "    0.001000ms #1 n1 p3 process_start worker\n"
            "    0.002500ms #2 n1 p3 actor_alive a1.2 Counter(value=0)\n"
            "    1.250000ms #3 n0 p1 send -> p3 a1.2 o1.4 call Counter.increment\n");
}

TEST(JsonlTraceSinkTest, ExactLinesThatParse) {
  std::vector<TraceEvent> events = sample_events();
  events.resize(4);
  events.push_back({.time = 7, .kind = TraceKind::kUser, .node = {2}, .detail = "q\"\\\n\x02 é"});
  const std::string out = export_events(TraceFormat::kJsonl, events);
  const std::vector<std::string> lines = split_lines(out);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], R"({"t_ns":0,"n":0,"kind":"process_start","node":0,"process":1,"detail":"driver"})");
  EXPECT_EQ(lines[2],
            R"({"t_ns":2500,"n":2,"kind":"actor_alive","node":1,"process":3,"actor":"a1.2",)"
            R"j("detail":"Counter(value=0)"})j");
  EXPECT_EQ(lines[3],
            R"({"t_ns":1250000,"n":3,"kind":"send","node":0,"process":1,"peer":3,"actor":"a1.2",)"
            R"("call":"o1.4","detail":"call Counter.increment"})");
  EXPECT_EQ(lines[4], R"({"t_ns":7,"n":4,"kind":"user","node":2,"process":0,"detail":"q\"\\\n\u0002 é"})");
  for (const std::string& line : lines) EXPECT_TRUE(JsonValidator::valid(line)) << line;
}

TEST(ChromeTraceSinkTest, ExactOutputForASmallRun) {
  const std::string out = export_events(TraceFormat::kChrome, sample_events());
  EXPECT_EQ(out, R"j({"traceEvents":[
{"name":"process_name","ph":"M","pid":1,"tid":1000000000,"ts":0.000,"args":{"name":"node n0"}},
{"name":"thread_name","ph":"M","pid":1,"tid":1,"ts":0.000,"args":{"name":"p1 driver"}},
{"name":"process_start","ph":"i","s":"t","pid":1,"tid":1,"ts":0.000,"args":{"n":0,"detail":"driver"}},
{"name":"process_name","ph":"M","pid":2,"tid":1000000001,"ts":0.000,"args":{"name":"node n1"}},
{"name":"thread_name","ph":"M","pid":2,"tid":3,"ts":0.000,"args":{"name":"p3 worker"}},
{"name":"process_start","ph":"i","s":"t","pid":2,"tid":3,"ts":1.000,"args":{"n":1,"detail":"worker"}},
{"name":"thread_name","ph":"M","pid":2,"tid":3,"ts":0.000,"args":{"name":"a1.2 Counter(value=0)"}},
{"name":"actor_alive","ph":"i","s":"t","pid":2,"tid":3,"ts":2.500,"args":{"n":2,"detail":"Counter(value=0)","actor":"a1.2"}},
{"name":"send","ph":"i","s":"t","pid":1,"tid":1,"ts":1250.000,"args":{"n":3,"detail":"call Counter.increment","peer":"p3","actor":"a1.2","call":"o1.4"}},
{"name":"deliver","ph":"i","s":"t","pid":2,"tid":3,"ts":1500.000,"args":{"n":4,"detail":"call Counter.increment","peer":"p1","actor":"a1.2","call":"o1.4"}},
{"name":"Counter.increment","ph":"B","pid":2,"tid":3,"ts":1600.000,"args":{"n":5,"call":"o1.4","actor":"a1.2"}},
{"ph":"E","pid":2,"tid":3,"ts":1700.000,"args":{"n":6,"outcome":"ok"}},
{"name":"Counter.crash","ph":"B","pid":2,"tid":3,"ts":2000.000,"args":{"n":7,"call":"o1.5","actor":"a1.2"}},
{"ph":"E","pid":2,"tid":3,"ts":2100.000,"args":{"n":8,"outcome":"process exited"}},
{"name":"process_exit","ph":"i","s":"t","pid":2,"tid":3,"ts":2100.000,"args":{"n":8,"detail":"killed"}}
]}
)j");
  EXPECT_TRUE(JsonValidator::valid(out));
}

TEST(ChromeTraceSinkTest, EmptyTraceIsValidJson) {
  const std::string out = export_events(TraceFormat::kChrome, {});
  EXPECT_EQ(out, "{\"traceEvents\":[\n]}\n");
  EXPECT_TRUE(JsonValidator::valid(out));
}

// Counts B and E per line and checks that no E ever closes more spans than are open.
int open_spans_after(const std::string& out) {
  int depth = 0;
  for (const std::string& line : split_lines(out)) {
    if (line.find("\"ph\":\"B\"") != std::string::npos) depth += 1;
    if (line.find("\"ph\":\"E\"") != std::string::npos) depth -= 1;
    EXPECT_GE(depth, 0) << line;
  }
  return depth;
}

TEST(ChromeTraceSinkTest, InterleavedCallsAreSplitSoSpansNest) {
  const auto call = [](Nanos time, TraceKind kind, uint32_t index, std::string detail) {
    return TraceEvent{.time = time, .kind = kind, .node = {0}, .process = {4}, .call = ObjectId{1, index}.packed(),
                      .detail = std::move(detail)};
  };
  const std::string out = export_events(TraceFormat::kChrome, {
                                                                  call(1'000, TraceKind::kCallStart, 1, "A.slow"),
                                                                  call(2'000, TraceKind::kCallStart, 2, "A.fast"),
                                                                  call(3'000, TraceKind::kCallEnd, 1, "ok"),
                                                                  call(4'000, TraceKind::kCallEnd, 2, "ok"),
                                                                  call(5'000, TraceKind::kCallEnd, 9, "stray"),
                                                              });
  const std::vector<std::string> lines = split_lines(out);
  ASSERT_EQ(lines.size(), 11u);
  EXPECT_EQ(lines[5], R"({"ph":"E","pid":1,"tid":4,"ts":3.000},)");
  EXPECT_EQ(lines[6], R"({"ph":"E","pid":1,"tid":4,"ts":3.000,"args":{"n":2,"outcome":"ok"}},)");
  EXPECT_EQ(lines[7], R"({"name":"A.fast","ph":"B","pid":1,"tid":4,"ts":3.000,"args":{"n":1,"call":"o1.2"}},)");
  EXPECT_EQ(lines[8], R"({"ph":"E","pid":1,"tid":4,"ts":4.000,"args":{"n":3,"outcome":"ok"}},)");
  EXPECT_EQ(lines[9], R"({"name":"call_end","ph":"i","s":"t","pid":1,"tid":4,"ts":5.000,)"
                      R"("args":{"n":4,"detail":"stray","call":"o1.9"}})");
  EXPECT_EQ(open_spans_after(out), 0);
  EXPECT_TRUE(JsonValidator::valid(out));
}

TEST(ChromeTraceSinkTest, ProcessExitClosesEveryOpenSpanAndNodeEventsGetATrack) {
  const std::string out = export_events(
      TraceFormat::kChrome,
      {
          {.time = 0, .kind = TraceKind::kCallStart, .node = {2}, .process = {7}, .call = 1, .detail = "outer"},
          {.time = 1, .kind = TraceKind::kCallStart, .node = {2}, .process = {7}, .call = 2, .detail = "inner"},
          {.time = 2, .kind = TraceKind::kCallStart, .node = {2}, .process = {8}, .call = 3, .detail = "other"},
          {.time = 3, .kind = TraceKind::kProcessExit, .node = {2}, .process = {7}, .detail = "crash"},
          {.time = 4, .kind = TraceKind::kUser, .node = {2}, .detail = "node down"},
      });
  EXPECT_NE(out.find(R"({"name":"thread_name","ph":"M","pid":3,"tid":1000000002,"ts":0.000,)"
                     R"("args":{"name":"n2 events"}},)"),
            std::string::npos);
  // Two closed on p7's exit; p8's call is still running at the end and stays open.
  EXPECT_EQ(open_spans_after(out), 1);
  EXPECT_TRUE(JsonValidator::valid(out));
}

// --- Trace ----------------------------------------------------------------------------------

class CollectingSink : public TraceSink {
 public:
  CollectingSink(std::vector<TraceEvent>* events, int* finishes) : events_(events), finishes_(finishes) {}
  void write(const TraceEvent& event) override { events_->push_back(event); }
  void finish() override { *finishes_ += 1; }

 private:
  std::vector<TraceEvent>* events_;
  int* finishes_;
};

TEST(TraceTest, NumbersEventsAndFeedsEverySink) {
  std::vector<TraceEvent> seen;
  int finishes = 0;
  Trace trace;
  trace.add_sink(std::make_unique<CollectingSink>(&seen, &finishes));
  for (TraceEvent& event : sample_events()) {
    event.number = 1'000;  // overwritten
    trace.record(std::move(event));
  }
  ASSERT_EQ(seen.size(), 9u);
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i].number, i);
  EXPECT_EQ(seen[8].detail, "killed");
  EXPECT_EQ(trace.event_count(), 9u);
  EXPECT_TRUE(trace.retained().empty());
}

TEST(TraceTest, RetainKeepsEveryEventFromThenOn) {
  Trace trace;
  std::vector<TraceEvent> events = sample_events();
  trace.record(events[0]);
  trace.set_retain(true);
  trace.record(events[1]);
  trace.record(events[2]);
  ASSERT_EQ(trace.retained().size(), 2u);
  EXPECT_EQ(trace.retained()[0].number, 1u);
  EXPECT_EQ(trace.retained()[0].detail, "worker");
  EXPECT_EQ(trace.retained()[1].number, 2u);
  EXPECT_EQ(trace.retained()[1].actor, (ActorId{1, 2}));
}

TEST(TraceTest, FinishIsIdempotent) {
  std::vector<TraceEvent> seen;
  int finishes = 0;
  std::ostringstream chrome;
  Trace trace;
  trace.add_sink(std::make_unique<CollectingSink>(&seen, &finishes));
  trace.add_sink(make_trace_sink(TraceFormat::kChrome, chrome));
  trace.record(sample_events()[0]);
  trace.finish();
  trace.finish();
  EXPECT_EQ(finishes, 1);
  EXPECT_TRUE(JsonValidator::valid(chrome.str()));
  ChromeTraceSink direct(chrome);
  direct.finish();
  const size_t length = chrome.str().size();
  direct.finish();
  EXPECT_EQ(chrome.str().size(), length);
}

}  // namespace
}  // namespace troupe
