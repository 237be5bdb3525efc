// buggify(): the activation and firing rule (BuggifySites), its trace, forcing sites on, site-name
// validation, and the answer outside any platform. Runs on a World and on the threads platform
// are in sim/buggify_test.cc and runtime/real/threads_buggify_test.cc.
#include "runtime/buggify.h"

#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/buggify_sites.h"
#include "runtime/core/random.h"
#include "runtime/platform.h"

namespace troupe {
namespace {

// The evaluations (from 1) among the first `count` on which `site` fires.
std::vector<int> firings(BuggifySites& sites, std::string_view site, int count) {
  std::vector<int> fired;
  for (int i = 1; i <= count; ++i) {
    if (sites.evaluate(site)) fired.push_back(i);
  }
  return fired;
}

TEST(Buggify, ASiteIsEnabledInAQuarterOfRuns) {
  int enabled = 0;
  for (uint64_t seed = 1; seed <= 10'000; ++seed) enabled += BuggifySites::enabled_by_seed(seed, "x") ? 1 : 0;
  // Binomial(10'000, 1/4): mean 2'500, standard deviation 43.3; the band is +-5 sd.
  EXPECT_GE(enabled, 2'283);
  EXPECT_LE(enabled, 2'717);
  EXPECT_EQ(enabled, 2'445);  // pinned: the rule is a function of the seed only
}

TEST(Buggify, SitesAreEnabledIndependentlyOfEachOther) {
  int both = 0;
  for (uint64_t seed = 1; seed <= 10'000; ++seed) {
    both += BuggifySites::enabled_by_seed(seed, "x") && BuggifySites::enabled_by_seed(seed, "y") ? 1 : 0;
  }
  // Binomial(10'000, 1/16): mean 625, standard deviation 24.2; the band is +-5 sd.
  EXPECT_GE(both, 504);
  EXPECT_LE(both, 746);
  EXPECT_EQ(both, 611);
}

TEST(Buggify, AnEnabledSiteFiresOnAQuarterOfEvaluations) {
  BuggifySites sites(1, nullptr);
  sites.force_enable({"x"});
  int fired = 0;
  for (int i = 0; i < 100'000; ++i) fired += sites.evaluate("x") ? 1 : 0;
  // Binomial(100'000, 1/4): mean 25'000, standard deviation 136.9; the band is +-5 sd.
  EXPECT_GE(fired, 24'315);
  EXPECT_LE(fired, 25'685);
  EXPECT_EQ(fired, 25'246);
  EXPECT_EQ(sites.find("x")->fired, 25'246u);
  EXPECT_EQ(sites.find("x")->evaluations, 100'000u);
}

TEST(Buggify, PinnedSeedsEnableAndFireExactly) {
  BuggifySites seed12(12, nullptr);
  EXPECT_EQ(firings(seed12, "x", 12), (std::vector<int>{1, 4, 7, 11, 12}));
  BuggifySites seed5(5, nullptr);
  EXPECT_EQ(firings(seed5, "x", 12), (std::vector<int>{4}));
  BuggifySites seed1(1, nullptr);  // x disabled, y enabled
  EXPECT_EQ(firings(seed1, "x", 1'000), (std::vector<int>{}));
  EXPECT_FALSE(seed1.find("x")->enabled);
  EXPECT_TRUE(BuggifySites::enabled_by_seed(1, "y"));
  BuggifySites seed22(22, nullptr);  // both enabled
  EXPECT_EQ(firings(seed22, "x", 12), (std::vector<int>{2, 4, 5, 9}));
  EXPECT_EQ(firings(seed22, "y", 12), (std::vector<int>{3, 5, 8}));
}

TEST(Buggify, TheRuleIsTheDocumentedFunctionOfSeedAndName) {
  EXPECT_EQ(BuggifySites::site_key(""), 0xcbf29ce484222325u);  // FNV-1a 64 reference values
  EXPECT_EQ(BuggifySites::site_key("a"), 0xaf63dc4c8601ec8cu);
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    Rng rng = Rng(seed).fork(kStreamBuggify).fork(BuggifySites::site_key("store.put"));
    const bool enabled = rng.one_in(kBuggifyEnabledOneIn);
    ASSERT_EQ(BuggifySites::enabled_by_seed(seed, "store.put"), enabled) << "seed " << seed;
    BuggifySites sites(seed, nullptr);
    for (int i = 0; i < 20; ++i) {
      ASSERT_EQ(sites.evaluate("store.put"), enabled && rng.one_in(kBuggifyFiresOneIn)) << "seed " << seed;
    }
  }
}

TEST(Buggify, TheAnswerDoesNotDependOnTheOrderSitesAreReached) {
  BuggifySites x_first(22, nullptr);
  BuggifySites y_first(22, nullptr);
  std::vector<int> x1 = firings(x_first, "x", 12);
  std::vector<int> y1 = firings(x_first, "y", 12);
  std::vector<int> y2;
  std::vector<int> x2;
  for (int i = 1; i <= 12; ++i) {  // interleaved, y first
    if (y_first.evaluate("y")) y2.push_back(i);
    if (y_first.evaluate("x")) x2.push_back(i);
  }
  EXPECT_EQ(x1, x2);
  EXPECT_EQ(y1, y2);
  EXPECT_EQ(x_first.sites(), y_first.sites());
}

TEST(Buggify, TheTraceHasEachFirstEvaluationAndEachFiring) {
  std::vector<TraceEvent> events;
  BuggifySites sites(12, [&](TraceEvent event) { events.push_back(std::move(event)); });
  for (int i = 0; i < 4; ++i) (void)sites.evaluate("x");  // fires on 1 and 4
  (void)sites.evaluate("z.off");
  (void)sites.evaluate("z.off");
  std::vector<std::pair<TraceKind, std::string>> got;
  for (const TraceEvent& event : events) got.emplace_back(event.kind, event.detail);
  EXPECT_EQ(BuggifySites::enabled_by_seed(12, "z.off"), false);
  EXPECT_EQ(got, (std::vector<std::pair<TraceKind, std::string>>{
                     {TraceKind::kBuggifySite, "x enabled"},
                     {TraceKind::kBuggifyFire, "x fired on evaluation 1"},
                     {TraceKind::kBuggifyFire, "x fired on evaluation 4"},
                     {TraceKind::kBuggifySite, "z.off disabled"},
                 }));
  EXPECT_EQ(trace_kind_name(TraceKind::kBuggifySite), "buggify_site");
  EXPECT_EQ(trace_kind_name(TraceKind::kBuggifyFire), "buggify_fire");
}

TEST(Buggify, AForcedSiteFiresAsIfTheSeedHadEnabledIt) {
  // Seed 1 leaves x disabled; forced on, it fires on the evaluations the rule draws for it.
  ASSERT_FALSE(BuggifySites::enabled_by_seed(1, "x"));
  std::vector<TraceEvent> events;
  BuggifySites sites(1, [&](TraceEvent event) { events.push_back(std::move(event)); });
  sites.force_enable({"x", "y"});
  EXPECT_EQ(firings(sites, "x", 12), (std::vector<int>{1, 3, 4, 8, 10}));
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0].kind, TraceKind::kFault);
  EXPECT_EQ(events[0].detail, "buggify force x, y");
  EXPECT_EQ(events[1].detail, "x enabled (forced)");
  EXPECT_EQ(*sites.find("y"), (BuggifySiteState{.name = "y", .enabled = true, .forced = true}));
}

TEST(Buggify, ASiteSeenDisabledFiresOnceForced) {
  BuggifySites sites(1, nullptr);
  EXPECT_EQ(firings(sites, "x", 3), (std::vector<int>{}));  // disabled by seed 1: no draws
  sites.force_enable({"x"});
  // Its stream continues where the activation draw left it: evaluations 4..15 get the draws that
  // evaluations 1..12 get when forced from the start ({1, 3, 4, 8, 10} above).
  EXPECT_EQ(firings(sites, "x", 12), (std::vector<int>{1, 3, 4, 8, 10}));
  EXPECT_EQ(sites.find("x")->evaluations, 15u);
  EXPECT_EQ(sites.find("x")->fired, 5u);
}

TEST(Buggify, SiteNamesMustBeOneTo128Bytes) {
  EXPECT_TRUE(validate_buggify_site("a").ok());
  EXPECT_TRUE(validate_buggify_site(std::string(kBuggifySiteNameBytesMax, 'a')).ok());
  EXPECT_EQ(validate_buggify_site("").message(), "buggify site name must be 1 to 128 bytes long (got 0 bytes)");
  EXPECT_EQ(validate_buggify_site(std::string(129, 'b')).message(),
            "buggify site name must be 1 to 128 bytes long (got 129 bytes: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb...')");
  try {
    (void)buggify("");
    FAIL() << "buggify(\"\") returned";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(), "troupe::buggify: buggify site name must be 1 to 128 bytes long (got 0 bytes)");
  }
  EXPECT_THROW((void)buggify(std::string(129, 'b')), std::invalid_argument);
}

TEST(Buggify, OutsideAnyPlatformItIsFalse) {
  ASSERT_EQ(ExecutionContext::current(), nullptr);
  for (int i = 0; i < 1'000; ++i) ASSERT_FALSE(buggify("x"));
}

TEST(Buggify, SitesAreListedByName) {
  BuggifySites sites(12, nullptr);
  (void)sites.evaluate("x");
  sites.force_enable({"b"});
  (void)sites.evaluate("a");
  std::vector<std::string> names;
  for (const BuggifySiteState& site : sites.sites()) names.push_back(site.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "x"}));
  EXPECT_EQ(sites.find("nosuch"), nullptr);
}

}  // namespace
}  // namespace troupe
