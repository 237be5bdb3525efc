// buggify() on the threads platform: always false without chaos; with chaos, the seeded rule of
// runtime/buggify_sites.h from the options' seed, traced and announced.
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/buggify_sites.h"
#include "runtime/core/cluster.h"
#include "runtime/real/threads_platform.h"
#include "runtime/troupe.h"

namespace troupe {
namespace {

class Prober {
 public:
  int fired(std::string site, int count) {
    int fired = 0;
    for (int i = 0; i < count; ++i) fired += buggify(site) ? 1 : 0;
    return fired;
  }
};
TROUPE_ACTOR(Prober, &Prober::fired);

// Probes `site` `count` times in the driver, then `count` times in an actor; returns the firing
// evaluations of the driver's probes (from 1) and the actor's count.
struct Probed {
  std::vector<int> driver;
  int actor = -1;
};

Probed probe(ThreadsPlatform& platform, const std::string& site, int count) {
  Probed probed;
  absl::Status status = core::run_driver(platform, [&](System& sys) {
    for (int i = 1; i <= count; ++i) {
      if (buggify(site)) probed.driver.push_back(i);
    }
    probed.actor = sys.get(sys.spawn<Prober>({}).call(&Prober::fired, site, count));
  });
  EXPECT_TRUE(status.ok()) << status;
  return probed;
}

TEST(ThreadsBuggify, WithoutChaosEverySiteIsAlwaysFalse) {
  // Seed 22 enables x under the simulator; here it must not matter.
  ASSERT_TRUE(BuggifySites::enabled_by_seed(22, "x"));
  ThreadsPlatform platform({.threads = 2, .seed = 22});
  Probed probed = probe(platform, "x", 1'000);
  EXPECT_EQ(probed.driver, (std::vector<int>{}));
  EXPECT_EQ(probed.actor, 0);
}

TEST(ThreadsBuggify, WithChaosSitesFollowTheSeededRuleAndAreTraced) {
  Trace trace;
  trace.set_retain(true);
  ThreadsPlatform platform({.threads = 2, .seed = 22, .trace = &trace, .chaos = true});
  Probed probed = probe(platform, "x", 12);
  // The same evaluations as under the simulator with seed 22 (runtime/buggify_test.cc).
  EXPECT_EQ(probed.driver, (std::vector<int>{2, 4, 5, 9}));
  BuggifySites reference(22, nullptr);
  for (int i = 0; i < 12; ++i) (void)reference.evaluate("x");
  int expected_actor = 0;
  for (int i = 0; i < 12; ++i) expected_actor += reference.evaluate("x") ? 1 : 0;
  EXPECT_EQ(probed.actor, expected_actor);
  std::vector<std::string> details;
  for (const TraceEvent& event : trace.retained()) {
    if (event.kind == TraceKind::kFault || event.kind == TraceKind::kBuggifySite) details.push_back(event.detail);
  }
  EXPECT_EQ(details, (std::vector<std::string>{"chaos on, buggify seed 22", "x enabled"}));
}

TEST(ThreadsBuggify, WithChaosASiteTheSeedDisablesStaysFalse) {
  ASSERT_FALSE(BuggifySites::enabled_by_seed(2, "x"));
  ThreadsPlatform platform({.threads = 2, .seed = 2, .chaos = true});
  Probed probed = probe(platform, "x", 1'000);
  EXPECT_EQ(probed.driver, (std::vector<int>{}));
  EXPECT_EQ(probed.actor, 0);
}

TEST(ThreadsBuggify, InvalidSiteNamesThrowOnTheRealPlatformToo) {
  ThreadsPlatform platform({.threads = 2});
  bool threw = false;
  absl::Status status = core::run_driver(platform, [&](System&) {
    try {
      (void)buggify("");
    } catch (const std::invalid_argument&) {
      threw = true;
    }
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_TRUE(threw);
}

}  // namespace
}  // namespace troupe
