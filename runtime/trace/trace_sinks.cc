#include "runtime/trace/trace_sinks.h"

#include <cassert>
#include <iterator>

#include "fmt/format.h"
#include "runtime/trace/json.h"

namespace troupe {

namespace {

// "<id> <detail>", or just the id when there is no detail.
std::string track_name(std::string id, const std::string& detail) {
  if (!detail.empty()) {
    id.push_back(' ');
    id.append(detail);
  }
  return id;
}

}  // namespace

void TextTraceSink::write(const TraceEvent& event) {
  assert(!finished_);
  out_ << format_trace_event(event) << '\n';
}

void TextTraceSink::finish() {
  finished_ = true;
  out_.flush();
}

void JsonlTraceSink::write(const TraceEvent& event) {
  assert(!finished_);
  line_.clear();
  auto out = std::back_inserter(line_);
  fmt::format_to(out, "{{\"t_ns\":{},\"n\":{},\"kind\":\"{}\",\"node\":{},\"process\":{}", event.time, event.number,
                 trace_kind_name(event.kind), event.node.value, event.process.value);
  if (event.peer.valid()) fmt::format_to(out, ",\"peer\":{}", event.peer.value);
  if (event.actor.valid()) fmt::format_to(out, ",\"actor\":\"{}\"", event.actor);
  if (event.call != 0) fmt::format_to(out, ",\"call\":\"{}\"", ObjectId::unpack(event.call));
  if (event.bytes != 0) fmt::format_to(out, ",\"bytes\":{}", event.bytes);
  line_.append(",\"detail\":");
  append_json_string(line_, event.detail);
  line_.append("}\n");
  out_ << line_;
}

void JsonlTraceSink::finish() {
  finished_ = true;
  out_.flush();
}

void ChromeTraceSink::write(const TraceEvent& event) {
  assert(!finished_);
  const uint32_t pid = event.node.value + 1;
  const uint32_t tid = event.process.valid() ? event.process.value : kNodeTrackTid + event.node.value;
  assert(!event.process.valid() || event.process.value < kNodeTrackTid);
  note_track(event, pid, tid);
  switch (event.kind) {
    case TraceKind::kCallStart: {
      std::vector<Span>& spans = open_[tid];
      spans.push_back({.call = event.call, .number = event.number, .actor = event.actor, .name = event.detail});
      emit_begin(spans.back(), pid, tid, event.time);
      return;
    }
    case TraceKind::kCallEnd: write_call_end(event, pid, tid); return;
    case TraceKind::kProcessExit: write_process_exit(event, pid, tid); return;
    default: write_instant(event, pid, tid); return;
  }
}

void ChromeTraceSink::finish() {
  if (finished_) return;
  finished_ = true;
  if (!started_) {
    out_ << "{\"traceEvents\":[";
    started_ = true;
  }
  out_ << "\n]}\n";
  out_.flush();
}

// Names the node on first sight, and the track on first sight, on start and when its actor is up.
void ChromeTraceSink::note_track(const TraceEvent& event, uint32_t pid, uint32_t tid) {
  if (nodes_seen_.insert(event.node.value).second) {
    emit_metadata("process_name", pid, kNodeTrackTid + event.node.value, fmt::format("node {}", event.node));
  }
  std::string name;
  if (event.process.valid() && event.kind == TraceKind::kProcessStart) {
    name = track_name(fmt::format("{}", event.process), event.detail);
  } else if (event.process.valid() && event.kind == TraceKind::kActorAlive) {
    name = event.actor.valid() ? track_name(fmt::format("{}", event.actor), event.detail)
                               : track_name(fmt::format("{}", event.process), event.detail);
  } else if (!tracks_seen_.contains(tid)) {
    name = event.process.valid() ? fmt::format("{}", event.process) : fmt::format("{} events", event.node);
  }
  if (name.empty()) return;
  tracks_seen_.insert(tid);
  emit_metadata("thread_name", pid, tid, name);
}

void ChromeTraceSink::write_call_end(const TraceEvent& event, uint32_t pid, uint32_t tid) {
  auto it = open_.find(tid);
  if (it == open_.end()) return write_instant(event, pid, tid);
  std::vector<Span>& spans = it->second;
  size_t match = spans.size();
  while (match > 0 && spans[match - 1].call != event.call) match -= 1;
  if (match == 0) return write_instant(event, pid, tid);
  match -= 1;
  // Spans opened after the ending one: close them so the E below ends the right span...
  for (size_t k = spans.size() - 1; k > match; --k) emit('E', "", pid, tid, event.time, "");
  std::string args = fmt::format("{{\"n\":{},\"outcome\":", event.number);
  append_json_string(args, event.detail);
  args.push_back('}');
  emit('E', "", pid, tid, event.time, args);
  // ...and reopen them, still nested in their original order.
  for (size_t k = match + 1; k < spans.size(); ++k) emit_begin(spans[k], pid, tid, event.time);
  spans.erase(spans.begin() + static_cast<std::ptrdiff_t>(match));
  if (spans.empty()) open_.erase(it);
}

void ChromeTraceSink::write_process_exit(const TraceEvent& event, uint32_t pid, uint32_t tid) {
  auto it = open_.find(tid);
  if (it != open_.end()) {
    const std::string args = fmt::format("{{\"n\":{},\"outcome\":\"process exited\"}}", event.number);
    for (size_t k = it->second.size(); k > 0; --k) emit('E', "", pid, tid, event.time, args);
    open_.erase(it);
  }
  assert(!open_.contains(tid));
  write_instant(event, pid, tid);
}

void ChromeTraceSink::write_instant(const TraceEvent& event, uint32_t pid, uint32_t tid) {
  std::string args = fmt::format("{{\"n\":{},\"detail\":", event.number);
  append_json_string(args, event.detail);
  auto out = std::back_inserter(args);
  if (event.peer.valid()) fmt::format_to(out, ",\"peer\":\"{}\"", event.peer);
  if (event.actor.valid()) fmt::format_to(out, ",\"actor\":\"{}\"", event.actor);
  if (event.call != 0) fmt::format_to(out, ",\"call\":\"{}\"", ObjectId::unpack(event.call));
  if (event.bytes != 0) fmt::format_to(out, ",\"bytes\":{}", event.bytes);
  args.push_back('}');
  emit('i', trace_kind_name(event.kind), pid, tid, event.time, args);
}

void ChromeTraceSink::emit_begin(const Span& span, uint32_t pid, uint32_t tid, Nanos time) {
  std::string args = fmt::format("{{\"n\":{}", span.number);
  auto out = std::back_inserter(args);
  if (span.call != 0) fmt::format_to(out, ",\"call\":\"{}\"", ObjectId::unpack(span.call));
  if (span.actor.valid()) fmt::format_to(out, ",\"actor\":\"{}\"", span.actor);
  args.push_back('}');
  emit('B', span.name.empty() ? std::string_view("call") : span.name, pid, tid, time, args);
}

void ChromeTraceSink::emit_metadata(std::string_view what, uint32_t pid, uint32_t tid, std::string_view name) {
  std::string args = "{\"name\":";
  append_json_string(args, name);
  args.push_back('}');
  emit('M', what, pid, tid, 0, args);
}

void ChromeTraceSink::emit(char phase, std::string_view name, uint32_t pid, uint32_t tid, Nanos time,
                           std::string_view args) {
  line_.clear();
  line_.push_back('{');
  if (!name.empty()) {
    line_.append("\"name\":");
    append_json_string(line_, name);
    line_.push_back(',');
  }
  fmt::format_to(std::back_inserter(line_), "\"ph\":\"{}\",{}\"pid\":{},\"tid\":{},\"ts\":", phase,
                 phase == 'i' ? "\"s\":\"t\"," : "", pid, tid);
  append_decimal(line_, time, 3);
  if (!args.empty()) {
    line_.append(",\"args\":");
    line_.append(args);
  }
  line_.push_back('}');
  emit_line(line_);
}

void ChromeTraceSink::emit_line(const std::string& object) {
  assert(!finished_);
  if (!started_) {
    out_ << "{\"traceEvents\":[";
    started_ = true;
  }
  out_ << (any_event_ ? ",\n" : "\n") << object;
  any_event_ = true;
}

std::unique_ptr<TraceSink> make_trace_sink(TraceFormat format, std::ostream& out) {
  switch (format) {
    case TraceFormat::kText: return std::make_unique<TextTraceSink>(out);
    case TraceFormat::kJsonl: return std::make_unique<JsonlTraceSink>(out);
    case TraceFormat::kChrome: return std::make_unique<ChromeTraceSink>(out);
  }
  assert(false && "TraceFormat out of range");
  return nullptr;
}

}  // namespace troupe
