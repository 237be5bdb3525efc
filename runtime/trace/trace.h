// Trace: the record of one run, its running hash, and the sinks that write it out.
//
// `Trace::record` numbers each event, folds it into a running 64-bit hash (the run's
// fingerprint: the same seed gives the same hash under g++ and clang++, so the hash covers only
// the event's fields, never a formatted string that could differ), and hands it to each sink.
// With no sink and no retention, recording costs one hash update.
//
// Sinks (google/benchmark's reporter model): TextTraceSink (one readable line per event),
// JsonlTraceSink (one JSON object per line), ChromeTraceSink (Chrome trace-event JSON that
// Perfetto and chrome://tracing open: one track per process, named after its actor; method calls
// as spans; messages as instant events). `Trace::set_retain(true)` keeps every event in memory,
// which the determinism self-check uses to name the first divergent event.
//
// Not thread-safe; the threads platform serialises calls to record().
//
//   Trace trace;
//   std::ofstream file("run.json");
//   trace.add_sink(make_trace_sink(TraceFormat::kChrome, file));
//   trace.record({.time = 5 * kMillisecond, .kind = TraceKind::kSend, .process = {3}, .peer = {5}});
//   trace.finish();  // closes the JSON; trace.hash() is the run's fingerprint
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/trace/trace_event.h"

namespace troupe {

// The hash of the empty trace (the 64-bit FNV-1a offset basis, a conventional start). See hash_trace_event.
inline constexpr uint64_t kEmptyTraceHash = 0xcbf29ce484222325;

// Where recorded events go (text, JSON lines, Chrome JSON, or a test's collector).
class TraceSink {
 public:
  virtual ~TraceSink() = default;
  virtual void write(const TraceEvent& event) = 0;
  // Called once after the last event (closes JSON arrays, flushes).
  virtual void finish() {}
};

class Trace {
 public:
  Trace();
  ~Trace();

  // Numbers `event` (overwriting event.number), updates the hash, passes it to the sinks, and
  // keeps it (moved, not copied) if retaining.
  // REQUIRES: finish() has not been called.
  void record(TraceEvent event);

  // The running hash of all events so far (kEmptyTraceHash for an empty trace).
  uint64_t hash() const { return hash_; }
  uint64_t event_count() const { return count_; }

  void add_sink(std::unique_ptr<TraceSink> sink);
  void set_retain(bool retain) { retain_ = retain; }
  const std::vector<TraceEvent>& retained() const { return retained_; }

  // Calls finish() on every sink. Idempotent.
  void finish();

 private:
  uint64_t hash_;
  uint64_t count_ = 0;
  bool retain_ = false;
  bool finished_ = false;
  std::vector<TraceEvent> retained_;
  std::vector<std::unique_ptr<TraceSink>> sinks_;
};

// Folds one event's fields (not its number, which its position implies) into `hash` and returns
// the new hash. Fixed here so it is identical under every compiler, library and run (never
// std::hash or absl::Hash, which are seeded or library-specific):
//   1. fold, one 64-bit word at a time (h = (h ^ w) * 0x9e3779b97f4a7c15; h ^= h >> 29), the words
//      time; kind | node << 8; process | peer << 32; actor.creator | actor.index << 32; call;
//      bytes; detail.size(); then the detail, 8 bytes a word, little-endian, zero-padded;
//   2. the MurmurHash3 fmix64 finaliser, so every input bit reaches every output bit before the
//      next event is folded in.
// Word-wise folding keeps the cost per event to a few multiplies (it runs for every simulated
// event). A trace's hash starts at kEmptyTraceHash and folds its events in order.
uint64_t hash_trace_event(uint64_t hash, const TraceEvent& event);

// One readable line, e.g. "    1.250000ms #17 n1 p3 send -> p5 a3.1 o2.4 call Counter.increment":
// time in milliseconds with 6 decimals right-aligned to 12 characters, "#number", node, process,
// kind name, then only when set: the peer ("-> p5" for send, "<- p5" for deliver, "peer p5"
// otherwise), the actor, the call as an ObjectId, and the detail. No trailing newline.
std::string format_trace_event(const TraceEvent& event);

enum class TraceFormat { kText, kJsonl, kChrome };

// Parses "text", "jsonl" or "chrome"; anything else is InvalidArgument naming the choices.
absl::StatusOr<TraceFormat> parse_trace_format(std::string_view name);
// "text", "jsonl" or "chrome": the name parse_trace_format reads back.
std::string_view trace_format_name(TraceFormat format);

// A sink writing `format` to `out`, which must outlive the sink. The sinks are described in
// runtime/trace/trace_sinks.h.
std::unique_ptr<TraceSink> make_trace_sink(TraceFormat format, std::ostream& out);

}  // namespace troupe
