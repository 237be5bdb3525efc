#include "tools/troupe/sweep.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <string_view>

#include "fmt/format.h"
#include "scenarios/runner.h"
#include "tools/troupe/progress.h"

namespace troupe::cli {
namespace {

// Planted bugs judged as such print only their first few findings; the summary counts the rest.
constexpr uint64_t kExpectedFailuresPrinted = 3;
// Distinct failure messages listed per scenario in the summary.
constexpr size_t kDistinctListed = 10;

// Prints `text` with every line after the first indented by `indent` spaces.
void print_indented(std::FILE* out, std::string_view text, int indent) {
  size_t start = 0;
  bool first = true;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    std::string_view line = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    fmt::print(out, "{:{}}{}\n", "", first ? 0 : indent, line);
    first = false;
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
}

scenarios::RunOptions run_options(const RunCommand& command, uint64_t seed) {
  return {.seed = seed, .platform = command.platform, .strategy = command.strategy,
          .strategy_options = {.pct = command.pct},
          .faults = command.faults.selection, .plan = command.faults.plan, .plan_path = command.faults.plan_path};
}

void report_failure(std::FILE* out, Progress& progress, const ScenarioResult& result, const RunCommand& command,
                    const SeedFailure& failure) {
  const std::string& name = result.scenario->name;
  if (result.judged_as_bug && result.failures.size() > kExpectedFailuresPrinted) return;
  progress.clear();
  if (result.judged_as_bug) {
    fmt::print(out, "found {} seed {} (planted bug, expected): ", name, failure.seed);
  } else {
    fmt::print(out, "FAIL {} seed {}: ", name, failure.seed);
  }
  print_indented(out, failure.message, 4);
  // The hash lets a reader confirm the replay is the same run (replay prints "trace hash: ...").
  fmt::print(out, "  replay: {}  # trace hash {:#018x}\n",
             scenarios::replay_command(name, run_options(command, failure.seed)), failure.trace_hash);
  std::fflush(out);
}

// Runs one seed of `result.scenario` and folds its outcome into `result`.
void run_seed(ScenarioResult& result, const RunCommand& command, uint64_t seed, std::FILE* out, Progress& progress) {
  const scenarios::RunOptions options = run_options(command, seed);
  scenarios::RunOutcome outcome;
  if (command.check_determinism) {
    scenarios::DeterminismReport report = scenarios::check_determinism(*result.scenario, options);
    if (report.diverged) {
      result.divergences.push_back({.seed = seed, .event_index = report.event_index,
                                    .first_event = report.first_event, .second_event = report.second_event,
                                    .first_hash = report.first.trace_hash, .second_hash = report.second_hash});
      progress.clear();
      fmt::print(out, "NONDETERMINISTIC {} ", result.scenario->name);
      print_indented(out, report.message, 2);
      fmt::print(out, "  replay: {}\n", scenarios::replay_command(result.scenario->name, options));
      std::fflush(out);
    }
    outcome = std::move(report.first);
  } else {
    outcome = scenarios::run_scenario(*result.scenario, options);
  }
  ++result.seeds_run;
  for (const std::string& fault : outcome.faults) ++result.fault_kinds[fault.substr(0, fault.find(' '))];
  result.sometimes_declared.insert(outcome.sometimes_declared.begin(), outcome.sometimes_declared.end());
  result.sometimes_hit.insert(outcome.sometimes_hit.begin(), outcome.sometimes_hit.end());
  if (outcome.passed) return;
  result.failures.push_back({.seed = seed, .message = outcome.failure, .trace_hash = outcome.trace_hash});
  FailureGroup& group = result.distinct[outcome.failure];
  if (group.count++ == 0) group.first_seed = seed;
  report_failure(out, progress, result, command, result.failures.back());
}

// Swarm draws only the kinds a scenario is built to survive (Scenario::tolerates): say which of
// the asked-for kinds it leaves out, so `--faults crash` on counter does not look like a pass
// under crashes.
void note_untolerated_kinds(const scenarios::Scenario& scenario, const RunCommand& command, std::FILE* out) {
  if (command.platform != scenarios::PlatformKind::kSim || command.faults.plan ||
      command.faults.selection.mode == faults::FaultSelection::Mode::kNone) {
    return;
  }
  std::set<faults::FaultKind> left_out;
  for (faults::FaultKind kind : command.faults.selection.kinds) {
    if (scenario.tolerates.count(kind) == 0) left_out.insert(kind);
  }
  if (left_out.empty()) return;
  const std::string tolerated = faults::fault_kind_list(scenario.tolerates);
  fmt::print(out, "note: {} is built to survive only {} (Scenario::tolerates): swarm leaves out {} for it\n",
             scenario.name, tolerated.empty() ? "no faults" : tolerated, faults::fault_kind_list(left_out));
}

}  // namespace

bool ScenarioResult::passed() const {
  if (!divergences.empty()) return false;
  return judged_as_bug ? !failures.empty() : failures.empty();
}

std::string ScenarioResult::verdict() const {
  if (!divergences.empty()) return "FAILED (nondeterministic)";
  if (judged_as_bug) return failures.empty() ? "bug NOT found" : "bug found (expected)";
  if (failures.empty()) return "passed";
  return scenario->expect_fail ? "FAILED (planted bug found)" : "FAILED";
}

uint64_t SweepResult::divergence_count() const {
  uint64_t count = 0;
  for (const ScenarioResult& scenario : scenarios) count += scenario.divergences.size();
  return count;
}

int SweepResult::exit_code() const {
  const bool all_passed =
      std::all_of(scenarios.begin(), scenarios.end(), [](const ScenarioResult& s) { return s.passed(); });
  return all_passed ? kExitPassed : kExitFailed;
}

SweepResult run_sweep(const std::vector<const scenarios::Scenario*>& selected, const RunCommand& command,
                      std::FILE* out, std::FILE* err) {
  using Clock = std::chrono::steady_clock;
  SweepResult sweep{.command = command};
  Progress progress(err, command.seeds.count() * selected.size());
  uint64_t done = 0;
  uint64_t failures = 0;
  for (const scenarios::Scenario* scenario : selected) {
    ScenarioResult& result = sweep.scenarios.emplace_back();
    result.scenario = scenario;
    result.judged_as_bug = command.bugs && scenario->expect_fail;
    note_untolerated_kinds(*scenario, command, out);
    const Clock::time_point start = Clock::now();
    for (uint64_t seed = command.seeds.first;; ++seed) {
      const size_t failures_before = result.failures.size() + result.divergences.size();
      run_seed(result, command, seed, out, progress);
      const size_t new_failures = result.failures.size() + result.divergences.size() - failures_before;
      if (!result.judged_as_bug) failures += new_failures;
      if (new_failures > 0) ++result.failed_seeds;
      progress.update(scenario->name, ++done, failures);
      if (seed == command.seeds.last) break;  // the range may end at 2^64-1
      if (command.max_failures != 0 && result.failed_seeds >= command.max_failures) {
        result.stopped_at_seed = seed;
        done += command.seeds.last - seed;  // the seeds it will not run
        progress.clear();
        fmt::print(out, "stopped {} at seed {} after {} failing seed{} (--max-failures {}); seeds {}..{} not run\n",
                   scenario->name, seed, result.failed_seeds, result.failed_seeds == 1 ? "" : "s",
                   command.max_failures, seed + 1, command.seeds.last);
        std::fflush(out);
        break;
      }
    }
    result.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  }
  progress.finish();
  return sweep;
}

void print_summary(const SweepResult& sweep, std::FILE* out) {
  size_t width = std::string_view("scenario").size();
  for (const ScenarioResult& result : sweep.scenarios) width = std::max(width, result.scenario->name.size());
  fmt::print(out, "\n{:<{}}  {:>10}  {:>8}  {:>8}  {:>9}  {}\n", "scenario", width, "seeds", "failures", "distinct",
             "wall", "result");
  for (const ScenarioResult& result : sweep.scenarios) {
    fmt::print(out, "{:<{}}  {:>10}  {:>8}  {:>8}  {:>8.2f}s  {}\n", result.scenario->name, width, result.seeds_run,
               result.failures.size(), result.distinct.size(), result.wall_seconds, result.verdict());
  }
  for (const ScenarioResult& result : sweep.scenarios) {
    if (!result.stopped_at_seed) continue;
    fmt::print(out, "stopped early: {} at seed {} after {} failing seed{} (--max-failures {})\n", result.scenario->name,
               *result.stopped_at_seed, result.failed_seeds, result.failed_seeds == 1 ? "" : "s",
               sweep.command.max_failures);
  }
  for (const ScenarioResult& result : sweep.scenarios) {
    if (result.fault_kinds.empty()) continue;
    std::string kinds;
    for (const auto& [kind, count] : result.fault_kinds) {
      kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", kind, count);
    }
    fmt::print(out, "faults applied to {}: {} (over {} seed{})\n", result.scenario->name, kinds, result.seeds_run,
               result.seeds_run == 1 ? "" : "s");
  }
  for (const ScenarioResult& result : sweep.scenarios) {
    if (result.distinct.empty()) continue;
    fmt::print(out, "\ndistinct failures of {}:\n", result.scenario->name);
    // Most frequent first; ties by message (the map's order), so the listing is stable.
    std::vector<std::pair<std::string, FailureGroup>> groups(result.distinct.begin(), result.distinct.end());
    std::stable_sort(groups.begin(), groups.end(),
                     [](const auto& a, const auto& b) { return a.second.count > b.second.count; });
    for (size_t i = 0; i < groups.size() && i < kDistinctListed; ++i) {
      fmt::print(out, "  {:>6}x (first seed {}) ", groups[i].second.count, groups[i].second.first_seed);
      print_indented(out, groups[i].first, 6);
    }
    if (groups.size() > kDistinctListed) fmt::print(out, "  ... and {} more\n", groups.size() - kDistinctListed);
  }
  for (const ScenarioResult& result : sweep.scenarios) {
    for (const std::string& name : result.sometimes_declared) {
      if (!result.sometimes_hit.contains(name)) {
        fmt::print(out, "sometimes never hit: {}: '{}'\n", result.scenario->name, name);
      }
    }
  }
  if (sweep.command.check_determinism) {
    const uint64_t divergences = sweep.divergence_count();
    fmt::print(out, "determinism: {} divergence{}\n", divergences, divergences == 1 ? "" : "s");
    for (const ScenarioResult& result : sweep.scenarios) {
      for (const Divergence& d : result.divergences) {
        fmt::print(out, "  {} seed {}: first differing event #{}\n    first:  {}\n    second: {}\n",
                   result.scenario->name, d.seed, d.event_index, d.first_event, d.second_event);
      }
    }
  }
  size_t failed = 0;
  for (const ScenarioResult& result : sweep.scenarios) failed += result.passed() ? 0 : 1;
  if (failed == 0) {
    fmt::print(out, "all {} scenario{} passed\n", sweep.scenarios.size(), sweep.scenarios.size() == 1 ? "" : "s");
  } else {
    fmt::print(out, "{} of {} scenario{} failed\n", failed, sweep.scenarios.size(),
               sweep.scenarios.size() == 1 ? "" : "s");
  }
}

}  // namespace troupe::cli
