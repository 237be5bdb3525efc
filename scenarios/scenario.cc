#include "scenarios/scenario.h"

#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <utility>

#include "fmt/format.h"

namespace troupe::scenarios {

std::vector<int> range_inclusive(int first, int last) {
  std::vector<int> values(static_cast<size_t>(last - first + 1));
  std::iota(values.begin(), values.end(), first);
  return values;
}

bool keep_working(System& sys, const Checks& checks, int rounds_done) {
  if (rounds_done == 0) return true;
  // On a real platform only while real faults are planned (the cluster's chaos kills).
  return (sys.platform().simulated() || checks.faults_planned()) && sys.platform().now() < checks.fault_window_ns();
}

std::string CheckFailure::message() const {
  if (detail.empty()) return fmt::format("always '{}' failed", name);
  return fmt::format("always '{}' failed: {}", name, detail);
}

bool Checks::always(std::string_view name, bool condition, std::string_view detail) {
  if (condition || failure_.has_value()) return condition;
  failure_ = CheckFailure{.name = std::string(name), .detail = std::string(detail)};
  trace(failure_->message());
  return condition;
}

bool Checks::sometimes(std::string_view name, bool condition) {
  if (!declared_.contains(name)) declared_.emplace(name);
  if (condition && !hit_.contains(name)) {
    hit_.emplace(name);
    trace(fmt::format("sometimes '{}' held", name));
  }
  return condition;
}

void Checks::trace(std::string detail) {
  if (platform_ == nullptr) return;
  platform_->trace({.kind = TraceKind::kCheck, .detail = std::move(detail)});
}

namespace {
[[noreturn]] void registry_bug(std::string_view what, std::string_view name) {
  std::fputs(fmt::format("troupe: scenario registry: {} ('{}')\n", what, name).c_str(), stderr);
  std::abort();
}
}  // namespace

void Registry::add(Scenario scenario) {
  if (scenario.name.empty()) registry_bug("a scenario has no name", scenario.summary);
  if (!scenario.driver) registry_bug("a scenario has no driver", scenario.name);
  if (scenario.cluster.nodes.empty()) registry_bug("a scenario's cluster has no nodes", scenario.name);
  if (scenarios_.contains(scenario.name)) registry_bug("two scenarios have the same name", scenario.name);
  const bool named_as_bug = scenario.name.find(".bug_") != std::string::npos;
  if (named_as_bug != scenario.expect_fail) {
    registry_bug("planted bugs, and only they, are named <scenario>.bug_<what> with expect_fail", scenario.name);
  }
  std::string name = scenario.name;
  scenarios_.emplace(std::move(name), std::move(scenario));
}

const Scenario* Registry::find(std::string_view name) const {
  auto it = scenarios_.find(name);
  return it == scenarios_.end() ? nullptr : &it->second;
}

std::vector<const Scenario*> Registry::all() const {
  std::vector<const Scenario*> result;
  result.reserve(scenarios_.size());
  for (const auto& [name, scenario] : scenarios_) result.push_back(&scenario);
  return result;
}

}  // namespace troupe::scenarios
