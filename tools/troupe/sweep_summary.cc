// The summary `troupe run` prints after a sweep (format in sweep.h and docs/cli.md): the table,
// the fault counts, each distinct failure with its replay and shrink commands, the `sometimes`
// probes never hit, the divergences, the rate line and the verdict (or what Ctrl-C left unrun).
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "scenarios/runner.h"
#include "tools/troupe/seed_result.h"
#include "tools/troupe/sweep.h"
#include "tools/troupe/text.h"

namespace troupe::cli {
namespace {

// Distinct failure messages listed per scenario in the summary.
constexpr size_t kDistinctListed = 10;

}  // namespace

void print_summary(const SweepResult& sweep, std::FILE* out) {
  size_t width = std::string_view("scenario").size();
  for (const ScenarioResult& result : sweep.scenarios) width = std::max(width, result.scenario->name.size());
  std::vector<std::string> verdicts;
  size_t verdict_width = std::string_view("result").size();
  for (const ScenarioResult& result : sweep.scenarios) {
    verdicts.push_back(result.verdict());
    verdict_width = std::max(verdict_width, verdicts.back().size());
  }
  fmt::print(out, "\n{:<{}}  {:>10}  {:>8}  {:>8}  {:>9}  {:<18}  {:<{}}  {}\n", "scenario", width, "seeds", "failures",
             "distinct", "wall", "sweep hash", "result", verdict_width, "fault kinds");
  for (size_t i = 0; i < sweep.scenarios.size(); ++i) {
    const ScenarioResult& result = sweep.scenarios[i];
    std::string kinds;
    for (const auto& [kind, count] : result.fault_kinds) kinds += fmt::format("{}{}", kinds.empty() ? "" : ",", kind);
    fmt::print(out, "{:<{}}  {:>10}  {:>8}  {:>8}  {:>8.2f}s  {:#018x}  {:<{}}  {}\n", result.scenario->name, width,
               result.seeds_run, result.failures.size(), result.distinct.size(), result.wall_seconds,
               result.sweep_hash, verdicts[i], verdict_width, kinds.empty() ? "-" : kinds);
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
      const uint64_t seed = groups[i].second.first_seed;
      const std::string replay =
          scenarios::replay_command(result.scenario->name, sweep_run_options(sweep.command, seed));
      fmt::print(out, "          replay: {}\n", replay);
      // shrink takes the replay line's flags (sim only: a threads run is not reproducible).
      if (sweep.command.platform == scenarios::PlatformKind::kSim && replay.starts_with("troupe replay ")) {
        fmt::print(out, "          shrink: troupe shrink {} --out {}-{}.plan.json\n",
                   std::string_view(replay).substr(std::string_view("troupe replay ").size()), result.scenario->name,
                   seed);
      }
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
  const RunCommand& command = sweep.command;
  const uint64_t seeds = sweep.seeds_run();
  fmt::print(out, "{} seed{} in {:.1f} s ({:.0f} seeds/s, {} job{}{})\n", seeds, seeds == 1 ? "" : "s",
             sweep.elapsed_seconds, sweep.elapsed_seconds > 0 ? static_cast<double>(seeds) / sweep.elapsed_seconds : 0,
             command.jobs, command.jobs == 1 ? "" : "s",
             command.shard ? fmt::format(", shard {}/{} of {}..{}: seeds {}..{}", command.shard->index,
                                         command.shard->count, command.requested_seeds.first,
                                         command.requested_seeds.last, command.seeds.first, command.seeds.last)
                           : "");
  size_t failed = 0;
  for (const ScenarioResult& result : sweep.scenarios) failed += result.passed() ? 0 : 1;
  if (sweep.interrupted) {
    const uint64_t total = command.seeds.count() * sweep.scenarios.size();
    fmt::print(out, "interrupted (Ctrl-C): {} of {} seeds ran; the summary covers those. Not run:\n", seeds, total);
    for (const ScenarioResult& result : sweep.scenarios) {
      if (result.not_run.empty()) continue;
      std::string ranges;
      for (const SeedRange& range : result.not_run) {
        ranges += fmt::format("{}{}..{}", ranges.empty() ? "" : ", ", range.first, range.last);
      }
      fmt::print(out, "  {}: seeds {}\n", result.scenario->name, ranges);
    }
    fmt::print(out, "{} of {} scenario{} failed so far\n", failed, sweep.scenarios.size(),
               sweep.scenarios.size() == 1 ? "" : "s");
    return;
  }
  if (failed == 0) {
    fmt::print(out, "all {} scenario{} passed\n", sweep.scenarios.size(), sweep.scenarios.size() == 1 ? "" : "s");
  } else {
    fmt::print(out, "{} of {} scenario{} failed\n", failed, sweep.scenarios.size(),
               sweep.scenarios.size() == 1 ? "" : "s");
  }
}

}  // namespace troupe::cli
