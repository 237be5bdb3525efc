// `troupe replay SCENARIO --seed N`: one run, its outcome and trace hash, and its trace file.
#include <fstream>
#include <memory>

#include "fmt/format.h"
#include "scenarios/runner.h"
#include "sim/sim_run.h"
#include "tools/troupe/cli.h"
#include "tools/troupe/html_timeline.h"
#include "tools/troupe/shrink.h"

namespace troupe::cli {
namespace {

// Counts the run's scheduling decisions (what --pct-steps should cover; docs/exploration.md).
class DecisionCounter final : public TraceSink {
 public:
  explicit DecisionCounter(uint64_t& count) : count_(count) {}
  void write(const TraceEvent& event) override { count_ += event.kind == TraceKind::kDecision ? 1 : 0; }

 private:
  uint64_t& count_;
};

std::string join(const std::vector<std::string>& names) {
  std::string joined;
  for (const std::string& name : names) joined += fmt::format("{}'{}'", joined.empty() ? "" : ", ", name);
  return joined.empty() ? "(none)" : joined;
}

}  // namespace

int replay_command(const ReplayCommand& command, const scenarios::Registry& registry, std::FILE* out, std::FILE* err) {
  const scenarios::Scenario* scenario = registry.find(command.scenario);
  if (scenario == nullptr) {
    fmt::print(err, "troupe: unknown scenario '{}' (troupe list shows them)\n", command.scenario);
    return kExitUsage;
  }
  Trace trace;
  uint64_t decisions = 0;
  trace.add_sink(std::make_unique<DecisionCounter>(decisions));
  std::ofstream file;
  if (!command.trace_path.empty()) {
    file.open(command.trace_path, std::ios::binary);
    if (!file.is_open()) {
      fmt::print(err, "troupe: cannot write the trace '{}'\n", command.trace_path);
      return kExitUsage;
    }
    trace.add_sink(make_trace_sink(command.trace_format, file));
  }
  std::ofstream html_file;
  HtmlTimelineSink* html = nullptr;
  if (!command.html_path.empty()) {
    html_file.open(command.html_path, std::ios::binary);
    if (!html_file.is_open()) {
      fmt::print(err, "troupe: cannot write the HTML timeline '{}'\n", command.html_path);
      return kExitUsage;
    }
    auto sink = std::make_unique<HtmlTimelineSink>();
    html = sink.get();
    trace.add_sink(std::move(sink));
  }
  scenarios::RunOptions options{
      .seed = command.seed, .platform = command.platform, .strategy = command.strategy,
      .strategy_options = {.pct = command.pct, .schedule = command.schedule}, .schedule_path = command.schedule_path,
      .faults = command.faults.selection, .plan = command.faults.plan, .plan_path = command.faults.plan_path,
      .cluster_address = command.cluster.address, .cluster_token = command.cluster.token,
      .cluster_log = command.cluster.log_path, .chaos_kills = command.cluster.chaos_kills, .trace = &trace};
  const std::string replay_line = scenarios::replay_command(scenario->name, options);
  fmt::print(out, "{}\n", replay_line);
  follow_plan_schedule(options);  // a plan's schedule section overrides --strategy
  const scenarios::RunOutcome outcome = scenarios::run_scenario(*scenario, options);
  trace.finish();

  if (outcome.schedule_diverged) {
    fmt::print(out, "outcome: DIVERGED: {}\n", outcome.failure);
  } else if (outcome.passed) {
    fmt::print(out, "outcome: passed\n");
  } else {
    fmt::print(out, "outcome: FAILED: {}\n", outcome.failure);
  }
  if (scenario->expect_fail) fmt::print(out, "note: {} is a planted bug, expected to fail on some seeds\n", scenario->name);
  fmt::print(out, "trace hash: {:#018x}\nevents: {}\n", outcome.trace_hash, outcome.events);
  if (command.platform == scenarios::PlatformKind::kSim) fmt::print(out, "decisions: {}\n", decisions);
  fmt::print(out, "{} time: {}.{:09d} s\nwall time: {:.3f} s\n",
             command.platform == scenarios::PlatformKind::kSim ? "sim" : "real", outcome.sim_time / kSecond,
             outcome.sim_time % kSecond, outcome.wall_seconds);
  if (command.platform == scenarios::PlatformKind::kSim) {
    const scenarios::RunTiming timing = scenarios::timing_for(*scenario, scenarios::plan_for(*scenario, options));
    fmt::print(out, "timing: fault window {}, quiet phase {}, deadline {} (simulated)\n",
               sim::format_sim_duration(timing.fault_window_ns), sim::format_sim_duration(timing.quiet_ns),
               sim::format_sim_duration(timing.deadline_ns));
  }
  if (command.platform == scenarios::PlatformKind::kSim || command.cluster.chaos_kills) {
    fmt::print(out, "faults realized: {}\n", outcome.faults.size());
    for (const std::string& fault : outcome.faults) fmt::print(out, "  {}\n", fault);
  }
  fmt::print(out, "sometimes hit: {}\n", join(outcome.sometimes_hit));
  std::vector<std::string> missed;
  for (const std::string& name : outcome.sometimes_declared) {
    if (!std::binary_search(outcome.sometimes_hit.begin(), outcome.sometimes_hit.end(), name)) missed.push_back(name);
  }
  if (!missed.empty()) fmt::print(out, "sometimes not hit: {}\n", join(missed));
  if (file.is_open()) {
    file.close();
    if (!file) {
      fmt::print(err, "troupe: writing the trace '{}' failed\n", command.trace_path);
      return kExitFailed;
    }
    fmt::print(out, "trace: {} ({})\n", command.trace_path, trace_format_name(command.trace_format));
  }
  if (html != nullptr) {
    write_html_timeline(html_file, html->events(),
                        {.title = fmt::format("{} seed {}", scenario->name, command.seed), .command = replay_line,
                         .passed = outcome.passed, .failure = outcome.failure, .end_time = outcome.sim_time,
                         .trace_hash = outcome.trace_hash,
                         .simulated = command.platform == scenarios::PlatformKind::kSim});
    html_file.close();
    if (!html_file) {
      fmt::print(err, "troupe: writing the HTML timeline '{}' failed\n", command.html_path);
      return kExitFailed;
    }
    fmt::print(out, "html: {}\n", command.html_path);
  }
  return outcome.passed ? kExitPassed : kExitFailed;
}

}  // namespace troupe::cli
