// Liveness (DESIGN §4): a run's fault window, quiet phase and deadline.
//   * a driver that never finishes (a timer loop, a call retried forever) fails with the liveness
//     message at exactly its deadline, naming what each parked fiber waits for;
//   * events at the deadline itself still run: a driver that finishes then passes;
//   * a plan's generator settings override the scenario's deadline and window;
//   * when a generated plan's fault window ends, the trace shows the quiet phase's heal;
//   * swarm draws its faults inside the scenario's window, and keep_working covers it.
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "faults/plan.h"
#include "fmt/format.h"
#include "runtime/troupe.h"
#include "scenarios/runner.h"
#include "sim/sim_run.h"

namespace troupe::scenarios {
namespace {

using namespace std::chrono_literals;

// Sleeps forever in 10 ms steps: timers keep firing, so the World never finds a deadlock.
void timer_loop(System&, Checks&) {
  while (true) troupe::sleep(10ms);
}

Scenario looping_scenario() {
  return {.name = "looper", .summary = "a timer loop that never ends", .fault_window_ns = 1 * kSecond,
          .quiet_ns = 500 * kMillisecond, .deadline_ns = 2 * kSecond, .driver = timer_loop};
}

TEST(Liveness, ATimerLoopFailsAtExactlyItsDeadline) {
  const RunOutcome outcome = run_scenario(looping_scenario(), {.seed = 1});
  EXPECT_FALSE(outcome.passed);
  EXPECT_EQ(outcome.failure,
            "liveness: looper did not finish by its deadline of 2 s (simulated); still waiting:\n"
            "  n0 p2 (driver) fiber f1 'driver' waits for sleep\n");
  EXPECT_EQ(outcome.sim_time, 2 * kSecond);
}

TEST(Liveness, TheDeadlineFailureIsDeterministic) {
  const DeterminismReport report = check_determinism(looping_scenario(), {.seed = 5});
  EXPECT_FALSE(report.diverged) << report.message;
  EXPECT_FALSE(report.first.passed);
  EXPECT_EQ(report.first.sim_time, 2 * kSecond);
}

// An actor method that never returns: the driver's get waits on it past the deadline.
class Spinner {
 public:
  int spin() {
    while (true) troupe::sleep(1ms);
    return 0;
  }
};
TROUPE_ACTOR(Spinner, &Spinner::spin);

TEST(Liveness, ALivelockedCallIsNamedInTheReport) {
  const Scenario spinning{.name = "spinning", .summary = "waits on a call that never returns",
                          .fault_window_ns = 100 * kMillisecond, .quiet_ns = 0, .deadline_ns = 250 * kMillisecond,
                          .driver = [](System& sys, Checks&) {
                            auto spinner = sys.spawn<Spinner>({});
                            (void)sys.get(spinner.call(&Spinner::spin));
                          }};
  const RunOutcome outcome = run_scenario(spinning, {.seed = 3});
  EXPECT_FALSE(outcome.passed);
  EXPECT_EQ(outcome.sim_time, 250 * kMillisecond);
  EXPECT_EQ(outcome.failure,
            "liveness: spinning did not finish by its deadline of 250 ms (simulated); still waiting:\n"
            "  n0 p2 (driver) fiber f1 'driver' waits for the result of a2.1.spin (o2.1, sent to p3)\n"
            "  n0 p3 (a2.1 Spinner) fiber f3 'execute' (running Spinner.spin for p2) waits for sleep\n");
}

TEST(Liveness, ADriverFinishingAtItsDeadlinePasses) {
  const Scenario punctual{.name = "punctual", .summary = "sleeps until its deadline exactly",
                          .fault_window_ns = 1 * kSecond, .quiet_ns = 0, .deadline_ns = 1 * kSecond,
                          .driver = [](System&, Checks&) { troupe::sleep(1s); }};
  const RunOutcome outcome = run_scenario(punctual, {.seed = 1});
  EXPECT_TRUE(outcome.passed) << outcome.failure;
  EXPECT_EQ(outcome.sim_time, 1 * kSecond);
}

faults::FaultPlan generated_plan(Nanos window, Nanos quiet, Nanos deadline, std::vector<faults::ScheduledFault> list) {
  faults::FaultPlan plan;
  plan.faults = std::move(list);
  plan.generator = faults::GeneratorSettings{.kinds = {faults::FaultKind::kPartition},
                                             .intensity_per_s = {{faults::FaultKind::kPartition, 1.0}},
                                             .fault_window_ns = window,
                                             .quiet_ns = quiet,
                                             .deadline_ns = deadline};
  return plan;
}

faults::ScheduledFault partition_at(Nanos at, Nanos duration) {
  faults::PartitionFault partition;
  partition.sides[0] = {0};
  partition.sides[1] = {1, 2};
  partition.duration_ns = duration;
  return {.at_ns = at, .params = partition};
}

TEST(Liveness, APlansGeneratorDeadlineOverridesTheScenarios) {
  const faults::FaultPlan plan =
      generated_plan(100 * kMillisecond, 100 * kMillisecond, 300 * kMillisecond, {partition_at(10 * kMillisecond, 20 * kMillisecond)});
  ASSERT_TRUE(faults::validate_plan(plan, "test").ok());
  const RunTiming timing = timing_for(looping_scenario(), plan);
  EXPECT_EQ(timing.fault_window_ns, 100 * kMillisecond);
  EXPECT_EQ(timing.quiet_ns, 100 * kMillisecond);
  EXPECT_EQ(timing.deadline_ns, 300 * kMillisecond);
  RunOptions options;
  options.plan = plan;
  const RunOutcome outcome = run_scenario(looping_scenario(), options);
  EXPECT_FALSE(outcome.passed);
  EXPECT_EQ(outcome.sim_time, 300 * kMillisecond);
  EXPECT_EQ(outcome.failure.rfind("liveness: looper did not finish by its deadline of 300 ms (simulated)", 0), 0u)
      << outcome.failure;

  // Without generator settings a plan has no window: the scenario's deadline holds.
  faults::FaultPlan bare = plan;
  bare.generator.reset();
  EXPECT_EQ(timing_for(looping_scenario(), bare).deadline_ns, 2 * kSecond);
  options.plan = bare;
  EXPECT_EQ(run_scenario(looping_scenario(), options).sim_time, 2 * kSecond);
}

// The fault events of a run, as "time kind detail" lines.
std::vector<std::string> fault_events(const Trace& trace) {
  std::vector<std::string> lines;
  for (const TraceEvent& event : trace.retained()) {
    const bool injected = event.kind == TraceKind::kUser && event.detail.rfind("fault: ", 0) == 0;
    if (event.kind == TraceKind::kFault || injected) {
      lines.push_back(fmt::format("{} {} {}", event.time, trace_kind_name(event.kind), event.detail));
    }
  }
  return lines;
}

TEST(Liveness, TheQuietPhaseHealsTheNetworkWhenTheWindowEnds) {
  const Scenario sleeper{.name = "sleeper", .summary = "sleeps past the fault window",
                         .driver = [](System&, Checks&) { troupe::sleep(300ms); }};
  const faults::FaultPlan plan =
      generated_plan(200 * kMillisecond, 50 * kMillisecond, 1 * kSecond, {partition_at(50 * kMillisecond, 100 * kMillisecond)});
  ASSERT_TRUE(faults::validate_plan(plan, "test").ok());
  Trace trace;
  trace.set_retain(true);
  RunOptions options;
  options.plan = plan;
  options.trace = &trace;
  const RunOutcome outcome = run_scenario(sleeper, options);
  ASSERT_TRUE(outcome.passed) << outcome.failure;
  EXPECT_EQ(outcome.faults, std::vector<std::string>{"partition for 100000000ns"});
  EXPECT_EQ(fault_events(trace), (std::vector<std::string>{
                                     "50000000 user fault: partition for 100000000ns",
                                     "50000000 fault partition n0 | n1,n2",
                                     "150000000 fault heal partitions",
                                     "200000000 fault heal: quiet phase begins",
                                     "200000000 fault heal partitions",
                                 }));
}

TEST(Liveness, SwarmDrawsInsideTheScenariosWindow) {
  Scenario scenario = looping_scenario();
  scenario.fault_window_ns = 700 * kMillisecond;
  scenario.quiet_ns = 300 * kMillisecond;
  scenario.deadline_ns = 3 * kSecond;
  size_t faults_seen = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    RunOptions options;
    options.seed = seed;
    options.faults.mode = faults::FaultSelection::Mode::kKinds;
    options.faults.kinds = {faults::FaultKind::kCrash, faults::FaultKind::kPartition, faults::FaultKind::kClog};
    const faults::FaultPlan plan = plan_for(scenario, options);
    ASSERT_TRUE(plan.generator.has_value()) << "seed " << seed;
    EXPECT_EQ(plan.generator->fault_window_ns, 700 * kMillisecond) << "seed " << seed;
    EXPECT_EQ(plan.generator->quiet_ns, 300 * kMillisecond) << "seed " << seed;
    EXPECT_EQ(plan.generator->deadline_ns, 3 * kSecond) << "seed " << seed;
    ASSERT_TRUE(faults::validate_plan(plan, "swarm").ok()) << "seed " << seed;  // every fault ends in the window
    for (const faults::ScheduledFault& fault : plan.faults) EXPECT_LT(fault.at_ns, 700 * kMillisecond);
    faults_seen += plan.faults.size();
    const RunTiming timing = timing_for(scenario, plan);
    EXPECT_EQ(timing.deadline_ns, 3 * kSecond);
  }
  EXPECT_GT(faults_seen, 0u);
}

TEST(Liveness, KeepWorkingCoversTheFaultWindow) {
  int rounds = 0;
  const Scenario worker{.name = "worker", .summary = "rounds of 100 ms over a 1 s window",
                        .fault_window_ns = 1 * kSecond, .quiet_ns = 0, .deadline_ns = 2 * kSecond,
                        .driver = [&](System& sys, Checks& checks) {
                          for (int round = 0; keep_working(sys, checks, round); ++round) {
                            troupe::sleep(100ms);
                            ++rounds;
                          }
                        }};
  RunOutcome outcome = run_scenario(worker, {.seed = 1});
  ASSERT_TRUE(outcome.passed) << outcome.failure;
  EXPECT_EQ(rounds, 10);  // rounds start at 0, 100, ..., 900 ms
  EXPECT_EQ(outcome.sim_time, 1 * kSecond);

  rounds = 0;  // on real threads: one round, whatever the window
  outcome = run_scenario(worker, {.seed = 1, .platform = PlatformKind::kThreads});
  ASSERT_TRUE(outcome.passed) << outcome.failure;
  EXPECT_EQ(rounds, 1);
}

TEST(Liveness, SimulatedDurationsAreFormattedExactly) {
  EXPECT_EQ(sim::format_sim_duration(2 * kSecond), "2 s");
  EXPECT_EQ(sim::format_sim_duration(250 * kMillisecond), "250 ms");
  EXPECT_EQ(sim::format_sim_duration(1500 * kMillisecond), "1.5 s");
  EXPECT_EQ(sim::format_sim_duration(10'000), "10 us");
  EXPECT_EQ(sim::format_sim_duration(7), "7 ns");
  EXPECT_EQ(sim::format_sim_duration(12'500'000), "0.0125 s");
  EXPECT_EQ(sim::format_sim_duration(0), "0 s");
}

}  // namespace
}  // namespace troupe::scenarios
