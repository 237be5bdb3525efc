// The trace sinks: text, JSON lines and Chrome trace-event JSON (google/benchmark's reporters).
//
// Each sink writes to a std::ostream it does not own (which must outlive it) and flushes it in
// finish(). finish() is idempotent; write() after finish() is a bug. Output depends only on the
// events, so the same run exports byte-identical files under every compiler.
//
//   std::ofstream file("run.json");
//   ChromeTraceSink sink(file);
//   sink.write(event);   // ... for each event
//   sink.finish();       // writes "]}" so the file is valid JSON
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/trace/trace.h"

namespace troupe {

// One format_trace_event line per event, '\n'-terminated.
class TextTraceSink : public TraceSink {
 public:
  explicit TextTraceSink(std::ostream& out) : out_(out) {}
  void write(const TraceEvent& event) override;
  void finish() override;

 private:
  std::ostream& out_;
  bool finished_ = false;
};

// One JSON object per line, keys in this order, optional ones only when set:
//   {"t_ns":1250000,"n":17,"kind":"send","node":1,"process":3,"peer":5,"actor":"a3.1",
//    "call":"o2.4","detail":"call Counter.increment"}
// node, process and peer are numbers; actor and call are id strings; detail is always present.
class JsonlTraceSink : public TraceSink {
 public:
  explicit JsonlTraceSink(std::ostream& out) : out_(out) {}
  void write(const TraceEvent& event) override;
  void finish() override;

 private:
  std::ostream& out_;
  std::string line_;
  bool finished_ = false;
};

// Chrome trace-event JSON in the object form {"traceEvents":[...]}, one event per line, which
// Perfetto (ui.perfetto.dev) and chrome://tracing open. The mapping:
//   * pid = node id + 1 (Perfetto reserves pid 0 for the kernel's idle task), named "node n<id>"
//     by a process_name metadata event when the node is first seen;
//   * tid = process id (unique across nodes, as Perfetto expects of tids), named by a
//     thread_name metadata event: "p3" when first seen, "p3 <detail>" on kProcessStart, and
//     "a1.2 <detail>" on kActorAlive (class and repr), so each actor process is one named track;
//   * events without a process go to a per-node track, tid = kNodeTrackTid + node id, named
//     "n0 events";
//   * ts = time in microseconds with 3 decimals (exact, from integer nanoseconds);
//   * kCallStart opens a "B" span named after its detail (the method); kCallEnd closes the
//     innermost open span of that process with the same call id as an "E" with {"outcome"}.
//     If spans opened later are still open above it (an async or threaded actor), they are
//     closed first and reopened after, so B/E always nest. kProcessExit closes every open span
//     of its process. A kCallEnd with no open span, and every other kind, becomes an instant
//     "i" (s:"t") named after the kind with args {n, detail, peer, actor, call} (those set).
//   * Spans still open at finish() stay open (Perfetto shows "did not end").
class ChromeTraceSink : public TraceSink {
 public:
  // The first tid of the per-node tracks; far above any process id a run hands out.
  static constexpr uint32_t kNodeTrackTid = 1'000'000'000;

  explicit ChromeTraceSink(std::ostream& out) : out_(out) {}
  void write(const TraceEvent& event) override;
  // Writes the closing "]}" (and the opening, if no event came). Idempotent.
  void finish() override;

 private:
  struct Span {
    uint64_t call = 0;
    uint64_t number = 0;  // of the kCallStart event
    ActorId actor;
    std::string name;
  };

  void note_track(const TraceEvent& event, uint32_t pid, uint32_t tid);
  void write_call_end(const TraceEvent& event, uint32_t pid, uint32_t tid);
  void write_process_exit(const TraceEvent& event, uint32_t pid, uint32_t tid);
  void write_instant(const TraceEvent& event, uint32_t pid, uint32_t tid);
  // Writes one event: {"name":<name>,"ph":<phase>,["s":"t",]"pid":..,"tid":..,"ts":..[,args]}.
  // An empty `name` omits the key (for "E"); `args` is a JSON object, or empty for none.
  void emit(char phase, std::string_view name, uint32_t pid, uint32_t tid, Nanos time, std::string_view args);
  void emit_begin(const Span& span, uint32_t pid, uint32_t tid, Nanos time);
  void emit_metadata(std::string_view what, uint32_t pid, uint32_t tid, std::string_view name);
  void emit_line(const std::string& object);

  std::ostream& out_;
  bool started_ = false;
  bool finished_ = false;
  bool any_event_ = false;
  std::set<uint32_t> nodes_seen_;
  std::set<uint32_t> tracks_seen_;               // tids with a thread_name
  std::map<uint32_t, std::vector<Span>> open_;   // tid -> open spans, innermost last
  std::string line_;
};

}  // namespace troupe
