#include "tools/troupe/shrink.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "sim/schedule.h"
#include "tools/troupe/ddmin.h"
#include "tools/troupe/text.h"

namespace troupe::cli {
namespace {

using Clock = std::chrono::steady_clock;  // progress lines only, never the runs
constexpr auto kProgressInterval = std::chrono::seconds(2);

// Collects the decisions of a run (its kDecision events), in order.
class DecisionRecorder final : public TraceSink {
 public:
  explicit DecisionRecorder(std::vector<sim::Decision>& decisions) : decisions_(decisions) {}
  void write(const TraceEvent& event) override {
    if (event.kind == TraceKind::kDecision) decisions_.push_back(sim::decision_from_call(event.call));
  }

 private:
  std::vector<sim::Decision>& decisions_;
};

// `ns` halved and rounded down to whole milliseconds; nullopt below 1 ms.
std::optional<Nanos> halved(Nanos ns) {
  const Nanos half = ns / 2;
  if (half < kMillisecond) return std::nullopt;
  return half - half % kMillisecond;
}

// One way to make a fault gentler by a step: the softer fault, or nullopt when this way has no
// step left (or does not apply to the fault's kind).
using Softening = std::function<std::optional<faults::ScheduledFault>(const faults::ScheduledFault&)>;

std::vector<Softening> softenings() {
  using faults::ScheduledFault;
  const Softening shorter = [](const ScheduledFault& fault) -> std::optional<ScheduledFault> {
    ScheduledFault softer = fault;
    const bool changed = std::visit(
        [](auto& params) {
          if constexpr (requires { params.duration_ns; }) {
            const std::optional<Nanos> half = halved(params.duration_ns);
            if (half) params.duration_ns = *half;
            return half.has_value();
          } else {
            return false;
          }
        },
        softer.params);
    return changed ? std::optional(softer) : std::nullopt;
  };
  const Softening sooner_reboot = [](const ScheduledFault& fault) -> std::optional<ScheduledFault> {
    const auto* crash = std::get_if<faults::NodeCrashFault>(&fault.params);
    if (crash == nullptr || !crash->reboot_after_ns) return std::nullopt;
    const std::optional<Nanos> half = halved(*crash->reboot_after_ns);
    if (!half) return std::nullopt;
    ScheduledFault softer = fault;
    std::get<faults::NodeCrashFault>(softer.params).reboot_after_ns = *half;
    return softer;
  };
  const Softening smaller_spike = [](const ScheduledFault& fault) -> std::optional<ScheduledFault> {
    const auto* latency = std::get_if<faults::LatencyFault>(&fault.params);
    if (latency == nullptr) return std::nullopt;
    const std::optional<Nanos> half = halved(latency->extra_latency_ns);
    if (!half) return std::nullopt;
    ScheduledFault softer = fault;
    std::get<faults::LatencyFault>(softer.params).extra_latency_ns = *half;
    return softer;
  };
  // A storage fault with both rates: try without errors, then without losses.
  const auto rate_off = [](bool errors) {
    return [errors](const ScheduledFault& fault) -> std::optional<ScheduledFault> {
      const auto* storage = std::get_if<faults::StorageFault>(&fault.params);
      if (storage == nullptr || storage->error_rate == 0 || storage->loss_rate == 0) return std::nullopt;
      ScheduledFault softer = fault;
      auto& params = std::get<faults::StorageFault>(softer.params);
      (errors ? params.error_rate : params.loss_rate) = 0;
      return softer;
    };
  };
  return {shorter, sooner_reboot, smaller_spike, rate_off(true), rate_off(false)};
}

std::string faults_text(size_t count) { return fmt::format("{} fault{}", count, count == 1 ? "" : "s"); }

std::string first_line(std::string_view text) { return std::string(text.substr(0, text.find('\n'))); }

class Shrinker {
 public:
  Shrinker(const scenarios::Scenario& scenario, const scenarios::RunOptions& options, const ShrinkOptions& shrink)
      : scenario_(scenario), base_(options), shrink_(shrink), start_(Clock::now()), last_progress_(start_) {
    // Candidates carry their whole plan; the original's selection or plan file is not theirs.
    base_.faults = {};
    base_.plan.reset();
    base_.plan_path.clear();
    base_.trace = nullptr;
  }

  uint64_t runs() const { return runs_; }
  bool budget_ran_out() const { return budget_ran_out_; }
  double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
  uint64_t runs_left() const { return shrink_.max_runs - std::min(runs_, shrink_.max_runs); }
  void set_failure(std::string failure) { failure_ = std::move(failure); }

  // The run to shrink, as given (its fault selection or plan file, its strategy).
  scenarios::RunOutcome run_original(scenarios::RunOptions options) {
    options.trace = nullptr;
    follow_plan_schedule(options);
    ++runs_;
    return scenarios::run_scenario(scenario_, options);
  }

  // One run of the seed with `plan` (and its schedule section, if any).
  scenarios::RunOutcome run(const faults::FaultPlan& plan, Trace* trace = nullptr) {
    scenarios::RunOptions options = base_;
    options.plan = plan;
    options.trace = trace;
    follow_plan_schedule(options);
    ++runs_;
    scenarios::RunOutcome outcome = scenarios::run_scenario(scenario_, options);
    if (shrink_.progress != nullptr && Clock::now() - last_progress_ >= kProgressInterval) {
      last_progress_ = Clock::now();
      fmt::print(shrink_.progress, "shrink: {}: {} runs, {:.1f} s\n", phase_, runs_, seconds());
    }
    return outcome;
  }

  bool same_failure(const scenarios::RunOutcome& outcome) const {
    return !outcome.passed && !outcome.schedule_diverged &&
           failure_key(outcome.failure, shrink_.match) == failure_key(failure_, shrink_.match);
  }

  // Whether `plan` still fails the same way; false without a run when the budget is spent.
  bool reproduces(const faults::FaultPlan& plan) {
    if (runs_left() == 0) {
      budget_ran_out_ = true;
      return false;
    }
    return same_failure(run(plan));
  }

  // ddmin over `count` items within the budget; `fails` runs one candidate.
  std::vector<size_t> minimize(size_t count, bool allow_empty, absl::FunctionRef<bool(std::span<const size_t>)> fails) {
    const DdminResult result = ddmin(count, {.allow_empty = allow_empty, .max_tests = runs_left()}, fails);
    if (!result.complete) budget_ran_out_ = true;
    return result.kept;
  }

  void step_done(std::string_view what) {
    if (shrink_.progress == nullptr) return;
    fmt::print(shrink_.progress, "shrink: {}, {} run{}, {:.1f} s\n", what, runs_, runs_ == 1 ? "" : "s", seconds());
  }
  void set_phase(std::string phase) { phase_ = std::move(phase); }

  void shrink_faults(faults::FaultPlan& plan, size_t realized);
  void soften_faults(faults::FaultPlan& plan);
  void shrink_schedule(faults::FaultPlan& plan, ShrinkResult& result);

 private:
  const scenarios::Scenario& scenario_;
  scenarios::RunOptions base_;
  ShrinkOptions shrink_;
  std::string failure_;
  uint64_t runs_ = 0;
  bool budget_ran_out_ = false;
  std::string phase_ = "the original run";
  Clock::time_point start_;
  Clock::time_point last_progress_;
};

void Shrinker::shrink_faults(faults::FaultPlan& plan, size_t realized) {
  const size_t before = plan.faults.size();
  set_phase(fmt::format("shrinking {}", faults_text(before)));
  // Faults due after the run ended never fired: in a plan sorted by time they are the tail.
  const auto by_time = [](const faults::ScheduledFault& a, const faults::ScheduledFault& b) {
    return a.at_ns < b.at_ns;
  };
  if (realized < plan.faults.size() && std::is_sorted(plan.faults.begin(), plan.faults.end(), by_time)) {
    faults::FaultPlan fired = plan;
    fired.faults.resize(realized);
    if (reproduces(fired)) plan = std::move(fired);
  }
  const std::vector<faults::ScheduledFault> all = plan.faults;
  const auto subset = [&](std::span<const size_t> kept) {
    faults::FaultPlan candidate = plan;
    candidate.faults.clear();
    for (size_t index : kept) candidate.faults.push_back(all[index]);
    return candidate;
  };
  const std::vector<size_t> kept = minimize(all.size(), /*allow_empty=*/true, [&](std::span<const size_t> indices) {
    return reproduces(subset(indices));
  });
  plan = subset(kept);
  step_done(fmt::format("{} -> {}", faults_text(before), faults_text(plan.faults.size())));
}

void Shrinker::soften_faults(faults::FaultPlan& plan) {
  set_phase(fmt::format("softening {}", faults_text(plan.faults.size())));
  size_t changes = 0;
  // Every candidate goes through reproduces(), which notes a spent budget.
  for (size_t i = 0; i < plan.faults.size(); ++i) {
    for (const Softening& soften : softenings()) {
      for (std::optional<faults::ScheduledFault> softer = soften(plan.faults[i]); softer;
           softer = soften(plan.faults[i])) {
        faults::FaultPlan candidate = plan;
        candidate.faults[i] = *softer;
        if (!reproduces(candidate)) break;
        plan = std::move(candidate);
        ++changes;
      }
    }
    if (const auto* buggify = std::get_if<faults::BuggifyFault>(&plan.faults[i].params);
        buggify != nullptr && buggify->sites.size() > 1) {
      const std::vector<std::string> sites = buggify->sites;
      const auto with_sites = [&](std::span<const size_t> kept) {
        faults::FaultPlan candidate = plan;
        auto& candidate_sites = std::get<faults::BuggifyFault>(candidate.faults[i].params).sites;
        candidate_sites.clear();
        for (size_t index : kept) candidate_sites.push_back(sites[index]);  // stays sorted
        return candidate;
      };
      const auto fails = [&](std::span<const size_t> indices) { return reproduces(with_sites(indices)); };
      const std::vector<size_t> kept = minimize(sites.size(), /*allow_empty=*/false, fails);
      changes += sites.size() - kept.size();
      plan = with_sites(kept);
    }
  }
  step_done(fmt::format("{} softened in {} step{}", faults_text(plan.faults.size()), changes, changes == 1 ? "" : "s"));
}

void Shrinker::shrink_schedule(faults::FaultPlan& plan, ShrinkResult& result) {
  set_phase("recording the schedule");
  if (runs_left() < 2) {
    budget_ran_out_ = true;
    result.schedule_note = "the run budget ran out before the schedule could be recorded";
    return;
  }
  std::vector<sim::Decision> decisions;
  Trace trace;
  trace.add_sink(std::make_unique<DecisionRecorder>(decisions));
  const scenarios::RunOutcome recorded = run(plan, &trace);
  trace.finish();
  assert(same_failure(recorded));  // the plan reproduced on the same inputs
  sim::GuidedSchedule all;
  for (size_t i = 0; i < decisions.size(); ++i) {
    if (decisions[i].index != 0) all.choices.push_back({.decision = i + 1, .choice = decisions[i].index});
  }
  result.decisions = decisions.size();
  result.recorded_choices = all.choices.size();
  faults::FaultPlan guided = plan;
  guided.schedule = all;
  if (!reproduces(guided)) {
    result.schedule_note = fmt::format(
        "the guided replay of the run's {} decisions did not fail the same way; the plan has no schedule section "
        "and replays under --strategy {}",
        decisions.size(), sim::strategy_name(base_.strategy));
    return;
  }
  set_phase(fmt::format("schedule ({} choices)", all.choices.size()));
  const auto subset = [&](std::span<const size_t> kept) {
    faults::FaultPlan candidate = plan;
    candidate.schedule.emplace();
    for (size_t index : kept) candidate.schedule->choices.push_back(all.choices[index]);
    return candidate;
  };
  const auto fails = [&](std::span<const size_t> indices) { return reproduces(subset(indices)); };
  const std::vector<size_t> kept = minimize(all.choices.size(), /*allow_empty=*/true, fails);
  plan = subset(kept);
  step_done(fmt::format("schedule: {} choices -> {}", all.choices.size(), plan.schedule->choices.size()));
}

}  // namespace

std::string failure_key(std::string_view failure, ShrinkMatch match) {
  if (match == ShrinkMatch::kMessage) return std::string(failure);
  constexpr std::string_view kCheckPrefix = "always '";
  if (failure.starts_with(kCheckPrefix)) {
    const size_t end = failure.find("' failed");
    if (end != std::string_view::npos) return std::string(failure.substr(0, end + 1));
  }
  // ": " rather than ':', which C++ type names hold ("troupe::ActorDiedError").
  const size_t cut = std::min(failure.find(": "), failure.find('\n'));
  return std::string(failure.substr(0, cut));
}

bool meets_expectation(const faults::Expectation& expect, const scenarios::RunOutcome& outcome) {
  if (expect.outcome == faults::ExpectedOutcome::kPass) return outcome.passed;
  return !outcome.passed && !outcome.schedule_diverged &&
         failure_key(outcome.failure, expect.match) == failure_key(expect.failure, expect.match);
}

void follow_plan_schedule(scenarios::RunOptions& options) {
  if (!options.plan || !options.plan->schedule) return;
  options.strategy = sim::StrategyKind::kGuided;
  options.strategy_options.guided = std::make_shared<const sim::GuidedSchedule>(*options.plan->schedule);
}

absl::StatusOr<ShrinkResult> shrink_run(const scenarios::Scenario& scenario, const scenarios::RunOptions& options,
                                        const ShrinkOptions& shrink) {
  assert(options.platform == scenarios::PlatformKind::kSim);
  assert(shrink.max_runs >= 1);
  Shrinker shrinker(scenario, options, shrink);
  const scenarios::RunOutcome outcome = shrinker.run_original(options);
  if (outcome.passed || outcome.schedule_diverged) {
    return absl::FailedPreconditionError(
        fmt::format("seed {} of {} {}; nothing to shrink", options.seed, scenario.name,
                    outcome.passed ? "passes" : "diverges from its schedule"));
  }
  ShrinkResult result{.failure = outcome.failure, .realized_faults = outcome.faults.size()};
  shrinker.set_failure(outcome.failure);
  faults::FaultPlan plan = scenarios::plan_for(scenario, options);
  result.planned_faults = plan.faults.size();
  shrinker.shrink_faults(plan, outcome.faults.size());
  shrinker.soften_faults(plan);
  shrinker.shrink_schedule(plan, result);
  plan.scenario = scenario.name;
  plan.seed = options.seed;
  plan.expect = faults::Expectation{
      .outcome = faults::ExpectedOutcome::kFail, .match = shrink.match, .failure = outcome.failure};
  result.plan = std::move(plan);
  result.runs = shrinker.runs();
  result.budget_ran_out = shrinker.budget_ran_out();
  result.wall_seconds = shrinker.seconds();
  return result;
}

int shrink_command(const ShrinkCommand& command, const scenarios::Registry& registry, std::FILE* out,
                   std::FILE* err) {
  const scenarios::Scenario* scenario = registry.find(command.scenario);
  if (scenario == nullptr) {
    fmt::print(err, "troupe: unknown scenario '{}' (troupe list shows them)\n", command.scenario);
    return kExitUsage;
  }
  // Open the output first: a bad path should not cost a whole search.
  std::ofstream file(command.out_path, std::ios::binary);
  if (!file.is_open()) {
    fmt::print(err, "troupe: cannot write the plan '{}'\n", command.out_path);
    return kExitUsage;
  }
  scenarios::RunOptions options;
  options.seed = command.seed;
  options.strategy = command.strategy;
  options.strategy_options.pct = command.pct;
  options.faults = command.faults.selection;
  options.plan = command.faults.plan;
  options.plan_path = command.faults.plan_path;
  absl::StatusOr<ShrinkResult> result =
      shrink_run(*scenario, options, {.max_runs = command.max_runs, .match = command.match, .progress = err});
  if (!result.ok()) {
    fmt::print(err, "troupe: {}\n", result.status().message());
    return kExitFailed;
  }
  const faults::FaultPlan& plan = result->plan;
  if (absl::Status valid = faults::validate_plan(plan, command.out_path); !valid.ok()) {
    fmt::print(err, "troupe: the shrunk plan is not valid (a bug in shrink): {}\n", valid.message());
    return kExitFailed;
  }
  file << faults::plan_to_json(plan);
  file.close();
  if (!file) {
    fmt::print(err, "troupe: writing the plan '{}' failed\n", command.out_path);
    return kExitFailed;
  }

  // What `troupe replay` will do with the file: read it back and run it.
  absl::StatusOr<faults::FaultPlan> written = faults::load_plan(command.out_path);
  if (!written.ok() || !written->expect) {
    fmt::print(err, "troupe: reading back the plan failed: {}\n",
               written.ok() ? "it has no expect section" : written.status().message());
    return kExitFailed;
  }
  scenarios::RunOptions replay = options;
  replay.faults = {};
  replay.plan = *written;
  replay.plan_path = command.out_path;
  const std::string replay_line = scenarios::replay_command(scenario->name, replay);
  follow_plan_schedule(replay);
  const scenarios::RunOutcome check = scenarios::run_scenario(*scenario, replay);
  const bool reproduced = meets_expectation(*written->expect, check);  // the comparison `troupe regress` makes

  fmt::print(out, "shrink: {} seed {}\nfailure: ", scenario->name, command.seed);
  print_indented(out, result->failure, 2);
  if (reproduced && check.failure != result->failure) {  // --match check: the plan's own detail
    fmt::print(out, "failure of the plan: ");
    print_indented(out, check.failure, 2);
  }
  fmt::print(out, "faults: {} realized by the seed ({} planned) -> {} in the plan\n", result->realized_faults,
             result->planned_faults, plan.faults.size());
  if (plan.schedule) {
    fmt::print(out, "schedule: {} decisions, {} not the oldest ready item -> {} in the plan\n", result->decisions,
               result->recorded_choices, plan.schedule->choices.size());
  } else {
    fmt::print(out, "schedule: not shrunk: {}\n", result->schedule_note);
    if (command.strategy != sim::StrategyKind::kRandom) {
      // The plan records no strategy: alone, it replays under the default one.
      fmt::print(out, "note: without a schedule section the plan alone (troupe replay --plan, troupe regress) "
                      "runs under --strategy random, not {}\n",
                 sim::strategy_name(command.strategy));
    }
  }
  fmt::print(out, "runs: {} in {:.1f} s (and one to check the written plan)\n", result->runs, result->wall_seconds);
  if (result->budget_ran_out) {
    fmt::print(out, "note: the budget of {} runs (--max-runs) ran out: the plan is the smallest found so far\n",
               command.max_runs);
  }
  fmt::print(out, "plan: {}\n", command.out_path);
  if (!reproduced) {
    fmt::print(err, "troupe: the written plan did not reproduce the failure (a bug in shrink); it gave: {}\n",
               check.passed ? "passed" : first_line(check.failure));
    return kExitFailed;
  }
  fmt::print(out, "replay: {}\n", replay_line);
  return kExitPassed;
}

}  // namespace troupe::cli
