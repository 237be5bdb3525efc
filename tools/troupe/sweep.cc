#include "tools/troupe/sweep.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "fmt/format.h"
#include "scenarios/runner.h"
#include "tools/troupe/interrupt.h"
#include "tools/troupe/progress.h"
#include "tools/troupe/seed_result.h"
#include "tools/troupe/text.h"
#include "tools/troupe/workers.h"

namespace troupe::cli {
namespace {

// Planted bugs judged as such print only their first few findings; the summary counts the rest.
constexpr uint64_t kExpectedFailuresPrinted = 3;
// Other scenarios print their first failures, then only failures with a message not seen before
// (a bug that fails half of 100,000 seeds should not print 50,000 lines); the summary has all.
constexpr uint64_t kFailuresPrinted = 10;

void report_failure(std::FILE* out, Progress& progress, const ScenarioResult& result, const RunCommand& command,
                    const SeedFailure& failure, bool& quiet_noted) {
  const std::string& name = result.scenario->name;
  if (result.judged_as_bug && result.failures.size() > kExpectedFailuresPrinted) return;
  if (result.failures.size() > kFailuresPrinted && result.distinct.at(failure.message).count > 1) {
    if (!quiet_noted) {
      quiet_noted = true;
      progress.clear();
      fmt::print(out, "(further failures of {} with a message already printed are counted in the summary, not printed)\n",
                 name);
    }
    return;
  }
  progress.clear();
  if (result.judged_as_bug) {
    fmt::print(out, "found {} seed {} (planted bug, expected): ", name, failure.seed);
  } else {
    fmt::print(out, "FAIL {} seed {}: ", name, failure.seed);
  }
  print_indented(out, failure.message, 4);
  // The hash lets a reader confirm the replay is the same run (replay prints "trace hash: ...").
  fmt::print(out, "  replay: {}  # trace hash {:#018x}\n",
             scenarios::replay_command(name, sweep_run_options(command, failure.seed)), failure.trace_hash);
  std::fflush(out);
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

// Folds seed results into a SweepResult in order — scenario by scenario, each scenario's seeds
// ascending — printing failures and divergences as it goes. Both the in-process sweep and the
// worker pool feed it, which is why --jobs N prints and counts exactly what --jobs 1 does.
class Folder {
 public:
  Folder(SweepResult& sweep, const std::vector<const scenarios::Scenario*>& selected, std::FILE* out,
         Progress& progress)
      : sweep_(sweep), selected_(selected), out_(out), progress_(progress) {}

  // Starts the next scenario (the first call starts scenario 0).
  void begin_scenario() {
    const scenarios::Scenario* scenario = selected_[sweep_.scenarios.size()];
    ScenarioResult& result = sweep_.scenarios.emplace_back();
    result.scenario = scenario;
    result.judged_as_bug = sweep_.command.bugs && scenario->expect_fail;
    quiet_noted_ = false;
    note_untolerated_kinds(*scenario, sweep_.command, out_);
  }
  size_t current() const { return sweep_.scenarios.size() - 1; }
  bool started_all() const { return sweep_.scenarios.size() == selected_.size(); }

  // Folds the next seed of the current scenario. Returns false when --max-failures stops the
  // scenario with this seed (the caller skips its remaining seeds).
  bool fold(SeedResult seed) {
    const RunCommand& command = sweep_.command;
    ScenarioResult& result = sweep_.scenarios.back();
    ++result.seeds_run;
    result.wall_seconds += seed.wall_seconds;
    result.sweep_hash = combine_sweep_hash(result.sweep_hash, seed.seed, seed.trace_hash);
    for (const std::string& kind : seed.fault_kinds) ++result.fault_kinds[kind];
    result.sometimes_declared.insert(seed.sometimes_declared.begin(), seed.sometimes_declared.end());
    result.sometimes_hit.insert(seed.sometimes_hit.begin(), seed.sometimes_hit.end());
    bool failed = false;
    if (seed.diverged) {
      failed = true;
      result.divergences.push_back({.seed = seed.seed, .event_index = seed.divergence_event,
                                    .first_event = seed.first_event, .second_event = seed.second_event,
                                    .first_hash = seed.trace_hash, .second_hash = seed.second_hash});
      progress_.clear();
      fmt::print(out_, "NONDETERMINISTIC {} ", result.scenario->name);
      print_indented(out_, seed.divergence_message, 2);
      fmt::print(out_, "  replay: {}\n",
                 scenarios::replay_command(result.scenario->name, sweep_run_options(command, seed.seed)));
      std::fflush(out_);
    }
    if (!seed.passed) {
      failed = true;
      result.failures.push_back({.seed = seed.seed, .message = seed.failure, .trace_hash = seed.trace_hash,
                                 .faults = seed.fault_kinds.size()});
      FailureGroup& group = result.distinct[seed.failure];
      if (group.count++ == 0) group.first_seed = seed.seed;
      report_failure(out_, progress_, result, command, result.failures.back(), quiet_noted_);
    }
    if (failed) {
      ++result.failed_seeds;
      if (!result.judged_as_bug) ++failures_;
    }
    if (command.max_failures == 0 || result.failed_seeds < command.max_failures || seed.seed == command.seeds.last) {
      return true;
    }
    result.stopped_at_seed = seed.seed;
    progress_.clear();
    fmt::print(out_, "stopped {} at seed {} after {} failing seed{} (--max-failures {}); seeds {}..{} not run\n",
               result.scenario->name, seed.seed, result.failed_seeds, result.failed_seeds == 1 ? "" : "s",
               command.max_failures, seed.seed + 1, command.seeds.last);
    std::fflush(out_);
    return false;
  }

  // Failures so far, for the progress line (planted bugs judged as bugs do not count).
  uint64_t failures() const { return failures_; }

 private:
  SweepResult& sweep_;
  const std::vector<const scenarios::Scenario*>& selected_;
  std::FILE* out_;
  Progress& progress_;
  uint64_t failures_ = 0;
  bool quiet_noted_ = false;  // the current scenario said it stops printing repeated failures
};

// The seeds of `range` not in `ran` (ascending), as ranges.
std::vector<SeedRange> missing_ranges(const SeedRange& range, const std::vector<uint64_t>& ran) {
  std::vector<SeedRange> missing;
  uint64_t next = range.first;  // the first seed not yet accounted for
  bool done = false;
  for (uint64_t seed : ran) {
    if (seed > next) missing.push_back({.first = next, .last = seed - 1});
    if (seed == range.last) {
      done = true;
      break;
    }
    next = seed + 1;
  }
  if (!done) missing.push_back({.first = next, .last = range.last});
  return missing;
}

// --jobs 1: every seed in this process, in order.
void sweep_in_process(Folder& folder, const std::vector<const scenarios::Scenario*>& selected,
                      const RunCommand& command, Progress& progress, SweepResult& sweep) {
  uint64_t done = 0;
  for (size_t index = 0; index < selected.size(); ++index) {
    folder.begin_scenario();
    ScenarioResult& result = sweep.scenarios.back();
    for (uint64_t seed = command.seeds.first;; ++seed) {
      if (interrupted()) {
        sweep.interrupted = true;
        result.not_run.push_back({.first = seed, .last = command.seeds.last});
        break;
      }
      const bool go_on = folder.fold(compute_seed(*selected[index], command, seed));
      progress.update(selected[index]->name, ++done, folder.failures());
      if (seed == command.seeds.last) break;  // the range may end at 2^64-1
      if (!go_on) {
        done += command.seeds.last - seed;  // the seeds it will not run
        break;
      }
    }
    if (sweep.interrupted) {
      for (size_t rest = index + 1; rest < selected.size(); ++rest) {
        folder.begin_scenario();
        sweep.scenarios.back().not_run.push_back(command.seeds);
      }
      return;
    }
  }
}

// --jobs N: seeds in N worker processes, folded here in order.
absl::Status sweep_in_workers(Folder& folder, const std::vector<const scenarios::Scenario*>& selected,
                              const RunCommand& command, Progress& progress, SweepResult& sweep) {
  const uint64_t count = command.seeds.count();
  // Units small enough to balance the load at the end of a scenario, large enough that the pipe
  // round trip per unit does not matter.
  const uint64_t unit_seeds = std::clamp<uint64_t>(count / (static_cast<uint64_t>(command.jobs) * 8), 1, 64);
  std::fflush(nullptr);  // the children inherit stdio buffers
  absl::StatusOr<std::unique_ptr<WorkerPool>> pool = WorkerPool::start(
      command.jobs, [&](uint32_t scenario, uint64_t seed) { return compute_seed(*selected[scenario], command, seed); });
  if (!pool.ok()) return pool.status();

  struct Pending {
    std::map<uint64_t, SeedResult> buffered;  // received, not yet folded
    uint64_t next_fold = 0;                   // the next seed to fold
    bool stopped = false;                     // --max-failures stopped it
    bool complete = false;                    // every seed folded or skipped
  };
  std::vector<Pending> pending(selected.size());
  for (Pending& p : pending) p.next_fold = command.seeds.first;
  std::deque<SeedUnit> requeued;  // the rest of a dead worker's unit, first
  uint32_t next_scenario = 0;     // the next unit to hand out: scenario and first seed
  uint64_t next_seed = command.seeds.first;
  bool units_left = true;
  uint64_t done = 0;
  folder.begin_scenario();

  const auto next_unit = [&]() -> std::optional<SeedUnit> {
    while (!requeued.empty()) {
      SeedUnit unit = requeued.front();
      requeued.pop_front();
      if (!pending[unit.scenario].stopped) return unit;
    }
    while (units_left && pending[next_scenario].stopped) {
      if (++next_scenario == selected.size()) units_left = false;
      next_seed = command.seeds.first;
    }
    if (!units_left) return std::nullopt;
    SeedUnit unit{.scenario = next_scenario, .first = next_seed,
                  .last = command.seeds.last - next_seed < unit_seeds ? command.seeds.last : next_seed + unit_seeds - 1};
    if (unit.last == command.seeds.last) {
      next_seed = command.seeds.first;
      if (++next_scenario == selected.size()) units_left = false;
    } else {
      next_seed = unit.last + 1;
    }
    return unit;
  };
  // Folds what is contiguous, scenario by scenario.
  const auto drain = [&]() {
    while (true) {
      Pending& p = pending[folder.current()];
      if (!p.complete) {
        auto it = p.buffered.find(p.next_fold);
        if (it == p.buffered.end()) return;
        const uint64_t seed = it->first;
        const bool go_on = folder.fold(std::move(it->second));
        p.buffered.erase(it);
        if (seed == command.seeds.last || !go_on) {
          p.complete = true;
          if (!go_on) {
            p.stopped = true;
            done += command.seeds.last - seed - p.buffered.size();  // skipped, never to be folded
            p.buffered.clear();
          }
        } else {
          p.next_fold = seed + 1;
        }
        continue;
      }
      if (folder.started_all()) return;
      folder.begin_scenario();
    }
  };

  WorkerPool& workers = **pool;
  bool stopping = false;
  while (true) {
    if (!stopping && interrupted()) {
      stopping = true;
      sweep.interrupted = true;
      workers.interrupt();
    }
    while (!stopping && workers.idle_count() > 0) {
      std::optional<SeedUnit> unit = next_unit();
      if (!unit) break;
      workers.assign(*unit);
    }
    if (workers.busy_count() == 0) break;
    absl::StatusOr<std::vector<WorkerEvent>> events = workers.wait();
    if (!events.ok()) return events.status();
    for (WorkerEvent& event : *events) {
      Pending& p = pending[event.scenario];
      if (event.kind == WorkerEvent::Kind::kUnitDone) continue;
      SeedResult result;
      if (event.kind == WorkerEvent::Kind::kResult) {
        result = std::move(event.result);
      } else {  // kDied: the seed it was running fails; the rest of its unit goes back in the queue
        result = {.seed = event.unit.first, .passed = false,
                  .failure = fmt::format("the worker process running this seed died: {}", event.why)};
        if (event.unit.first != event.unit.last) {
          requeued.push_front({.scenario = event.scenario, .first = event.unit.first + 1, .last = event.unit.last});
        }
      }
      if (p.stopped) continue;  // a seed after the one --max-failures stopped at
      ++done;
      p.buffered.emplace(result.seed, std::move(result));
      progress.update(selected[event.scenario]->name, done, folder.failures());
    }
    drain();
  }
  if (!sweep.interrupted) return absl::OkStatus();
  // Interrupted: fold whatever ran, gaps and all, and name the gaps.
  while (true) {
    const size_t index = folder.current();
    Pending& p = pending[index];
    if (!p.complete) {
      // Every seed before next_fold was folded; after it, only the buffered ones ran.
      std::vector<uint64_t> ran;
      for (auto& [seed, result] : p.buffered) {
        ran.push_back(seed);
        if (!folder.fold(std::move(result))) break;
      }
      sweep.scenarios.back().not_run = missing_ranges({.first = p.next_fold, .last = command.seeds.last}, ran);
      if (sweep.scenarios.back().stopped_at_seed) sweep.scenarios.back().not_run.clear();
    }
    if (folder.started_all()) break;
    folder.begin_scenario();
  }
  return absl::OkStatus();
}

}  // namespace

uint64_t combine_sweep_hash(uint64_t sweep_hash, uint64_t seed, uint64_t trace_hash) {
  // FNV-style folding of both 64-bit words, then the MurmurHash3 finaliser (as Trace's hash).
  uint64_t h = sweep_hash;
  for (uint64_t word : {seed, trace_hash}) {
    h = (h ^ word) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
  }
  return h;
}

bool ScenarioResult::passed() const {
  if (!divergences.empty()) return false;
  return judged_as_bug ? !failures.empty() : failures.empty();
}

std::string ScenarioResult::verdict() const {
  if (seeds_run == 0 && !not_run.empty()) return "not run";
  if (!divergences.empty()) return "FAILED (nondeterministic)";
  if (!not_run.empty() && failures.empty() && !judged_as_bug) return "passed so far";
  if (judged_as_bug) return failures.empty() ? "bug NOT found" : "bug found (expected)";
  if (failures.empty()) return "passed";
  return scenario->expect_fail ? "FAILED (planted bug found)" : "FAILED";
}

uint64_t SweepResult::divergence_count() const {
  uint64_t count = 0;
  for (const ScenarioResult& scenario : scenarios) count += scenario.divergences.size();
  return count;
}

uint64_t SweepResult::seeds_run() const {
  uint64_t seeds = 0;
  for (const ScenarioResult& scenario : scenarios) seeds += scenario.seeds_run;
  return seeds;
}

int SweepResult::exit_code() const {
  if (interrupted) return kExitInterrupted;
  const bool all_passed =
      std::all_of(scenarios.begin(), scenarios.end(), [](const ScenarioResult& s) { return s.passed(); });
  return all_passed ? kExitPassed : kExitFailed;
}

absl::StatusOr<SweepResult> run_sweep(const std::vector<const scenarios::Scenario*>& selected,
                                      const RunCommand& command, std::FILE* out, std::FILE* err) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  SweepResult sweep{.command = command};
  Progress progress(err, command.seeds.count() * selected.size());
  Folder folder(sweep, selected, out, progress);
  InterruptGuard guard;
  if (command.jobs <= 1) {
    sweep_in_process(folder, selected, command, progress, sweep);
  } else if (absl::Status status = sweep_in_workers(folder, selected, command, progress, sweep); !status.ok()) {
    progress.finish();
    return status;
  }
  progress.finish();
  sweep.elapsed_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return sweep;
}

}  // namespace troupe::cli
