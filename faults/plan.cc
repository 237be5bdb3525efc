// Reading plan files. Validation errors are thrown as PlanError inside this file only and turned
// into an absl::Status at its one entry point, parse_plan: every field reader can then stop at the
// first problem without threading a Status through each line.
#include "faults/plan.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "faults/plan_json.h"
#include "fmt/format.h"

namespace troupe::faults {
namespace {

// A validation error: the JSON path of the offending field and what is wrong with it.
struct PlanError {
  std::string path;
  std::string reason;
};

[[noreturn]] void fail(std::string path, std::string reason) { throw PlanError{std::move(path), std::move(reason)}; }

// A JSON value as it appears in an error message, shortened.
std::string show(const Json& value) {
  std::string text = value.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

std::string key_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

std::string index_path(const std::string& parent, size_t index) { return fmt::format("{}[{}]", parent, index); }

// "a, b or c"
std::string join_choices(const std::vector<std::string_view>& items) {
  std::string text;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) text += i + 1 == items.size() ? " or " : ", ";
    text += items[i];
  }
  return text;
}

// The fields of one JSON object that allows exactly `keys`: constructing it rejects a value that
// is not an object and the first key (in file order) that is not allowed.
class Fields {
 public:
  Fields(const Json& object, std::string object_path, std::string what, std::vector<std::string_view> keys)
      : object_(object), path_(std::move(object_path)), what_(std::move(what)), keys_(std::move(keys)) {
    if (!object_.is_object()) fail(path_or_top(), fmt::format("must be an object (got {})", show(object_)));
    for (const auto& [key, value] : object_.items()) {
      bool known = false;
      for (std::string_view allowed : keys_) known = known || key == allowed;
      if (!known) {
        fail(path(key), fmt::format("unknown key in {} (expected {})", what_, join_choices(keys_)));
      }
    }
  }

  const Json* find(std::string_view key) const {
    const auto it = object_.find(std::string(key));
    return it == object_.end() ? nullptr : &*it;
  }

  const Json& need(std::string_view key) const {
    const Json* value = find(key);
    if (value == nullptr) fail(path(key), fmt::format("missing required field of {}", what_));
    return *value;
  }

  std::string path(std::string_view key) const { return key_path(path_, key); }

 private:
  std::string path_or_top() const { return path_.empty() ? "top level" : path_; }

  const Json& object_;
  std::string path_;
  std::string what_;
  std::vector<std::string_view> keys_;
};

enum class TimeUse { kInstant, kDuration };  // a duration must be positive; an instant may be 0

// A time in milliseconds (integer or fractional), as whole nanoseconds.
Nanos read_ms(const Json& value, const std::string& path, TimeUse use) {
  constexpr Nanos kMaxMs = kPlanTimeMaxNs / kMillisecond;
  if (!value.is_number()) fail(path, fmt::format("must be a number of milliseconds (got {})", show(value)));
  Nanos ns = 0;
  if (value.is_number_unsigned()) {
    const uint64_t ms = value.get<uint64_t>();
    if (ms > static_cast<uint64_t>(kMaxMs)) {
      fail(path, fmt::format("must be at most {} ms (got {})", kMaxMs, show(value)));
    }
    ns = static_cast<Nanos>(ms) * kMillisecond;
  } else if (value.is_number_integer()) {
    const int64_t ms = value.get<int64_t>();
    if (ms < 0) fail(path, fmt::format("must not be negative (got {})", show(value)));
    if (ms > kMaxMs) fail(path, fmt::format("must be at most {} ms (got {})", kMaxMs, show(value)));
    ns = ms * kMillisecond;
  } else {
    const double ms = value.get<double>();
    if (!std::isfinite(ms)) fail(path, fmt::format("must be finite (got {})", show(value)));
    if (ms < 0) fail(path, fmt::format("must not be negative (got {})", show(value)));
    if (ms > static_cast<double>(kMaxMs)) {
      fail(path, fmt::format("must be at most {} ms (got {})", kMaxMs, show(value)));
    }
    // ms * 1e6 carries the rounding error of the decimal fraction (0.3 ms -> 299999.99999999994):
    // round to the nearest nanosecond, but refuse a value that really means a fraction of one.
    const double exact = ms * 1e6;
    const double whole = std::nearbyint(exact);
    if (std::abs(exact - whole) > std::max(1e-3, std::abs(exact) * 1e-15)) {
      fail(path, fmt::format("must be a whole number of nanoseconds (got {} ms)", show(value)));
    }
    ns = static_cast<Nanos>(whole);
  }
  assert(ns >= 0);
  assert(ns <= kPlanTimeMaxNs);
  if (use == TimeUse::kDuration && ns == 0) fail(path, fmt::format("must be positive (got {})", show(value)));
  return ns;
}

uint32_t read_index(const Json& value, const std::string& path) {
  if (!value.is_number_unsigned() || value.get<uint64_t>() > kPlanTargetIndexMax) {
    fail(path, fmt::format("must be an index, an integer from 0 to {} (got {})", kPlanTargetIndexMax, show(value)));
  }
  return static_cast<uint32_t>(value.get<uint64_t>());
}

double read_rate(const Json& value, const std::string& path) {
  const bool ok =
      value.is_number() && std::isfinite(value.get<double>()) && value.get<double>() >= 0 && value.get<double>() <= 1;
  if (!ok) fail(path, fmt::format("must be a probability, a number from 0 to 1 (got {})", show(value)));
  return value.get<double>();
}

bool read_bool(const Json& value, const std::string& path) {
  if (!value.is_boolean()) fail(path, fmt::format("must be true or false (got {})", show(value)));
  return value.get<bool>();
}

const Json& read_array(const Json& value, const std::string& path, std::string_view of) {
  if (!value.is_array()) fail(path, fmt::format("must be an array of {} (got {})", of, show(value)));
  return value;
}

NodePair read_link(const Json& value, const std::string& path) {
  read_array(value, path, "two node indices");
  if (value.size() != 2) fail(path, fmt::format("must name exactly two nodes (got {})", show(value)));
  const NodePair link{read_index(value[0], index_path(path, 0)), read_index(value[1], index_path(path, 1))};
  if (link.a == link.b) fail(path, fmt::format("must name two different nodes (got {})", show(value)));
  return link;
}

// A non-empty set of node indices, in any order in the file; returned sorted.
std::vector<uint32_t> read_side(const Json& value, const std::string& path) {
  read_array(value, path, "node indices");
  if (value.empty()) fail(path, "must name at least one node");
  std::set<uint32_t> nodes;
  for (size_t i = 0; i < value.size(); ++i) {
    const uint32_t node = read_index(value[i], index_path(path, i));
    if (!nodes.insert(node).second) fail(index_path(path, i), fmt::format("node {} is listed twice", node));
  }
  return {nodes.begin(), nodes.end()};
}

PartitionFault read_partition(const Fields& fields) {
  PartitionFault partition;
  const std::string path = fields.path("sides");
  const Json& sides = read_array(fields.need("sides"), path, "two arrays of node indices");
  if (sides.size() != 2) fail(path, fmt::format("must hold exactly two sides (got {})", sides.size()));
  partition.sides[0] = read_side(sides[0], index_path(path, 0));
  partition.sides[1] = read_side(sides[1], index_path(path, 1));
  for (uint32_t node : partition.sides[1]) {
    for (uint32_t other : partition.sides[0]) {
      if (node == other) fail(path, fmt::format("node {} is on both sides", node));
    }
  }
  if (const Json* one_way = fields.find("one_way")) partition.one_way = read_bool(*one_way, fields.path("one_way"));
  partition.duration_ns = read_ms(fields.need("duration_ms"), fields.path("duration_ms"), TimeUse::kDuration);
  return partition;
}

ClogFault read_clog(const Fields& fields) {
  ClogFault clog;
  const Json* node = fields.find("node");
  const Json* link = fields.find("link");
  if ((node == nullptr) == (link == nullptr)) {
    fail(fields.path(node == nullptr ? "node" : "link"), "a clog fault needs exactly one of node and link");
  }
  if (node != nullptr) clog.node = read_index(*node, fields.path("node"));
  if (link != nullptr) clog.link = read_link(*link, fields.path("link"));
  clog.duration_ns = read_ms(fields.need("duration_ms"), fields.path("duration_ms"), TimeUse::kDuration);
  return clog;
}

StorageFault read_storage(const Fields& fields) {
  StorageFault storage;
  if (const Json* rate = fields.find("error_rate")) storage.error_rate = read_rate(*rate, fields.path("error_rate"));
  if (const Json* rate = fields.find("loss_rate")) storage.loss_rate = read_rate(*rate, fields.path("loss_rate"));
  if (storage.error_rate == 0 && storage.loss_rate == 0) {
    fail(fields.path("error_rate"), "a storage fault needs error_rate or loss_rate above 0");
  }
  storage.duration_ns = read_ms(fields.need("duration_ms"), fields.path("duration_ms"), TimeUse::kDuration);
  return storage;
}

BuggifyFault read_buggify(const Fields& fields) {
  const std::string path = fields.path("sites");
  const Json& sites = read_array(fields.need("sites"), path, "site names");
  if (sites.empty()) fail(path, "must name at least one site");
  if (sites.size() > kBuggifySitesMax) {
    fail(path, fmt::format("too many sites ({}; the limit is {})", sites.size(), kBuggifySitesMax));
  }
  std::set<std::string> names;
  for (size_t i = 0; i < sites.size(); ++i) {
    const Json& site = sites[i];
    const bool ok = site.is_string() && !site.get<std::string>().empty() &&
                    site.get<std::string>().size() <= kBuggifySiteNameBytesMax;
    if (!ok) {
      fail(index_path(path, i), fmt::format("must be a site name, a string of 1 to {} bytes (got {})",
                                            kBuggifySiteNameBytesMax, show(site)));
    }
    if (!names.insert(site.get<std::string>()).second) {
      fail(index_path(path, i), fmt::format("site {} is listed twice", show(site)));
    }
  }
  return BuggifyFault{.sites = {names.begin(), names.end()}};
}

GpuTarget read_gpu(const Fields& fields) {
  return GpuTarget{.node = read_index(fields.need("node"), fields.path("node")),
                   .device = read_index(fields.need("device"), fields.path("device"))};
}

GpuThrottleFault read_gpu_throttle(const Fields& fields) {
  GpuThrottleFault throttle{.gpu = read_gpu(fields)};
  const Json& slowdown = fields.need("slowdown");
  const bool ok = slowdown.is_number() && std::isfinite(slowdown.get<double>()) && slowdown.get<double>() > 1 &&
                  slowdown.get<double>() <= kGpuSlowdownMax;
  if (!ok) {
    fail(fields.path("slowdown"),
         fmt::format("must be a factor above 1 and at most {} (got {})", kGpuSlowdownMax, show(slowdown)));
  }
  throttle.slowdown = slowdown.get<double>();
  throttle.duration_ns = read_ms(fields.need("duration_ms"), fields.path("duration_ms"), TimeUse::kDuration);
  return throttle;
}

GpuMemoryFault read_gpu_memory(const Fields& fields) {
  GpuMemoryFault pressure{.gpu = read_gpu(fields)};
  const Json& bytes = fields.need("bytes");
  const bool ok = bytes.is_number_unsigned() && bytes.get<uint64_t>() >= 1 &&
                  bytes.get<uint64_t>() <= static_cast<uint64_t>(kGpuPressureBytesMax);
  if (!ok) {
    fail(fields.path("bytes"),
         fmt::format("must be a whole number of bytes from 1 to {} (got {})", kGpuPressureBytesMax, show(bytes)));
  }
  pressure.bytes = static_cast<int64_t>(bytes.get<uint64_t>());
  pressure.duration_ns = read_ms(fields.need("duration_ms"), fields.path("duration_ms"), TimeUse::kDuration);
  return pressure;
}

// The keys a fault of `kind` may have, in the order plan_to_json writes them.
std::vector<std::string_view> fault_keys(FaultKind kind) {
  switch (kind) {
    case FaultKind::kCrash: return {"at_ms", "kind", "process"};
    case FaultKind::kNodeCrash: return {"at_ms", "kind", "node", "reboot_after_ms"};
    case FaultKind::kPartition: return {"at_ms", "kind", "sides", "one_way", "duration_ms"};
    case FaultKind::kClog: return {"at_ms", "kind", "node", "link", "duration_ms"};
    case FaultKind::kReset: return {"at_ms", "kind", "link"};
    case FaultKind::kLatency: return {"at_ms", "kind", "extra_latency_ms", "duration_ms"};
    case FaultKind::kStorage: return {"at_ms", "kind", "error_rate", "loss_rate", "duration_ms"};
    case FaultKind::kBuggify: return {"at_ms", "kind", "sites"};
    case FaultKind::kSuspect: return {"at_ms", "kind", "process"};
    case FaultKind::kGpuThrottle: return {"at_ms", "kind", "node", "device", "slowdown", "duration_ms"};
    case FaultKind::kGpuMemory: return {"at_ms", "kind", "node", "device", "bytes", "duration_ms"};
    case FaultKind::kGpuLoss: return {"at_ms", "kind", "node", "device"};
  }
  assert(false);
  return {};
}

FaultParams read_params(FaultKind kind, const Fields& fields) {
  switch (kind) {
    case FaultKind::kCrash: return CrashFault{.process = read_index(fields.need("process"), fields.path("process"))};
    case FaultKind::kNodeCrash: {
      NodeCrashFault crash{.node = read_index(fields.need("node"), fields.path("node"))};
      if (const Json* reboot = fields.find("reboot_after_ms")) {
        crash.reboot_after_ns = read_ms(*reboot, fields.path("reboot_after_ms"), TimeUse::kDuration);
      }
      return crash;
    }
    case FaultKind::kPartition: return read_partition(fields);
    case FaultKind::kClog: return read_clog(fields);
    case FaultKind::kReset: return ResetFault{.link = read_link(fields.need("link"), fields.path("link"))};
    case FaultKind::kLatency:
      return LatencyFault{
          .extra_latency_ns =
              read_ms(fields.need("extra_latency_ms"), fields.path("extra_latency_ms"), TimeUse::kDuration),
          .duration_ns = read_ms(fields.need("duration_ms"), fields.path("duration_ms"), TimeUse::kDuration)};
    case FaultKind::kStorage: return read_storage(fields);
    case FaultKind::kBuggify: return read_buggify(fields);
    case FaultKind::kSuspect:
      return SuspectFault{.process = read_index(fields.need("process"), fields.path("process"))};
    case FaultKind::kGpuThrottle: return read_gpu_throttle(fields);
    case FaultKind::kGpuMemory: return read_gpu_memory(fields);
    case FaultKind::kGpuLoss: return GpuLossFault{.gpu = read_gpu(fields)};
  }
  assert(false);
  return CrashFault{};
}

FaultKind read_kind(const Json& value, const std::string& path) {
  if (!value.is_string()) fail(path, fmt::format("must be a fault kind name (got {})", show(value)));
  const std::optional<FaultKind> kind = fault_kind_from_name(value.get<std::string>());
  if (!kind) {
    fail(path, fmt::format("unknown fault kind '{}' (expected {})", value.get<std::string>(), fault_kind_choices()));
  }
  return *kind;
}

ScheduledFault read_fault(const Json& value, const std::string& path) {
  if (!value.is_object()) fail(path, fmt::format("must be an object (got {})", show(value)));
  const auto kind_it = value.find("kind");
  if (kind_it == value.end()) fail(key_path(path, "kind"), "missing required field of a fault");
  const FaultKind kind = read_kind(*kind_it, key_path(path, "kind"));
  const Fields fields(value, path, fmt::format("a {} fault", fault_kind_name(kind)), fault_keys(kind));
  ScheduledFault fault{.at_ns = read_ms(fields.need("at_ms"), fields.path("at_ms"), TimeUse::kInstant),
                       .params = read_params(kind, fields)};
  assert(fault.kind() == kind);
  return fault;
}

std::map<FaultKind, double> read_intensities(const Fields& fields, const std::set<FaultKind>& kinds) {
  const std::string path = fields.path("intensity_per_s");
  const Json& object = fields.need("intensity_per_s");
  if (!object.is_object()) {
    fail(path, fmt::format("must be an object from kind names to faults per second (got {})", show(object)));
  }
  std::map<FaultKind, double> intensities;
  for (const auto& [name, value] : object.items()) {
    const std::string entry = key_path(path, name);
    const std::optional<FaultKind> kind = fault_kind_from_name(name);
    if (!kind) fail(entry, fmt::format("unknown fault kind '{}' (expected {})", name, fault_kind_choices()));
    if (!kinds.contains(*kind)) fail(entry, fmt::format("kind '{}' is not in {}", name, fields.path("kinds")));
    const bool ok = value.is_number() && std::isfinite(value.get<double>()) && value.get<double>() > 0 &&
                    value.get<double>() <= kIntensityPerSecondMax;
    if (!ok) {
      fail(entry, fmt::format("must be a number of faults per second above 0 and at most {} (got {})",
                              kIntensityPerSecondMax, show(value)));
    }
    intensities[*kind] = value.get<double>();
  }
  for (FaultKind kind : kinds) {
    if (!intensities.contains(kind)) {
      fail(key_path(path, fault_kind_name(kind)), "missing: every enabled kind needs an intensity");
    }
  }
  return intensities;
}

GeneratorSettings read_generator(const Json& value, const std::string& path) {
  const Fields fields(value, path, "the generator settings",
                      {"kinds", "intensity_per_s", "fault_window_ms", "quiet_ms", "deadline_ms"});
  GeneratorSettings settings;
  const std::string kinds_path = fields.path("kinds");
  const Json& kinds = read_array(fields.need("kinds"), kinds_path, "fault kind names");
  for (size_t i = 0; i < kinds.size(); ++i) {
    const FaultKind kind = read_kind(kinds[i], index_path(kinds_path, i));
    if (!settings.kinds.insert(kind).second) {
      fail(index_path(kinds_path, i), fmt::format("kind '{}' is listed twice", fault_kind_name(kind)));
    }
  }
  settings.intensity_per_s = read_intensities(fields, settings.kinds);
  settings.fault_window_ns = read_ms(fields.need("fault_window_ms"), fields.path("fault_window_ms"), TimeUse::kInstant);
  settings.quiet_ns = read_ms(fields.need("quiet_ms"), fields.path("quiet_ms"), TimeUse::kInstant);
  settings.deadline_ns = read_ms(fields.need("deadline_ms"), fields.path("deadline_ms"), TimeUse::kDuration);
  if (settings.fault_window_ns + settings.quiet_ns > settings.deadline_ns) {
    fail(fields.path("deadline_ms"), fmt::format("must be at least fault_window_ms + quiet_ms = {} ms (got {} ms)",
                                                 ms_json(settings.fault_window_ns + settings.quiet_ns).dump(),
                                                 ms_json(settings.deadline_ns).dump()));
  }
  return settings;
}

// The time a fault stops acting and the field that sets it, or nullopt for an instant fault (or a
// node that never reboots).
std::optional<std::pair<Nanos, std::string_view>> fault_end(const ScheduledFault& fault) {
  return std::visit(
      [&](const auto& params) -> std::optional<std::pair<Nanos, std::string_view>> {
        using T = std::decay_t<decltype(params)>;
        if constexpr (std::is_same_v<T, NodeCrashFault>) {
          if (!params.reboot_after_ns) return std::nullopt;
          return std::pair{fault.at_ns + *params.reboot_after_ns, "reboot_after_ms"};
        } else if constexpr (requires { params.duration_ns; }) {
          return std::pair{fault.at_ns + params.duration_ns, "duration_ms"};
        } else {
          return std::nullopt;
        }
      },
      fault.params);
}

// With generator settings, every fault starts and ends inside the fault window: the quiet phase
// after it is fault-free.
void check_window(const FaultPlan& plan) {
  if (!plan.generator) return;
  const Nanos window = plan.generator->fault_window_ns;
  for (size_t i = 0; i < plan.faults.size(); ++i) {
    const ScheduledFault& fault = plan.faults[i];
    const std::string path = index_path("faults", i);
    if (fault.at_ns >= window) {
      fail(key_path(path, "at_ms"), fmt::format("{} ms is outside the generator's fault window [0, {} ms)",
                                                ms_json(fault.at_ns).dump(), ms_json(window).dump()));
    }
    if (const auto end = fault_end(fault); end && end->first > window) {
      fail(key_path(path, end->second),
           fmt::format("the fault ends at {} ms, after the generator's fault window ({} ms)",
                       ms_json(end->first).dump(), ms_json(window).dump()));
    }
  }
}

std::string read_scenario_name(const Json& value) {
  const bool ok = value.is_string() && !value.get<std::string>().empty() &&
                  value.get<std::string>().size() <= kPlanScenarioNameBytesMax;
  if (!ok) {
    fail("scenario", fmt::format("must be a scenario name, a string of 1 to {} bytes (got {})",
                                 kPlanScenarioNameBytesMax, show(value)));
  }
  return value.get<std::string>();
}

uint64_t read_seed(const Json& value) {
  if (!value.is_number_unsigned()) {
    fail("seed", fmt::format("must be a seed, an integer from 0 to 2^64-1 (got {})", show(value)));
  }
  return value.get<uint64_t>();
}

// {"decisions": [[decision, choice], ...]}: decision numbers strictly increasing.
sim::GuidedSchedule read_schedule(const Json& value) {
  const Fields fields(value, "schedule", "the schedule", {"decisions"});
  const std::string path = fields.path("decisions");
  const Json& decisions = read_array(fields.need("decisions"), path, "[decision, choice] pairs");
  if (decisions.size() > kPlanScheduleChoicesMax) {
    fail(path, fmt::format("too many decisions ({}; the limit is {})", decisions.size(), kPlanScheduleChoicesMax));
  }
  sim::GuidedSchedule schedule;
  for (size_t i = 0; i < decisions.size(); ++i) {
    const std::string entry = index_path(path, i);
    const Json& pair = decisions[i];
    if (!pair.is_array() || pair.size() != 2) {
      fail(entry, fmt::format("must be a [decision, choice] pair (got {})", show(pair)));
    }
    const Json& decision = pair[0];
    if (!decision.is_number_unsigned() || decision.get<uint64_t>() < 1 || decision.get<uint64_t>() > kPlanDecisionMax) {
      fail(index_path(entry, 0),
           fmt::format("must be a decision number, an integer from 1 to {} (got {})", kPlanDecisionMax,
                       show(decision)));
    }
    const Json& choice = pair[1];
    if (!choice.is_number_unsigned() || choice.get<uint64_t>() > kPlanChoiceMax) {
      fail(index_path(entry, 1),
           fmt::format("must be an index into the ready list, an integer from 0 to {} (got {})", kPlanChoiceMax,
                       show(choice)));
    }
    const uint64_t number = decision.get<uint64_t>();
    if (!schedule.choices.empty() && number <= schedule.choices.back().decision) {
      fail(index_path(entry, 0), fmt::format("must be above the previous decision number {} (got {})",
                                             schedule.choices.back().decision, number));
    }
    schedule.choices.push_back({.decision = number, .choice = static_cast<uint32_t>(choice.get<uint64_t>())});
  }
  return schedule;
}

// {"outcome": "pass"} or {"outcome": "fail", "match": "message"|"check", "failure": TEXT}.
Expectation read_expect(const Json& value) {
  const Fields fields(value, "expect", "the expect section", {"outcome", "match", "failure"});
  const Json& outcome = fields.need("outcome");
  Expectation expect;
  if (outcome == "pass") {
    expect.outcome = ExpectedOutcome::kPass;
  } else if (outcome == "fail") {
    expect.outcome = ExpectedOutcome::kFail;
  } else {
    fail(fields.path("outcome"), fmt::format("must be \"pass\" or \"fail\" (got {})", show(outcome)));
  }
  if (expect.outcome == ExpectedOutcome::kPass) {
    for (std::string_view key : {"match", "failure"}) {
      if (fields.find(key) != nullptr) {
        fail(fields.path(key), "an expected pass has no failure to match (remove the field, or expect \"fail\")");
      }
    }
    return expect;
  }
  const Json& match = fields.need("match");
  if (match == "message") {
    expect.match = FailureMatch::kMessage;
  } else if (match == "check") {
    expect.match = FailureMatch::kCheck;
  } else {
    fail(fields.path("match"), fmt::format("must be \"message\" or \"check\" (got {})", show(match)));
  }
  const Json& failure = fields.need("failure");
  if (!failure.is_string() || failure.get<std::string>().empty()) {
    fail(fields.path("failure"),
         fmt::format("must be the failure text, a non-empty string (got {})", show(failure)));
  }
  expect.failure = failure.get<std::string>();
  if (expect.failure.size() > kPlanFailureBytesMax) {
    fail(fields.path("failure"),
         fmt::format("is {} bytes; the limit is {}", expect.failure.size(), kPlanFailureBytesMax));
  }
  return expect;
}

FaultPlan read_plan(const Json& root) {
  const Fields fields(root, "", "a plan",
                      {"version", "scenario", "seed", "expect", "generator", "faults", "schedule"});
  const Json& version = fields.need("version");
  if (!version.is_number_integer()) {
    fail("version", fmt::format("must be the integer {} (got {})", kPlanVersion, show(version)));
  }
  if (!version.is_number_unsigned() || version.get<uint64_t>() != kPlanVersion) {
    fail("version",
         fmt::format("unsupported plan version {} (this build reads version {})", show(version), kPlanVersion));
  }
  FaultPlan plan;
  if (const Json* scenario = fields.find("scenario")) plan.scenario = read_scenario_name(*scenario);
  if (const Json* seed = fields.find("seed")) plan.seed = read_seed(*seed);
  if (const Json* expect = fields.find("expect")) plan.expect = read_expect(*expect);
  if (const Json* generator = fields.find("generator")) plan.generator = read_generator(*generator, "generator");
  const Json& faults = read_array(fields.need("faults"), "faults", "faults");
  if (faults.size() > kPlanFaultsMax) {
    fail("faults", fmt::format("too many faults ({}; the limit is {})", faults.size(), kPlanFaultsMax));
  }
  plan.faults.reserve(faults.size());
  for (size_t i = 0; i < faults.size(); ++i) plan.faults.push_back(read_fault(faults[i], index_path("faults", i)));
  check_window(plan);
  if (const Json* schedule = fields.find("schedule")) plan.schedule = read_schedule(*schedule);
  return plan;
}

}  // namespace

absl::StatusOr<FaultPlan> parse_plan(std::string_view json, std::string_view source_name) {
  absl::StatusOr<Json> root = parse_json_text(json, source_name);
  if (!root.ok()) return root.status();
  try {
    return read_plan(*root);
  } catch (const PlanError& error) {
    return absl::InvalidArgumentError(fmt::format("{}: {}: {}", source_name, error.path, error.reason));
  }
}

absl::StatusOr<FaultPlan> load_plan(const std::string& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    return absl::InvalidArgumentError(fmt::format("{}: is a directory, not a plan file", path));
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  const uintmax_t size = std::filesystem::file_size(path, error);
  if (!error && size > kPlanFileBytesMax) {
    return absl::InvalidArgumentError(fmt::format("{}: file is {} bytes; the limit is {}", path, size, kPlanFileBytesMax));
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) return absl::InvalidArgumentError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  return parse_plan(text.view(), path);
}

absl::Status validate_plan(const FaultPlan& plan, std::string_view source_name) {
  absl::StatusOr<FaultPlan> reread = parse_plan(plan_to_json(plan), source_name);
  if (!reread.ok()) return reread.status();
  if (!(*reread == plan)) {
    return absl::InternalError(
        fmt::format("{}: the plan changes when written and read back (unsorted partition "
                    "sides or buggify sites, or an expected failure that is not UTF-8?)",
                    source_name));
  }
  return absl::OkStatus();
}

}  // namespace troupe::faults
