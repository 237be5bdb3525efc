#include "scenarios/runner.h"

#include "faults/injector.h"
#include "faults/swarm.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "runtime/core/cluster.h"

#include "runtime/cluster/chaos.h"
#include "runtime/cluster/cluster_main.h"
#include "runtime/cluster/cluster_platform.h"
#include "runtime/cluster/local_cluster.h"
#include "runtime/net/link.h"
#include "runtime/real/threads_platform.h"
#include "sim/sim_run.h"

namespace troupe::scenarios {
namespace {

// Measures how long a run took in real time, for the sweep's report; never read by the run.
using WallClock = std::chrono::steady_clock;  // determinism: allowed (wall time of the sweep, not of the run)

double seconds_since(WallClock::time_point start) {
  return std::chrono::duration<double>(WallClock::now() - start).count();
}

// What a run of either platform returns to run_scenario.
struct PlatformResult {
  absl::Status status;
  Nanos time = 0;
  bool schedule_diverged = false;
};

PlatformResult run_on_sim(const Scenario& scenario, const RunOptions& options, Trace& trace,
                          absl::AnyInvocable<void(System&)> driver, faults::FaultPlan plan,
                          std::vector<std::string>* realized) {
  sim::SimRunOptions sim_options{.seed = options.seed, .strategy = options.strategy,
                                 .strategy_options = options.strategy_options, .cluster = scenario.cluster,
                                 .trace = &trace};
  sim_options.deadline_ns = timing_for(scenario, plan).deadline_ns;
  sim_options.name = scenario.name;
  if (!plan.faults.empty()) {
    sim_options.prepare = [plan = std::move(plan), realized](sim::World& world) {
      faults::schedule_plan(world, plan, realized);
    };
  }
  sim::SimRunResult result = sim::run_simulation(sim_options, std::move(driver));
  return {.status = std::move(result.status), .time = result.sim_time, .schedule_diverged = result.schedule_diverged};
}

// On the threads platform a scenario's deadline is real time, this many times the simulated one
// (real machines are slower and noisier than simulated time, more so under sanitizers). Without
// it a deadlock there (the platform cannot see one) would hang the sweep.
constexpr int64_t kThreadsDeadlineFactor = 4;

PlatformResult run_on_threads(const Scenario& scenario, const RunOptions& options, Trace& trace,
                              absl::AnyInvocable<void(System&)> driver) {
  const Nanos deadline = kThreadsDeadlineFactor * scenario.deadline_ns;
  ThreadsPlatformOptions platform_options{.seed = options.seed, .trace = &trace, .deadline = deadline};
  for (const sim::NodeOptions& node : scenario.cluster.nodes) {
    platform_options.nodes.push_back(
        {.name = node.name, .cpus = node.cpus, .memory_bytes = node.memory_bytes, .gpus = node.gpus,
         .gpu_memory_bytes = node.gpu_memory_bytes, .gpu_flops = node.gpu_flops,
         .gpu_bandwidth_bytes_per_s = node.gpu_bandwidth_bytes_per_s});
  }
  ThreadsPlatform platform(std::move(platform_options));
  PlatformResult result;
  result.status = core::run_driver(platform, std::move(driver));
  result.time = platform.now();
  if (absl::IsDeadlineExceeded(result.status)) {
    result.status = absl::DeadlineExceededError(fmt::format(
        "liveness: {} did not finish within {} of real time on the threads platform ({} x its deadline); still "
        "waiting:\n{}", scenario.name, sim::format_sim_duration(deadline), kThreadsDeadlineFactor,
        platform.wait_report()));
  }
  return result;
}

// A run on a real cluster: a local one of the scenario's shape (or the one at
// options.cluster_address), this process as its driver. The same real-time deadline as on threads.
PlatformResult run_on_cluster(const Scenario& scenario, const RunOptions& options, Trace& trace,
                              absl::AnyInvocable<void(System&)> driver, const faults::FaultPlan& chaos,
                              std::vector<std::string>* realized) {
  const Nanos deadline = kThreadsDeadlineFactor * scenario.deadline_ns;
  std::unique_ptr<cluster::LocalCluster> local;
  std::string host;
  uint16_t port = 0;
  std::string token = options.cluster_token;
  if (options.cluster_address.empty()) {
    // The daemons' and workers' logs are kept only when asked for (--cluster-log).
    cluster::LocalClusterOptions cluster_options{.log_path = options.cluster_log.empty() ? "/dev/null"
                                                                                         : options.cluster_log};
    for (const sim::NodeOptions& node : scenario.cluster.nodes) {
      cluster_options.nodes.push_back({.name = node.name, .cpus = node.cpus, .memory_bytes = node.memory_bytes,
                                       .gpus = node.gpus, .gpu_memory_bytes = node.gpu_memory_bytes,
                                       .gpu_flops = node.gpu_flops,
                                       .gpu_bandwidth_bytes_per_s = node.gpu_bandwidth_bytes_per_s});
    }
    absl::StatusOr<std::unique_ptr<cluster::LocalCluster>> started = cluster::LocalCluster::start(cluster_options);
    if (!started.ok()) {
      return {.status = absl::UnavailableError(fmt::format("cannot start a local cluster: {}",
                                                           std::string(started.status().message())))};
    }
    local = std::move(*started);
    host = local->host();
    port = local->port();
    token = local->token();
  } else if (absl::Status parsed = net::parse_address(options.cluster_address, &host, &port); !parsed.ok()) {
    return {.status = parsed};
  }
  const size_t min_nodes = local != nullptr ? scenario.cluster.nodes.size() : 1;
  absl::StatusOr<std::unique_ptr<cluster::ClusterPlatform>> platform = cluster::ClusterPlatform::join_as_driver(
      {.host = host, .port = port, .token = token, .seed = options.seed, .trace = &trace, .deadline = deadline},
      cluster::self_executable(), min_nodes, 10 * kSecond);
  if (!platform.ok()) {
    return {.status = absl::UnavailableError(
                fmt::format("cannot join the cluster: {}", std::string(platform.status().message())))};
  }
  PlatformResult result;
  std::vector<std::string> kills;
  {
    std::vector<cluster::ScheduledKill> schedule;
    for (const faults::ScheduledFault& fault : chaos.faults) {
      if (const auto* crash = std::get_if<faults::CrashFault>(&fault.params)) {
        schedule.push_back({.at_ns = fault.at_ns, .pick = crash->process});
      }
    }
    cluster::ChaosKiller killer(**platform, std::move(schedule), &kills);
    result.status = cluster::run_cluster_driver(**platform, std::move(driver));
  }
  realized->insert(realized->end(), kills.begin(), kills.end());
  result.time = (*platform)->now();
  if (absl::IsDeadlineExceeded(result.status)) {
    result.status = absl::DeadlineExceededError(fmt::format(
        "liveness: {} did not finish within {} of real time on the cluster platform ({} x its deadline); still "
        "waiting:\n{}", scenario.name, sim::format_sim_duration(deadline), kThreadsDeadlineFactor,
        (*platform)->local().wait_report()));
  }
  platform->reset();  // the driver disconnects first: its actors die with it
  return result;
}

std::vector<std::string> sorted(const std::set<std::string, std::less<>>& names) {
  return {names.begin(), names.end()};
}

bool same_event(const TraceEvent& a, const TraceEvent& b) {
  return a.time == b.time && a.kind == b.kind && a.node == b.node && a.process == b.process && a.peer == b.peer &&
         a.actor == b.actor && a.call == b.call && a.detail == b.detail;
}

}  // namespace

absl::StatusOr<PlatformKind> parse_platform(std::string_view name) {
  if (name == "sim") return PlatformKind::kSim;
  if (name == "threads") return PlatformKind::kThreads;
  if (name == "cluster") return PlatformKind::kCluster;
  return absl::InvalidArgumentError(fmt::format("unknown platform '{}' (expected sim, threads or cluster)", name));
}

std::string_view platform_name(PlatformKind kind) {
  switch (kind) {
    case PlatformKind::kSim: return "sim";
    case PlatformKind::kThreads: return "threads";
    case PlatformKind::kCluster: return "cluster";
  }
  return "?";
}

RunOutcome run_scenario(const Scenario& scenario, const RunOptions& options) {
  assert(scenario.driver);
  assert(!scenario.cluster.nodes.empty());
  Trace own_trace;
  Trace& trace = options.trace != nullptr ? *options.trace : own_trace;
  const uint64_t events_before = trace.event_count();

  const bool on_sim = options.platform == PlatformKind::kSim;
  faults::FaultPlan plan = on_sim ? plan_for(scenario, options) : faults::FaultPlan{};
  if (options.platform == PlatformKind::kCluster && options.chaos_kills && options.cluster_address.empty()) {
    plan = chaos_plan(scenario, options.seed);  // crash times, applied as kill -9 of workers
  }
  const RunTiming timing = timing_for(scenario, plan);
  const bool faults_planned = !plan.faults.empty();
  std::optional<Checks> checks;
  auto driver = [&](System& sys) {
    checks.emplace(&sys.platform());
    checks->set_run_info(timing.fault_window_ns, faults_planned);
    scenario.driver(sys, *checks);
  };
  const WallClock::time_point start = WallClock::now();
  std::vector<std::string> realized;
  PlatformResult result =
      on_sim ? run_on_sim(scenario, options, trace, std::move(driver), std::move(plan), &realized)
      : options.platform == PlatformKind::kCluster
          ? run_on_cluster(scenario, options, trace, std::move(driver), plan, &realized)
                                                   : run_on_threads(scenario, options, trace, std::move(driver));

  RunOutcome outcome;
  outcome.faults = std::move(realized);
  outcome.wall_seconds = seconds_since(start);
  outcome.trace_hash = trace.hash();
  outcome.events = trace.event_count() - events_before;
  outcome.sim_time = result.time;
  if (checks.has_value()) {
    outcome.sometimes_declared = sorted(checks->sometimes_declared());
    outcome.sometimes_hit = sorted(checks->sometimes_hit());
  }
  outcome.schedule_diverged = result.schedule_diverged;
  if (result.schedule_diverged) {
    outcome.failure = std::string(result.status.message());  // what the checks saw is another run's
  } else if (checks.has_value() && checks->failed()) {
    outcome.failure = checks->failure()->message();
  } else if (!result.status.ok()) {
    outcome.failure = std::string(result.status.message());
  }
  outcome.passed = outcome.failure.empty();
  return outcome;
}

DeterminismReport check_determinism(const Scenario& scenario, RunOptions options) {
  assert(options.platform == PlatformKind::kSim);
  Trace first_trace;
  Trace second_trace;
  first_trace.set_retain(true);
  second_trace.set_retain(true);
  DeterminismReport report;
  options.trace = &first_trace;
  report.first = run_scenario(scenario, options);
  options.trace = &second_trace;
  RunOutcome second = run_scenario(scenario, options);
  report.second_hash = second.trace_hash;
  report.second_events = second.events;
  if (report.first.trace_hash == second.trace_hash && report.first.events == second.events) return report;

  report.diverged = true;
  const std::vector<TraceEvent>& a = first_trace.retained();
  const std::vector<TraceEvent>& b = second_trace.retained();
  size_t i = 0;
  while (i < a.size() && i < b.size() && same_event(a[i], b[i])) ++i;
  report.event_index = i;
  report.first_event = i < a.size() ? format_trace_event(a[i]) : "(end of trace)";
  report.second_event = i < b.size() ? format_trace_event(b[i]) : "(end of trace)";
  report.message = fmt::format("seed {}: runs differ at event #{} (hashes {:#018x} and {:#018x}):\n  first:  {}\n  second: {}",
                               options.seed, i, report.first.trace_hash, second.trace_hash, report.first_event,
                               report.second_event);
  return report;
}

faults::SwarmOptions swarm_options_for(const Scenario& scenario, const std::set<faults::FaultKind>& kinds) {
  faults::SwarmOptions swarm;
  swarm.node_count = static_cast<uint32_t>(scenario.cluster.nodes.size());
  swarm.buggify_sites = scenario.buggify_sites;
  for (const sim::NodeOptions& node : scenario.cluster.nodes) {
    if (node.gpus <= 0) continue;
    ++swarm.gpu_node_count;
    swarm.gpus_per_node = std::max(swarm.gpus_per_node, static_cast<uint32_t>(node.gpus));
  }
  // The faults land while the scenario works: its window, quiet phase and deadline.
  swarm.fault_window_ns = scenario.fault_window_ns;
  swarm.quiet_ns = scenario.quiet_ns;
  swarm.deadline_ns = scenario.deadline_ns;
  swarm.kinds.clear();
  for (faults::FaultKind kind : kinds) {
    if (faults::supported_kinds().count(kind) > 0 && scenario.tolerates.count(kind) > 0) swarm.kinds.insert(kind);
  }
  return swarm;
}

faults::FaultPlan plan_for(const Scenario& scenario, const RunOptions& options) {
  if (options.plan) return *options.plan;
  if (options.faults.mode == faults::FaultSelection::Mode::kNone || options.platform != PlatformKind::kSim) return {};
  const faults::SwarmOptions swarm = swarm_options_for(scenario, options.faults.kinds);
  if (swarm.kinds.empty()) return {};
  return faults::swarm_plan(options.seed, swarm);
}

faults::FaultPlan chaos_plan(const Scenario& scenario, uint64_t seed) {
  if (!scenario.tolerates.contains(faults::FaultKind::kCrash)) return {};
  const faults::SwarmOptions swarm = swarm_options_for(scenario, {faults::FaultKind::kCrash});
  if (swarm.kinds.empty()) return {};
  faults::FaultPlan plan = faults::swarm_plan(seed, swarm);
  std::erase_if(plan.faults, [](const faults::ScheduledFault& fault) {
    return !std::holds_alternative<faults::CrashFault>(fault.params);
  });
  return plan;
}

RunTiming timing_for(const Scenario& scenario, const faults::FaultPlan& plan) {
  if (plan.generator) {
    return {.fault_window_ns = plan.generator->fault_window_ns, .quiet_ns = plan.generator->quiet_ns,
            .deadline_ns = plan.generator->deadline_ns};
  }
  return {.fault_window_ns = scenario.fault_window_ns, .quiet_ns = scenario.quiet_ns,
          .deadline_ns = scenario.deadline_ns};
}

std::string replay_command(std::string_view scenario, const RunOptions& options) {
  std::string command = fmt::format("troupe replay {} --seed {}", scenario, options.seed);
  const bool plan_schedules = options.plan.has_value() && options.plan->schedule.has_value() &&
                              !options.plan_path.empty();
  if (plan_schedules) {
    // The plan's schedule section picks the strategy (guided); a --strategy would be ignored.
  } else if (options.strategy == sim::StrategyKind::kReplay) {
    command += fmt::format(" --schedule {}", options.schedule_path);
  } else {
    command += fmt::format(" --strategy {}", sim::strategy_name(options.strategy));
  }
  if (options.strategy == sim::StrategyKind::kPct && !plan_schedules) {
    command += fmt::format(" --pct-depth {}", options.strategy_options.pct.depth);
    if (options.strategy_options.pct.steps != 0) command += fmt::format(" --pct-steps {}", options.strategy_options.pct.steps);
  }
  if (!options.plan_path.empty()) {
    command += fmt::format(" --plan {}", options.plan_path);
  } else if (options.faults.mode == faults::FaultSelection::Mode::kSwarm) {
    command += " --faults swarm";
  } else if (options.faults.mode == faults::FaultSelection::Mode::kKinds) {
    std::string kinds;
    for (faults::FaultKind kind : options.faults.kinds) {
      kinds += (kinds.empty() ? "" : ",") + std::string(faults::fault_kind_name(kind));
    }
    command += " --faults " + kinds;
  }
  if (options.platform != PlatformKind::kSim) command += fmt::format(" --platform {}", platform_name(options.platform));
  if (options.platform == PlatformKind::kCluster) {
    // The token stays off command lines: the replay reads it from $TROUPE_TOKEN.
    if (!options.cluster_address.empty()) command += fmt::format(" --address {}", options.cluster_address);
    if (options.chaos_kills) command += " --chaos-kills";
  }
  return command;
}

}  // namespace troupe::scenarios
