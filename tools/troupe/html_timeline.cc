// The HTML timeline: building lanes, spans, arrows and marks from a trace, and writing the page.
#include "tools/troupe/html_timeline.h"

#include <algorithm>
#include <cassert>
#include <deque>
#include <map>
#include <utility>

#include "fmt/format.h"
#include "runtime/trace/json.h"

namespace troupe::cli {

// The page's stylesheet and script (tools/troupe/html_timeline.css and .js, embedded at build
// time by tools/troupe/embed_assets.cmake into html_timeline_assets.cc).
extern const char kHtmlTimelineCss[];
extern const char kHtmlTimelineJs[];

namespace {

// Kinds that are the scheduler's bookkeeping, not part of the picture.
bool is_bookkeeping(TraceKind kind) {
  switch (kind) {
    case TraceKind::kFiberSpawn:
    case TraceKind::kFiberRun:
    case TraceKind::kFiberPark:
    case TraceKind::kFiberExit:
    case TraceKind::kTimer:
    case TraceKind::kDecision: return true;
    default: return false;
  }
}

bool is_actor_kind(TraceKind kind) {
  return kind == TraceKind::kCallStart || kind == TraceKind::kCallEnd || kind == TraceKind::kActorCreate ||
         kind == TraceKind::kActorAlive || kind == TraceKind::kActorDead;
}

std::string first_word(std::string_view text) { return std::string(text.substr(0, text.find(' '))); }

// Pass 1: who appears in the run, and the lane order (see html_timeline.h).
struct LaneIndex {
  struct Process {
    std::string name;
    std::string node;
    bool started = false;
  };
  struct Actor {
    std::string class_name;
    std::optional<ProcessId> host;
  };
  bool cluster = false;
  std::map<ProcessId, Process> processes;
  std::map<ActorId, Actor> actors;
  std::map<ProcessId, size_t> process_lane;
  std::map<ActorId, size_t> actor_lane;
  size_t cluster_lane = 0;

  void note_process(ProcessId id, NodeId node) {
    auto [it, added] = processes.try_emplace(id);
    if (added) {
      it->second.name = fmt::format("{}", id);
      it->second.node = fmt::format("{}", node);
    }
  }

  void note(const TraceEvent& event) {
    if (is_bookkeeping(event.kind)) return;
    if (event.actor.valid() && is_actor_kind(event.kind)) {
      Actor& actor = actors[event.actor];
      const bool names_class = event.kind == TraceKind::kActorAlive ||
                               (event.kind == TraceKind::kActorCreate && !event.detail.starts_with("pending: "));
      if (actor.class_name.empty() && names_class) actor.class_name = first_word(event.detail);
      if (event.kind == TraceKind::kActorAlive && !actor.host && event.process.valid()) actor.host = event.process;
    }
    if (!event.process.valid()) {
      cluster = true;
      return;
    }
    note_process(event.process, event.node);
    if (event.kind == TraceKind::kProcessStart) {
      Process& process = processes[event.process];
      if (!process.started) {
        process.started = true;
        process.node = fmt::format("{}", event.node);
        if (!event.detail.empty()) process.name = fmt::format("{} {}", event.process, event.detail);
      }
    }
    const bool message = event.kind == TraceKind::kSend || event.kind == TraceKind::kDeliver ||
                         event.kind == TraceKind::kDrop;
    if (message && event.peer.valid()) note_process(event.peer, event.node);
  }

  std::vector<TimelineLane> order() {
    std::vector<TimelineLane> lanes;
    if (cluster) {
      cluster_lane = lanes.size();
      lanes.push_back({.id = "cluster", .kind = "cluster", .name = "cluster", .node = ""});
    }
    const auto add_actor = [&](ActorId id, const Actor& actor) {
      actor_lane[id] = lanes.size();
      std::string name = fmt::format("{}", id);
      if (!actor.class_name.empty()) name += " " + actor.class_name;
      lanes.push_back({.id = fmt::format("{}", id), .kind = "actor", .name = std::move(name), .node = ""});
    };
    for (const auto& [id, process] : processes) {
      process_lane[id] = lanes.size();
      lanes.push_back({.id = fmt::format("{}", id), .kind = "process", .name = process.name, .node = process.node});
      for (const auto& [actor_id, actor] : actors) {
        if (actor.host == id) add_actor(actor_id, actor);
      }
    }
    for (const auto& [actor_id, actor] : actors) {
      if (!actor.host) add_actor(actor_id, actor);
    }
    return lanes;
  }

  size_t lane_of(const TraceEvent& event) const {
    if (event.actor.valid() && is_actor_kind(event.kind)) return actor_lane.at(event.actor);
    if (event.process.valid()) return process_lane.at(event.process);
    return cluster_lane;
  }
};

// Pass 2: spans, arrows, marks and bars.
class Builder {
 public:
  Builder(const HtmlRunSummary& summary, LaneIndex& index, Timeline& timeline)
      : summary_(summary), index_(index), timeline_(timeline) {}

  void add(const TraceEvent& event) {
    const size_t lane = index_.lane_of(event);
    switch (event.kind) {
      case TraceKind::kCallStart: return call_start(event, lane);
      case TraceKind::kCallEnd: return call_end(event, lane);
      case TraceKind::kSend: return send(event, lane);
      case TraceKind::kDeliver: return deliver(event, lane);
      case TraceKind::kDrop: return drop(event, lane);
      case TraceKind::kProcessStart: return process_start(event, lane);
      case TraceKind::kProcessExit: return process_exit(event, lane);
      case TraceKind::kActorCreate:
        if (event.actor.valid()) return actor_create(event, lane);
        return mark(event, lane, "info");
      case TraceKind::kActorAlive: return actor_alive(event, lane);
      case TraceKind::kActorDead: return actor_dead(event, lane);
      case TraceKind::kCheck: {
        const bool failing = !summary_.passed && !timeline_.failure_mark && event.detail == summary_.failure;
        if (failing) timeline_.failure_mark = timeline_.marks.size();
        return mark(event, lane, failing ? "failure" : "check");
      }
      case TraceKind::kFault:
      case TraceKind::kStorageFailure: return mark(event, lane, "fault");
      case TraceKind::kConnectionLost: return mark(event, lane, "lost");
      default: return mark(event, lane, "info");
    }
  }

  // Closes what is still open at the end of the run and stacks the spans in rows.
  void finish() {
    const Nanos end = timeline_.end_time;
    for (auto& [key, open] : open_spans_) {
      for (size_t span : open) timeline_.spans[span].end = end;
    }
    for (const auto& [lane, start] : process_bars_) timeline_.bars.push_back({lane, start, end, "running"});
    for (const auto& [lane, state] : actor_states_) {
      if (!state.state.empty()) timeline_.bars.push_back({lane, state.since, end, state.state});
    }
    std::map<size_t, std::vector<Nanos>> row_ends;  // lane -> the end of each row's last span
    for (TimelineSpan& span : timeline_.spans) {
      std::vector<Nanos>& rows = row_ends[span.lane];
      size_t row = 0;
      while (row < rows.size() && rows[row] > span.start) ++row;
      if (row == rows.size()) rows.push_back(0);
      rows[row] = span.end;
      span.row = static_cast<uint32_t>(row);
    }
  }

 private:
  struct ActorState {
    std::string state;  // the open bar's state, or empty
    Nanos since = 0;
    bool died = false;
  };
  struct OpenSpanKey {
    ActorId actor;
    uint64_t call = 0;
    auto operator<=>(const OpenSpanKey&) const = default;
  };

  void mark(const TraceEvent& event, size_t lane, std::string style) {
    timeline_.marks.push_back({.lane = lane, .time = event.time, .style = std::move(style),
                               .kind = std::string(trace_kind_name(event.kind)), .detail = event.detail,
                               .number = event.number});
  }

  void call_start(const TraceEvent& event, size_t lane) {
    open_spans_[{event.actor, event.call}].push_back(timeline_.spans.size());
    span_process_.push_back(event.process);
    timeline_.spans.push_back({.lane = lane, .start = event.time, .end = event.time, .row = 0, .ended = false,
                               .method = event.detail, .outcome = "", .call = fmt::format("{}", ObjectId::unpack(event.call)),
                               .caller = event.peer.valid() ? fmt::format("{}", event.peer) : "",
                               .start_number = event.number, .end_number = 0});
  }

  void call_end(const TraceEvent& event, size_t lane) {
    auto it = open_spans_.find({event.actor, event.call});
    if (it == open_spans_.end()) return mark(event, lane, "info");
    TimelineSpan& span = timeline_.spans[it->second.back()];
    it->second.pop_back();
    if (it->second.empty()) open_spans_.erase(it);
    span.end = event.time;
    span.ended = true;
    span.outcome = event.detail;
    span.end_number = event.number;
  }

  // Ends the open spans that satisfy `ends` at `time` (a process exited, an actor died).
  template <typename Predicate>
  void cut_spans(Nanos time, Predicate ends) {
    for (auto it = open_spans_.begin(); it != open_spans_.end();) {
      std::vector<size_t>& open = it->second;
      std::erase_if(open, [&](size_t span) {
        if (!ends(it->first, span)) return false;
        timeline_.spans[span].end = time;
        return true;
      });
      it = open.empty() ? open_spans_.erase(it) : std::next(it);
    }
  }

  void send(const TraceEvent& event, size_t lane) {
    if (!event.peer.valid()) return mark(event, lane, "info");
    pending_[{event.process, event.peer}].push_back(timeline_.arrows.size());
    timeline_.arrows.push_back({.from_lane = lane, .to_lane = index_.process_lane.at(event.peer), .sent = event.time,
                                .arrived = event.time, .status = ArrowStatus::kInFlight, .bytes = event.bytes,
                                .detail = event.detail, .send_number = event.number, .end_number = 0});
  }

  void deliver(const TraceEvent& event, size_t lane) {
    auto it = pending_.find({event.peer, event.process});
    if (it == pending_.end()) return mark(event, lane, "deliver");
    std::deque<size_t>& queue = it->second;
    auto match = std::find_if(queue.begin(), queue.end(),
                              [&](size_t arrow) { return timeline_.arrows[arrow].bytes == event.bytes; });
    if (match == queue.end()) match = queue.begin();
    TimelineArrow& arrow = timeline_.arrows[*match];
    queue.erase(match);
    if (queue.empty()) pending_.erase(it);
    arrow.status = ArrowStatus::kDelivered;
    arrow.arrived = event.time;
    arrow.end_number = event.number;
  }

  void drop(const TraceEvent& event, size_t lane) {
    auto it = pending_.find({event.process, event.peer});
    if (event.bytes == 0 || it == pending_.end()) return mark(event, lane, "drop");
    std::deque<size_t>& queue = it->second;
    auto match = std::find_if(queue.rbegin(), queue.rend(),
                              [&](size_t arrow) { return timeline_.arrows[arrow].bytes == event.bytes; });
    if (match == queue.rend()) return mark(event, lane, "drop");
    TimelineArrow& arrow = timeline_.arrows[*match];
    queue.erase(std::next(match).base());
    if (queue.empty()) pending_.erase(it);
    arrow.status = ArrowStatus::kDropped;
    arrow.arrived = event.time;
    arrow.end_number = event.number;
    arrow.detail = arrow.detail.empty() ? event.detail : arrow.detail + "; " + event.detail;
  }

  void process_start(const TraceEvent& event, size_t lane) {
    if (!event.process.valid()) return mark(event, lane, "info");  // a node rebooted
    process_bars_.try_emplace(lane, event.time);
  }

  void process_exit(const TraceEvent& event, size_t lane) {
    mark(event, lane, "exit");
    if (!event.process.valid()) return;  // a node crashed; its processes exit one by one
    if (auto it = process_bars_.find(lane); it != process_bars_.end()) {
      timeline_.bars.push_back({lane, it->second, event.time, "running"});
      process_bars_.erase(it);
    }
    cut_spans(event.time, [&](const OpenSpanKey&, size_t span) { return span_process_[span] == event.process; });
  }

  void close_actor_bar(size_t lane, ActorState& state, Nanos time) {
    if (!state.state.empty()) timeline_.bars.push_back({lane, state.since, time, state.state});
    state.state.clear();
  }

  void actor_create(const TraceEvent& event, size_t lane) {
    mark(event, lane, "create");
    ActorState& state = actor_states_[lane];
    if (state.state.empty() && !state.died) state = {.state = "pending", .since = event.time, .died = false};
  }

  void actor_alive(const TraceEvent& event, size_t lane) {
    ActorState& state = actor_states_[lane];
    if (state.died) mark(event, lane, "alive");
    close_actor_bar(lane, state, event.time);
    state.state = "alive";
    state.since = event.time;
  }

  void actor_dead(const TraceEvent& event, size_t lane) {
    const bool restarting = event.detail.starts_with("restarting");
    mark(event, lane, restarting ? "restart" : "dead");
    ActorState& state = actor_states_[lane];
    close_actor_bar(lane, state, event.time);
    state.died = true;
    if (restarting) {
      state.state = "restarting";
      state.since = event.time;
    }
    cut_spans(event.time, [&](const OpenSpanKey& key, size_t) { return key.actor == event.actor; });
  }

  const HtmlRunSummary& summary_;
  LaneIndex& index_;
  Timeline& timeline_;
  std::map<OpenSpanKey, std::vector<size_t>> open_spans_;  // innermost last
  std::vector<ProcessId> span_process_;                    // per span: the process that ran it
  std::map<std::pair<ProcessId, ProcessId>, std::deque<size_t>> pending_;  // (from, to) -> arrows
  std::map<size_t, Nanos> process_bars_;                   // lane -> start of its running bar
  std::map<size_t, ActorState> actor_states_;
};

std::string format_ms(Nanos time) {
  const char* sign = time < 0 ? "-" : "";
  const uint64_t magnitude = time < 0 ? uint64_t(0) - uint64_t(time) : uint64_t(time);
  return fmt::format("{}{}.{:06d} ms", sign, magnitude / 1'000'000, magnitude % 1'000'000);
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

void append_string(std::string& out, std::string_view text) { out += html_safe_json_string(text); }

std::string_view status_name(ArrowStatus status) {
  switch (status) {
    case ArrowStatus::kDelivered: return "delivered";
    case ArrowStatus::kDropped: return "dropped";
    case ArrowStatus::kInFlight: return "in flight";
  }
  return "?";
}

}  // namespace

Timeline build_timeline(const std::vector<TraceEvent>& events, const HtmlRunSummary& summary, size_t max_items) {
  Timeline timeline;
  timeline.events = events.size();
  timeline.end_time = summary.end_time;
  for (const TraceEvent& event : events) timeline.end_time = std::max(timeline.end_time, event.time);
  LaneIndex index;
  for (const TraceEvent& event : events) index.note(event);
  timeline.lanes = index.order();
  Builder builder(summary, index, timeline);
  for (const TraceEvent& event : events) {
    if (is_bookkeeping(event.kind)) continue;
    if (timeline.spans.size() + timeline.arrows.size() + timeline.marks.size() >= max_items) {
      ++timeline.left_out;
      continue;
    }
    builder.add(event);
  }
  builder.finish();
  return timeline;
}

std::string html_safe_json_string(std::string_view text) {
  std::string json;
  append_json_string(json, text);
  std::string out;
  out.reserve(json.size());
  for (char c : json) {
    switch (c) {
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string timeline_json(const Timeline& timeline, const HtmlRunSummary& summary) {
  std::string out = "{\"title\":";
  append_string(out, summary.title);
  out += ",\"command\":";
  append_string(out, summary.command);
  out += fmt::format(",\"passed\":{},\"failure\":", summary.passed);
  append_string(out, summary.failure);
  out += fmt::format(",\"simulated\":{},\"endTime\":{},\"traceHash\":\"{:#018x}\",\"events\":{},\"leftOut\":{}",
                     summary.simulated, timeline.end_time, summary.trace_hash, timeline.events, timeline.left_out);
  out += fmt::format(",\"failureMark\":{}", timeline.failure_mark ? int64_t(*timeline.failure_mark) : -1);
  out += ",\n\"lanes\":[";
  for (size_t i = 0; i < timeline.lanes.size(); ++i) {
    const TimelineLane& lane = timeline.lanes[i];
    out += i == 0 ? "\n[" : ",\n[";
    append_string(out, lane.id);
    out += ",";
    append_string(out, lane.kind);
    out += ",";
    append_string(out, lane.name);
    out += ",";
    append_string(out, lane.node);
    out += "]";
  }
  out += "],\n\"spans\":[";
  for (size_t i = 0; i < timeline.spans.size(); ++i) {
    const TimelineSpan& span = timeline.spans[i];
    out += fmt::format("{}[{},{},{},{},{},", i == 0 ? "\n" : ",\n", span.lane, span.start, span.end, span.row,
                       span.ended ? 1 : 0);
    append_string(out, span.method);
    out += ",";
    append_string(out, span.outcome);
    out += ",";
    append_string(out, span.call);
    out += ",";
    append_string(out, span.caller);
    out += fmt::format(",{},{}]", span.start_number, span.end_number);
  }
  out += "],\n\"arrows\":[";
  for (size_t i = 0; i < timeline.arrows.size(); ++i) {
    const TimelineArrow& arrow = timeline.arrows[i];
    out += fmt::format("{}[{},{},{},{},", i == 0 ? "\n" : ",\n", arrow.from_lane, arrow.to_lane, arrow.sent,
                       arrow.arrived);
    append_string(out, status_name(arrow.status));
    out += fmt::format(",{},", arrow.bytes);
    append_string(out, arrow.detail);
    out += fmt::format(",{},{}]", arrow.send_number, arrow.end_number);
  }
  out += "],\n\"marks\":[";
  for (size_t i = 0; i < timeline.marks.size(); ++i) {
    const TimelineMark& mark = timeline.marks[i];
    out += fmt::format("{}[{},{},", i == 0 ? "\n" : ",\n", mark.lane, mark.time);
    append_string(out, mark.style);
    out += ",";
    append_string(out, mark.kind);
    out += ",";
    append_string(out, mark.detail);
    out += fmt::format(",{}]", mark.number);
  }
  out += "],\n\"bars\":[";
  for (size_t i = 0; i < timeline.bars.size(); ++i) {
    const TimelineBar& bar = timeline.bars[i];
    out += fmt::format("{}[{},{},{},", i == 0 ? "\n" : ",\n", bar.lane, bar.start, bar.end);
    append_string(out, bar.state);
    out += "]";
  }
  out += "]}\n";
  return out;
}

void write_html_timeline(std::ostream& out, const std::vector<TraceEvent>& events, const HtmlRunSummary& summary) {
  const Timeline timeline = build_timeline(events, summary);
  const std::string title = html_escape(summary.title);
  const std::string clock = summary.simulated ? "simulated" : "real";
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      << "<title>" << title << " - troupe timeline</title>\n<style>\n:root { --fail: " << kHtmlFailureColor << "; }\n"
      << kHtmlTimelineCss << "</style>\n</head>\n"
      << "<body>\n<header class=\"top\">\n<div class=\"title-row\"><h1>" << title << "</h1>"
      << "<span class=\"meta\">" << timeline.events << " events &middot; " << clock << " time "
      << format_ms(timeline.end_time) << " &middot; trace hash " << fmt::format("{:#018x}", summary.trace_hash)
      << "</span></div>\n<div class=\"command\"><code>" << html_escape(summary.command) << "</code></div>\n";
  if (summary.passed) {
    out << "<section id=\"status\" class=\"status passed\">passed</section>\n";
  } else {
    const Nanos at = timeline.failure_mark ? timeline.marks[*timeline.failure_mark].time : timeline.end_time;
    out << "<section id=\"failure\" class=\"status failure\" data-time=\"" << at << "\">"
        << "<div class=\"failure-head\"><span class=\"badge\">FAILED</span> at <span id=\"failure-time\">"
        << format_ms(at) << "</span> " << clock << " time"
        << (timeline.failure_mark ? "" : " (the end of the run)")
        << "<button id=\"show-failure\" type=\"button\">show in timeline</button></div>"
        << "<div id=\"failure-message\">" << html_escape(summary.failure) << "</div></section>\n";
  }
  if (timeline.left_out > 0) {
    out << "<div class=\"note\">" << timeline.left_out << " events after the first " << kMaxHtmlItems
        << " drawn items are left out of this page.</div>\n";
  }
  out << "</header>\n<div id=\"app\"><noscript>The timeline needs JavaScript.</noscript></div>\n"
      << "<script type=\"application/json\" id=\"timeline-data\">" << timeline_json(timeline, summary)
      << "</script>\n<script>\n" << kHtmlTimelineJs << "</script>\n</body>\n</html>\n";
}

}  // namespace troupe::cli
