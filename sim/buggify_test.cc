// buggify() inside a simulated run: the World answers from its seed, the same for the driver and
// for actors on other processes; first evaluations and firings are in the trace with where they
// happened; the same seed gives the same trace hash.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/buggify_sites.h"
#include "runtime/troupe.h"
#include "sim/sim_run.h"

namespace troupe::sim {
namespace {

// The evaluations (from 1) among the next `count` on which `site` fires, in the calling process.
std::vector<int> probe_here(const std::string& site, int count) {
  std::vector<int> fired;
  for (int i = 1; i <= count; ++i) {
    if (buggify(site)) fired.push_back(i);
  }
  return fired;
}

class Prober {
 public:
  std::vector<int> probe(std::string site, int count) { return probe_here(site, count); }
};
TROUPE_ACTOR(Prober, &Prober::probe);

struct Probed {
  std::vector<int> driver_x;
  std::vector<int> actor_y;
  std::vector<int> actor_x_later;
  SimRunResult result;
  std::vector<TraceEvent> buggify_events;
};

// The driver probes "x" 12 times, an actor probes "y" 12 times and then "x" 4 more times.
Probed run_probes(uint64_t seed) {
  Probed probed;
  Trace trace;
  trace.set_retain(true);
  probed.result = run_simulation({.seed = seed, .trace = &trace}, [&](System& sys) {
    probed.driver_x = probe_here("x", 12);
    auto prober = sys.spawn<Prober>({});
    probed.actor_y = sys.get(prober.call(&Prober::probe, std::string("y"), 12));
    probed.actor_x_later = sys.get(prober.call(&Prober::probe, std::string("x"), 4));
  });
  for (const TraceEvent& event : trace.retained()) {
    if (event.kind == TraceKind::kBuggifySite || event.kind == TraceKind::kBuggifyFire) {
      probed.buggify_events.push_back(event);
    }
  }
  return probed;
}

TEST(SimBuggify, TheWorldAnswersFromItsSeedInEveryProcess) {
  // Seed 22 enables both x and y (runtime/buggify_test.cc pins the same evaluations).
  Probed probed = run_probes(22);
  ASSERT_TRUE(probed.result.status.ok()) << probed.result.status;
  EXPECT_EQ(probed.driver_x, (std::vector<int>{2, 4, 5, 9}));
  EXPECT_EQ(probed.actor_y, (std::vector<int>{3, 5, 8}));
  // x's evaluations 13..16, now in the actor's process: one run has one state per site.
  BuggifySites reference(22, nullptr);
  for (int i = 0; i < 12; ++i) (void)reference.evaluate("x");
  std::vector<int> expected;
  for (int i = 1; i <= 4; ++i) {
    if (reference.evaluate("x")) expected.push_back(i);
  }
  EXPECT_EQ(probed.actor_x_later, expected);
  EXPECT_EQ(probed.actor_x_later, (std::vector<int>{1}));  // pinned: evaluation 13 fires for seed 22
}

TEST(SimBuggify, FirstEvaluationsAndFiringsAreTracedWhereTheyHappened) {
  Probed probed = run_probes(22);
  ASSERT_TRUE(probed.result.status.ok()) << probed.result.status;
  std::vector<std::string> details;
  for (const TraceEvent& event : probed.buggify_events) details.push_back(event.detail);
  EXPECT_EQ(details, (std::vector<std::string>{"x enabled", "x fired on evaluation 2", "x fired on evaluation 4",
                                               "x fired on evaluation 5", "x fired on evaluation 9", "y enabled",
                                               "y fired on evaluation 3", "y fired on evaluation 5",
                                               "y fired on evaluation 8", "x fired on evaluation 13"}));
  // The driver's events come from its process, the actor's from the actor's worker.
  const ProcessId driver = probed.buggify_events.front().process;
  const ProcessId worker = probed.buggify_events[5].process;
  EXPECT_TRUE(driver.valid());
  EXPECT_TRUE(worker.valid());
  EXPECT_NE(driver, worker);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(probed.buggify_events[i].process, driver) << i;
  for (size_t i = 5; i < 10; ++i) EXPECT_EQ(probed.buggify_events[i].process, worker) << i;
}

TEST(SimBuggify, TheSameSeedGivesTheSameTraceHash) {
  Probed first = run_probes(22);
  Probed second = run_probes(22);
  EXPECT_EQ(first.result.trace_hash, second.result.trace_hash);
  EXPECT_EQ(first.result.events, second.result.events);
  Probed other = run_probes(12);  // x fires elsewhere (1, 4, 7, 11, 12), y is disabled
  EXPECT_EQ(other.driver_x, (std::vector<int>{1, 4, 7, 11, 12}));
  EXPECT_EQ(other.actor_y, (std::vector<int>{}));
  EXPECT_NE(first.result.trace_hash, other.result.trace_hash);
}

TEST(SimBuggify, ASeedDisablingEverySiteFiresNothingButStillTracesFirstEvaluations) {
  // Seed 2 enables neither x nor y.
  ASSERT_FALSE(BuggifySites::enabled_by_seed(2, "x"));
  ASSERT_FALSE(BuggifySites::enabled_by_seed(2, "y"));
  Probed probed = run_probes(2);
  EXPECT_EQ(probed.driver_x, (std::vector<int>{}));
  EXPECT_EQ(probed.actor_y, (std::vector<int>{}));
  ASSERT_EQ(probed.buggify_events.size(), 2u);
  EXPECT_EQ(probed.buggify_events[0].detail, "x disabled");
  EXPECT_EQ(probed.buggify_events[1].detail, "y disabled");
}

}  // namespace
}  // namespace troupe::sim
