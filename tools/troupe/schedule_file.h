// Reading a Schedule (sim/schedule.h) for `troupe replay --schedule FILE`.
//
// FILE is a JSON-lines trace, as `troupe replay SCENARIO --seed N ... --trace FILE
// --trace-format jsonl` writes it: one event object per line. The decision events
// ({"kind":"decision", ..., "call":"o<ready_count>.<index>"}) make the schedule, in order; every
// other line is checked to be a JSON object and otherwise ignored.
//
//   absl::StatusOr<sim::Schedule> schedule = load_schedule("run.jsonl");
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "sim/schedule.h"

namespace troupe::cli {

// The schedule in the trace file at `path`, or InvalidArgument naming the file, the line and
// what is wrong ("run.jsonl line 3: not a JSON object (a schedule is a trace written with
// --trace FILE --trace-format jsonl)").
absl::StatusOr<sim::Schedule> load_schedule(const std::string& path);

// The same for the file's contents; `source` names it in errors.
absl::StatusOr<sim::Schedule> parse_schedule(std::string_view text, std::string_view source);

}  // namespace troupe::cli
