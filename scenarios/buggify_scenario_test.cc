// The counter scenario's buggify sites: swarm's buggify faults name them, a plan forcing them on
// keeps the correct counter passing and the run deterministic, and forcing the mid-update pause
// makes the planted lost-increment bug show in far more seeds.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "faults/plan.h"
#include "scenarios/runner.h"
#include "scenarios/scenario.h"

namespace troupe::scenarios {
namespace {

const std::vector<std::string> kCounterSites = {"counter.increment.pause_mid_update", "counter.caller.burst"};

faults::FaultPlan force(std::vector<std::string> sites) {
  return {.faults = {{.at_ns = 0, .params = faults::BuggifyFault{.sites = std::move(sites)}}}};
}

// Run options for `seed`, set field by field (GCC 12 warns, wrongly, about a designated-initialized
// RunOptions temporary's empty FaultSelection).
RunOptions on_seed(uint64_t seed, std::optional<faults::FaultPlan> plan = std::nullopt, Trace* trace = nullptr) {
  RunOptions options;
  options.seed = seed;
  options.plan = std::move(plan);
  options.trace = trace;
  return options;
}

faults::FaultPlan force_counter_sites() { return force({"counter.caller.burst", "counter.increment.pause_mid_update"}); }

class CounterBuggify : public testing::Test {
 protected:
  void SetUp() override { register_builtin_scenarios(registry_); }
  const Scenario& scenario(std::string_view name) {
    const Scenario* found = registry_.find(name);
    EXPECT_NE(found, nullptr) << name;
    return *found;
  }
  Registry registry_;
};

TEST_F(CounterBuggify, BothScenariosDeclareTheirSites) {
  EXPECT_EQ(scenario("counter").buggify_sites, kCounterSites);
  EXPECT_EQ(scenario("counter.bug_lost_increment").buggify_sites, kCounterSites);
}

TEST_F(CounterBuggify, SwarmBuggifyFaultsNameOnlyTheScenariosSites) {
  RunOptions options{.faults = {.mode = faults::FaultSelection::Mode::kKinds, .kinds = {faults::FaultKind::kBuggify}}};
  const std::set<std::string> declared(kCounterSites.begin(), kCounterSites.end());
  int seeds_with_buggify = 0;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    options.seed = seed;
    faults::FaultPlan plan = plan_for(scenario("counter"), options);
    bool any = false;
    for (const faults::ScheduledFault& fault : plan.faults) {
      ASSERT_EQ(fault.kind(), faults::FaultKind::kBuggify) << "seed " << seed;
      for (const std::string& site : std::get<faults::BuggifyFault>(fault.params).sites) {
        EXPECT_TRUE(declared.contains(site)) << "seed " << seed << ": " << site;
      }
      any = true;
    }
    seeds_with_buggify += any ? 1 : 0;
  }
  // Swarm enables the only allowed kind in every run; a seed has no buggify fault only when the
  // Poisson process (0.1 to 2 faults per second) puts none inside counter's 1 s fault window.
  EXPECT_EQ(seeds_with_buggify, 31);  // pinned
}

TEST_F(CounterBuggify, ForcedSitesFireAndTheCounterStillPasses) {
  Trace trace;
  trace.set_retain(true);
  RunOutcome outcome = run_scenario(scenario("counter"), on_seed(1, force_counter_sites(), &trace));
  ASSERT_TRUE(outcome.passed) << outcome.failure;
  EXPECT_EQ(outcome.faults,
            (std::vector<std::string>{"buggify counter.caller.burst, counter.increment.pause_mid_update"}));
  std::map<std::string, int> fired;
  for (const TraceEvent& event : trace.retained()) {
    if (event.kind == TraceKind::kBuggifyFire) ++fired[event.detail.substr(0, event.detail.find(' '))];
  }
  // Pinned for seed 1: about a quarter of each site's evaluations (the callers work in rounds until
  // counter's 1 s fault window has passed).
  EXPECT_EQ(fired, (std::map<std::string, int>{{"counter.caller.burst", 23}, {"counter.increment.pause_mid_update", 41}}));
}

TEST_F(CounterBuggify, ForcedSitesKeepRunsDeterministic) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    DeterminismReport report = check_determinism(scenario("counter"), on_seed(seed, force_counter_sites()));
    EXPECT_FALSE(report.diverged) << report.message;
    EXPECT_TRUE(report.first.passed) << "seed " << seed << ": " << report.first.failure;
  }
}

TEST_F(CounterBuggify, ForcingTheMidUpdatePauseMakesThePlantedBugShowInMoreSeeds) {
  // The pause slows the callers past the driver's fixed sleep; bursts do the opposite (fewer
  // round trips), so they are left to the seed here.
  const faults::FaultPlan pause = force({"counter.increment.pause_mid_update"});
  int natural = 0;
  int forced = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    natural += run_scenario(scenario("counter.bug_lost_increment"), on_seed(seed)).passed ? 0 : 1;
    forced += run_scenario(scenario("counter.bug_lost_increment"), on_seed(seed, pause)).passed ? 0 : 1;
  }
  EXPECT_GT(forced, natural);
  EXPECT_EQ(natural, 75);  // pinned: seeds 1..200
  EXPECT_EQ(forced, 137);
}

}  // namespace
}  // namespace troupe::scenarios
