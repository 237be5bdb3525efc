// The HTML timeline of one run (`troupe replay ... --html FILE`): a self-contained page that any
// browser opens from disk, with no server and no network (CSS, JavaScript and the data are
// inline; the page names no external URL).
//
// HtmlTimelineSink is a TraceSink that keeps the events it is given; after the run,
// write_html_timeline() turns them into a Timeline (lanes, call spans, message arrows, marks)
// and writes the page. The page draws the lanes on a canvas with a time axis that zooms (wheel,
// buttons) and pans (drag), shows an event's details on hover, has a legend, and puts the run's
// failure at the top with its simulated time, highlighted in kHtmlFailureColor across the lanes.
//
// Lanes, in this order: "cluster" (events with no process: network faults, node crashes) if any;
// then each process by id ("p3 a2.1 Counter": the id and its kProcessStart detail), each
// followed by the lanes of the actors it hosted first (kActorAlive), by actor id ("a2.1 Counter":
// the id and the class, the first word of kActorCreate's or kActorAlive's detail); then the
// actors that never came alive. Calls (kCallStart..kCallEnd, matched by actor and call id) are
// spans on their actor's lane, stacked in rows when they overlap. Messages are arrows from the
// sender's lane to the receiver's: a kDeliver is matched to the oldest unmatched kSend from its
// peer to it with the same size (else the oldest from its peer), a kDrop with a size to the
// newest unmatched send it names; sends never matched stay "in flight". Every other kind except
// the fiber, timer and decision bookkeeping becomes a mark on its lane.
//
// Output depends only on the events and the summary: the same run writes a byte-identical page.
//
//   HtmlTimelineSink* html = ...;            // added to the run's Trace
//   ... run ...
//   write_html_timeline(file, html->events(), {.title = "counter seed 3", .failure = ...});
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/trace/trace.h"

namespace troupe::cli {

// The colour of the failure: the banner's bar, the line across the lanes at its time and its
// mark. The page's screenshot test looks for it.
inline constexpr std::string_view kHtmlFailureColor = "#d93025";

// The most spans, arrows and marks (together) a page holds; later events are left out and the
// page says so (a limit, so a runaway run cannot write a page no browser can open).
inline constexpr size_t kMaxHtmlItems = 2'000'000;

// What the page says about the run besides its events.
struct HtmlRunSummary {
  std::string title;         // "counter.bug_lost_increment seed 3"
  std::string command;       // the replay command line
  bool passed = false;
  std::string failure;       // the failure message when !passed
  Nanos end_time = 0;        // the run's simulated (or real) duration
  uint64_t trace_hash = 0;
  bool simulated = true;     // false: times are real (threads platform)
};

struct TimelineLane {
  std::string id;    // "p3", "a2.1" or "cluster"
  std::string kind;  // "process", "actor" or "cluster"
  std::string name;  // "p3 a2.1 Counter", "a2.1 Counter", "cluster"
  std::string node;  // "n0" for a process; empty otherwise
};

struct TimelineSpan {
  size_t lane = 0;
  Nanos start = 0;
  Nanos end = 0;         // the kCallEnd's time, else when the lane ended (exit, death, end of run)
  uint32_t row = 0;      // 0 for the top row of the lane
  bool ended = false;    // a kCallEnd closed it
  std::string method;    // kCallStart's detail
  std::string outcome;   // kCallEnd's detail
  std::string call;      // "o2.3"
  std::string caller;    // "p2", or empty
  uint64_t start_number = 0;
  uint64_t end_number = 0;
};

enum class ArrowStatus { kDelivered, kDropped, kInFlight };

struct TimelineArrow {
  size_t from_lane = 0;
  size_t to_lane = 0;
  Nanos sent = 0;
  Nanos arrived = 0;     // delivered: the kDeliver's time; dropped: the kDrop's; in flight: sent
  ArrowStatus status = ArrowStatus::kInFlight;
  uint64_t bytes = 0;
  std::string detail;    // the send's detail ("resent"), then the drop's reason
  uint64_t send_number = 0;
  uint64_t end_number = 0;  // the kDeliver or kDrop; 0 in flight
};

struct TimelineMark {
  size_t lane = 0;
  Nanos time = 0;
  // How it is drawn: "failure" (the failing check), "check", "fault", "exit" (a process ended),
  // "dead" (an actor died), "restart" (it died to restart), "alive" (alive again after dying),
  // "create", "drop", "lost" (connection lost), "deliver" (unmatched) or "info".
  std::string style;
  std::string kind;      // trace_kind_name
  std::string detail;
  uint64_t number = 0;
};

// A lane's life: "running" (a process), "pending", "alive" or "restarting" (an actor).
struct TimelineBar {
  size_t lane = 0;
  Nanos start = 0;
  Nanos end = 0;
  std::string state;
};

struct Timeline {
  std::vector<TimelineLane> lanes;
  std::vector<TimelineSpan> spans;
  std::vector<TimelineArrow> arrows;
  std::vector<TimelineMark> marks;
  std::vector<TimelineBar> bars;
  Nanos end_time = 0;                 // max(summary.end_time, the last event's time)
  std::optional<size_t> failure_mark;  // the kCheck whose detail is the failure, if any
  uint64_t events = 0;
  uint64_t left_out = 0;              // events not shown (kMaxHtmlItems)
};

// Keeps every event it is given, for write_html_timeline.
class HtmlTimelineSink final : public TraceSink {
 public:
  void write(const TraceEvent& event) override { events_.push_back(event); }
  const std::vector<TraceEvent>& events() const { return events_; }

 private:
  std::vector<TraceEvent> events_;
};

// The timeline of `events` (in trace order), as described at the top of this file.
Timeline build_timeline(const std::vector<TraceEvent>& events, const HtmlRunSummary& summary,
                        size_t max_items = kMaxHtmlItems);

// `text` as a JSON string that is safe inside an HTML <script> element: JSON escaping, and
// '<', '>' and '&' as \u003c, \u003e, \u0026 (so "</script>" and "<!--" cannot end the element).
std::string html_safe_json_string(std::string_view text);

// The timeline's data as one JSON object (html_safe_json_string for every string).
std::string timeline_json(const Timeline& timeline, const HtmlRunSummary& summary);

// Writes the whole page. The caller checks the stream.
void write_html_timeline(std::ostream& out, const std::vector<TraceEvent>& events, const HtmlRunSummary& summary);

}  // namespace troupe::cli
