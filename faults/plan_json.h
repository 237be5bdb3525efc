// Internal to faults/: the JSON layer under plan.cc (nlohmann::json). Not part of the public API.
//
// parse_json_text turns text into a JSON tree or an error that names the source, the line and
// column, and rejects a key repeated in one object (nlohmann would silently keep the last one).
// ms_json writes a time in milliseconds so that reading it back gives the same nanoseconds.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "runtime/ids.h"

namespace troupe::faults {

// Objects keep their keys in file (or insertion) order: errors name the first bad key as written,
// and plan_to_json controls the order it writes.
using Json = nlohmann::ordered_json;

// The JSON tree of `text`, or InvalidArgument:
//   "plan.json: line 3 column 7: JSON syntax error: <what nlohmann says>"
//   "plan.json: faults[0].at_ms: duplicate key (a key may appear only once in an object)"
absl::StatusOr<Json> parse_json_text(std::string_view text, std::string_view source_name);

// `ns` as milliseconds: an integer when it is a whole number of them (1500 ms), else a double
// that converts back to exactly `ns` (1e-06 for 1 ns) while |ns| < 2^53.
Json ms_json(Nanos ns);

}  // namespace troupe::faults
