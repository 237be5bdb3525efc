// Schedule: a recorded list of scheduling decisions, for replaying a run's interleaving.
//
// Whenever two or more items are ready, the World asks its strategy to pick one and traces the
// choice as a TraceKind::kDecision event with `call = (ready_count << 32) | index` (index into
// the World's ready list). A Schedule is the list of those choices in order; the `replay`
// strategy (sim/strategy.h) makes the same choices again, so a run of the same seed with the
// schedule of a recorded run gives that run's trace and trace hash, whatever strategy recorded
// it. It is plain data, kept apart from any file format: `troupe replay --schedule FILE` reads
// one from a JSONL trace (tools/troupe/schedule_file.h).
//
// A GuidedSchedule is the sparse, lenient kind a plan file carries (its "schedule" section,
// docs/fault-plans.md, written by `troupe shrink`): at the listed decisions take the listed
// choice, at every other decision the oldest ready item. The `guided` strategy follows it and
// never diverges: a listed choice beyond the ready list at its decision falls back to the oldest
// item too.
//
//   Schedule schedule = schedule_from_events(trace.retained());
//   World world({.seed = 7, .strategy = StrategyKind::kReplay,
//                .strategy_options = {.schedule = std::make_shared<const Schedule>(schedule)}});
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/trace/trace_event.h"

namespace troupe::sim {

// One choice: item `index` of a ready list of `ready_count` items. Valid: 2 <= ready_count and
// index < ready_count (the World decides only among two or more items).
struct Decision {
  uint32_t ready_count = 0;
  uint32_t index = 0;
  bool operator==(const Decision&) const = default;
};

struct Schedule {
  std::vector<Decision> decisions;  // in the order the run made them
};

// The Decision a kDecision trace event records (its `call` field), and back.
inline Decision decision_from_call(uint64_t call) {
  return {.ready_count = static_cast<uint32_t>(call >> 32), .index = static_cast<uint32_t>(call)};
}
inline uint64_t decision_call(Decision decision) {
  return (uint64_t{decision.ready_count} << 32) | decision.index;
}

// Guided: at decision number `decision` (counted from 1, as replay's messages do) take ready item
// `choice`.
struct GuidedChoice {
  uint64_t decision = 1;
  uint32_t choice = 0;
  bool operator==(const GuidedChoice&) const = default;
};

struct GuidedSchedule {
  std::vector<GuidedChoice> choices;  // strictly increasing `decision`s
  bool operator==(const GuidedSchedule&) const = default;
};

// The decisions among `events` (the kDecision ones, in order). InvalidArgument naming the event
// number if one is not a valid Decision.
absl::StatusOr<Schedule> schedule_from_events(std::span<const TraceEvent> events);

}  // namespace troupe::sim
