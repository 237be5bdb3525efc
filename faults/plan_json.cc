// The JSON layer of plans: parsing text with positions and duplicate keys, and plan_to_json.
#include "faults/plan_json.h"

#include <cassert>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "faults/plan.h"
#include "fmt/format.h"

namespace troupe::faults {
namespace {

// Follows nlohmann's parse events to know the JSON path of each key, and remembers the first key
// that repeats within one object.
class DuplicateKeyFinder {
 public:
  bool on_event(nlohmann::json::parse_event_t event, const Json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        frames_.push_back(Frame{.label = enter_child(), .is_array = event == Event::array_start});
        break;
      case Event::object_end:
      case Event::array_end:
        assert(!frames_.empty());
        frames_.pop_back();
        break;
      case Event::key: {
        assert(!frames_.empty());
        Frame& frame = frames_.back();
        frame.key = parsed.get<std::string>();
        if (!frame.keys.insert(frame.key).second && !duplicate_) duplicate_ = path_of(frame.key);
        break;
      }
      case Event::value: enter_child(); break;
    }
    return true;  // keep every value
  }

  // The path of the first repeated key, if any.
  const std::optional<std::string>& duplicate() const { return duplicate_; }

 private:
  struct Frame {
    std::string label;  // this container's own path segment: "faults", "[2]", or "" for the root
    bool is_array = false;
    size_t next_index = 0;       // arrays: the index of the next element
    std::string key;             // objects: the key being read
    std::set<std::string> keys;  // objects: the keys seen so far
  };

  // Called when a value (or container) starts: its path segment within the current container.
  std::string enter_child() {
    if (frames_.empty()) return "";
    Frame& parent = frames_.back();
    if (parent.is_array) return fmt::format("[{}]", parent.next_index++);
    return parent.key;
  }

  std::string path_of(const std::string& key) const {
    std::string path;
    for (const Frame& frame : frames_) {
      if (!path.empty() && !frame.label.empty() && frame.label[0] != '[') path += '.';
      path += frame.label;
    }
    return path.empty() ? key : fmt::format("{}.{}", path, key);
  }

  std::vector<Frame> frames_;
  std::optional<std::string> duplicate_;
};

// nlohmann's message without its "[json.exception...] parse error at line 1, column 8: " prefix.
std::string syntax_detail(const char* what) {
  std::string_view text = what;
  if (const size_t bracket = text.find("] "); bracket != std::string_view::npos) text.remove_prefix(bracket + 2);
  if (text.starts_with("parse error")) {
    if (const size_t colon = text.find(": "); colon != std::string_view::npos) text.remove_prefix(colon + 2);
  }
  return std::string(text);
}

// 1-based line and column of the byte nlohmann stopped at (`byte` counts bytes read, from 1).
std::pair<size_t, size_t> line_and_column(std::string_view text, size_t byte) {
  const size_t at = std::min(byte == 0 ? 0 : byte - 1, text.size());
  size_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {line, at - line_start + 1};
}

void add_ms(Json& object, const char* key, Nanos ns) { object[key] = ms_json(ns); }

Json link_json(const NodePair& link) { return Json::array({link.a, link.b}); }

// One fault as a JSON object, keys in the order of the format's documentation.
Json fault_json(const ScheduledFault& fault) {
  Json object = Json::object();
  add_ms(object, "at_ms", fault.at_ns);
  object["kind"] = std::string(fault_kind_name(fault.kind()));
  std::visit(
      [&](const auto& params) {
        using T = std::decay_t<decltype(params)>;
        if constexpr (std::is_same_v<T, CrashFault> || std::is_same_v<T, SuspectFault>) {
          object["process"] = params.process;
        } else if constexpr (std::is_same_v<T, NodeCrashFault>) {
          object["node"] = params.node;
          if (params.reboot_after_ns) add_ms(object, "reboot_after_ms", *params.reboot_after_ns);
        } else if constexpr (std::is_same_v<T, PartitionFault>) {
          object["sides"] = Json::array({Json(params.sides[0]), Json(params.sides[1])});
          object["one_way"] = params.one_way;
          add_ms(object, "duration_ms", params.duration_ns);
        } else if constexpr (std::is_same_v<T, ClogFault>) {
          if (params.node) object["node"] = *params.node;
          if (params.link) object["link"] = link_json(*params.link);
          add_ms(object, "duration_ms", params.duration_ns);
        } else if constexpr (std::is_same_v<T, ResetFault>) {
          object["link"] = link_json(params.link);
        } else if constexpr (std::is_same_v<T, LatencyFault>) {
          add_ms(object, "extra_latency_ms", params.extra_latency_ns);
          add_ms(object, "duration_ms", params.duration_ns);
        } else if constexpr (std::is_same_v<T, StorageFault>) {
          object["error_rate"] = params.error_rate;
          object["loss_rate"] = params.loss_rate;
          add_ms(object, "duration_ms", params.duration_ns);
        } else if constexpr (std::is_same_v<T, BuggifyFault>) {
          object["sites"] = params.sites;
        } else {
          object["node"] = params.gpu.node;
          object["device"] = params.gpu.device;
          if constexpr (std::is_same_v<T, GpuThrottleFault>) {
            object["slowdown"] = params.slowdown;
            add_ms(object, "duration_ms", params.duration_ns);
          } else if constexpr (std::is_same_v<T, GpuMemoryFault>) {
            object["bytes"] = params.bytes;
            add_ms(object, "duration_ms", params.duration_ns);
          } else {
            static_assert(std::is_same_v<T, GpuLossFault>);
          }
        }
      },
      fault.params);
  return object;
}

Json generator_json(const GeneratorSettings& settings) {
  Json object = Json::object();
  Json kinds = Json::array();
  for (FaultKind kind : settings.kinds) kinds.push_back(std::string(fault_kind_name(kind)));
  object["kinds"] = kinds;
  Json intensities = Json::object();
  for (const auto& [kind, intensity] : settings.intensity_per_s) {
    intensities[std::string(fault_kind_name(kind))] = intensity;
  }
  object["intensity_per_s"] = intensities;
  add_ms(object, "fault_window_ms", settings.fault_window_ns);
  add_ms(object, "quiet_ms", settings.quiet_ns);
  add_ms(object, "deadline_ms", settings.deadline_ns);
  return object;
}

// The expect section on one line, keys in the order the format's documentation gives them. A
// failure text that is not UTF-8 gets U+FFFD for its bad bytes (validate_plan then reports that the
// plan does not round-trip) instead of an exception.
std::string expect_json(const Expectation& expect) {
  Json object = Json::object();
  object["outcome"] = std::string(expected_outcome_name(expect.outcome));
  if (expect.outcome == ExpectedOutcome::kFail) {
    object["match"] = std::string(failure_match_name(expect.match));
    object["failure"] = expect.failure;
  }
  return object.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

std::string_view failure_match_name(FailureMatch match) {
  switch (match) {
    case FailureMatch::kMessage: return "message";
    case FailureMatch::kCheck: return "check";
  }
  assert(false);
  return "?";
}

std::string_view expected_outcome_name(ExpectedOutcome outcome) {
  switch (outcome) {
    case ExpectedOutcome::kPass: return "pass";
    case ExpectedOutcome::kFail: return "fail";
  }
  assert(false);
  return "?";
}

absl::StatusOr<Json> parse_json_text(std::string_view text, std::string_view source_name) {
  DuplicateKeyFinder finder;
  Json root;
  try {
    root = Json::parse(text, [&finder](int, nlohmann::json::parse_event_t event, Json& parsed) {
      return finder.on_event(event, parsed);
    });
  } catch (const nlohmann::json::parse_error& error) {
    const auto [line, column] = line_and_column(text, error.byte);
    return absl::InvalidArgumentError(fmt::format("{}: line {} column {}: JSON syntax error: {}", source_name, line,
                                                  column, syntax_detail(error.what())));
  } catch (const nlohmann::json::exception& error) {  // a number too large for a double, say
    return absl::InvalidArgumentError(
        fmt::format("{}: JSON syntax error: {}", source_name, syntax_detail(error.what())));
  }
  if (finder.duplicate()) {
    return absl::InvalidArgumentError(fmt::format("{}: {}: duplicate key (a key may appear only once in an object)",
                                                  source_name, *finder.duplicate()));
  }
  return root;
}

Json ms_json(Nanos ns) {
  if (ns % kMillisecond == 0) return Json(ns / kMillisecond);
  // ns < 2^53, so ns / 1e6 is within half an ulp of the decimal value and reading it back
  // (ms * 1e6, rounded) gives ns again; nlohmann prints the shortest text that round-trips.
  return Json(static_cast<double>(ns) / 1e6);
}

std::string plan_to_json(const FaultPlan& plan) {
  std::string text = fmt::format("{{\n  \"version\": {}", plan.version);
  if (plan.scenario) text += fmt::format(",\n  \"scenario\": {}", Json(*plan.scenario).dump());
  if (plan.seed) text += fmt::format(",\n  \"seed\": {}", *plan.seed);
  if (plan.expect) text += fmt::format(",\n  \"expect\": {}", expect_json(*plan.expect));
  if (plan.generator) text += fmt::format(",\n  \"generator\": {}", generator_json(*plan.generator).dump());
  text += ",\n  \"faults\": [";
  for (size_t i = 0; i < plan.faults.size(); ++i) {
    text += fmt::format("{}\n    {}", i == 0 ? "" : ",", fault_json(plan.faults[i]).dump());
  }
  text += plan.faults.empty() ? "]" : "\n  ]";
  if (plan.schedule) {
    Json decisions = Json::array();
    for (const sim::GuidedChoice& choice : plan.schedule->choices) {
      decisions.push_back(Json::array({choice.decision, choice.choice}));
    }
    text += fmt::format(",\n  \"schedule\": {{\"decisions\": {}}}", decisions.dump());
  }
  text += "\n}\n";
  return text;
}

}  // namespace troupe::faults
