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
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/trace/trace_event.h"

namespace troupe {

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

  // Numbers `event` (overwriting event.number), updates the hash, and passes it to the sinks.
  void record(TraceEvent event);

  // The running hash of all events so far (a fixed value for an empty trace).
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

// Folds one event's fields (not its number) into `hash`. Exposed for tests.
uint64_t hash_trace_event(uint64_t hash, const TraceEvent& event);

// One readable line, e.g. "    1.250000ms #17 n1 p3 send -> p5 a3.1 o2.4 call Counter.increment".
std::string format_trace_event(const TraceEvent& event);

enum class TraceFormat { kText, kJsonl, kChrome };

// Parses "text", "jsonl" or "chrome"; anything else is InvalidArgument naming the choices.
absl::StatusOr<TraceFormat> parse_trace_format(std::string_view name);

// A sink writing `format` to `out`, which must outlive the sink.
std::unique_ptr<TraceSink> make_trace_sink(TraceFormat format, std::ostream& out);

}  // namespace troupe
