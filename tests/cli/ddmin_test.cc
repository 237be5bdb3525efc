// ddmin (tools/troupe/ddmin.h): the subsets it keeps, how many tests it spends, its budget.
#include "tools/troupe/ddmin.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "runtime/core/random.h"

namespace troupe::cli {
namespace {

bool contains_all(std::span<const size_t> subset, const std::vector<size_t>& needed) {
  return std::all_of(needed.begin(), needed.end(),
                     [&](size_t item) { return std::find(subset.begin(), subset.end(), item) != subset.end(); });
}

TEST(Ddmin, FindsTheOneItemThatMatters) {
  std::vector<std::vector<size_t>> tested;
  const DdminResult result = ddmin(100, {}, [&](std::span<const size_t> subset) {
    tested.emplace_back(subset.begin(), subset.end());
    return contains_all(subset, {37});
  });
  EXPECT_EQ(result.kept, (std::vector<size_t>{37}));
  EXPECT_TRUE(result.complete);
  EXPECT_EQ(result.tests, tested.size());
  // The empty set, then halving: [0, 50) fails, [0, 25) passes, [25, 50) fails, ... one or two
  // tests per halving.
  EXPECT_EQ(result.tests, 11u);
  EXPECT_TRUE(tested.front().empty());
  EXPECT_EQ(tested[1].size(), 50u);
  EXPECT_EQ(tested[1].front(), 0u);
  EXPECT_EQ(tested[2].size(), 25u);
  EXPECT_EQ(tested[3].front(), 25u);
}

TEST(Ddmin, KeepsTwoItemsThatOnlyFailTogether) {
  const DdminResult result =
      ddmin(64, {}, [](std::span<const size_t> subset) { return contains_all(subset, {3, 60}); });
  EXPECT_EQ(result.kept, (std::vector<size_t>{3, 60}));
  EXPECT_TRUE(result.complete);
}

TEST(Ddmin, AFailureThatNeedsNoItemEndsAfterOneTest) {
  const DdminResult result = ddmin(10, {}, [](std::span<const size_t>) { return true; });
  EXPECT_TRUE(result.kept.empty());
  EXPECT_EQ(result.tests, 1u);
  EXPECT_TRUE(result.complete);
}

TEST(Ddmin, WithoutTheEmptySetItKeepsOneItem) {
  std::vector<size_t> sizes;
  const DdminResult result = ddmin(8, {.allow_empty = false}, [&](std::span<const size_t> subset) {
    sizes.push_back(subset.size());
    return true;
  });
  EXPECT_EQ(result.kept, (std::vector<size_t>{0}));
  EXPECT_TRUE(result.complete);
  EXPECT_EQ(std::count(sizes.begin(), sizes.end(), 0u), 0);
  EXPECT_EQ(sizes, (std::vector<size_t>{4, 2, 1}));
}

TEST(Ddmin, NothingToRemoveCostsNoTest) {
  const DdminResult none = ddmin(0, {}, [](std::span<const size_t>) -> bool { ADD_FAILURE(); return true; });
  EXPECT_TRUE(none.kept.empty());
  EXPECT_EQ(none.tests, 0u);
  EXPECT_TRUE(none.complete);
  const DdminResult one = ddmin(1, {.allow_empty = false}, [](std::span<const size_t>) -> bool {
    ADD_FAILURE();
    return true;
  });
  EXPECT_EQ(one.kept, (std::vector<size_t>{0}));
  EXPECT_TRUE(one.complete);
}

TEST(Ddmin, StopsAtTheBudgetWithTheSmallestFailingSetSoFar) {
  std::set<std::vector<size_t>> failing;
  const auto fails = [&](std::span<const size_t> subset) {
    const bool failed = contains_all(subset, {5, 40, 77});
    if (failed) failing.emplace(subset.begin(), subset.end());
    return failed;
  };
  // The empty set and both halves pass (3 tests), so do the quarters (4); without [50, 75) it
  // still fails (after 3 complements): 75 items are left when the budget ends.
  const DdminResult result = ddmin(100, {.max_tests = 12}, fails);
  EXPECT_FALSE(result.complete);
  EXPECT_EQ(result.tests, 12u);
  EXPECT_EQ(result.kept.size(), 75u);
  EXPECT_TRUE(failing.contains(result.kept));  // a set that was seen to fail
  const DdminResult unlimited = ddmin(100, {}, fails);
  EXPECT_EQ(unlimited.kept, (std::vector<size_t>{5, 40, 77}));
  EXPECT_TRUE(unlimited.complete);
  EXPECT_EQ(ddmin(100, {.max_tests = 0}, fails).tests, 0u);
}

TEST(Ddmin, NeverRunsAPassingSubsetTwice) {
  std::set<std::vector<size_t>> seen;
  const DdminResult result = ddmin(40, {}, [&](std::span<const size_t> subset) {
    const std::vector<size_t> key(subset.begin(), subset.end());
    const bool failed = contains_all(subset, {1, 2, 30});
    if (!failed) {
      EXPECT_TRUE(seen.insert(key).second) << "tested twice: " << fmt::format("{}", fmt::join(key, ","));
    }
    return failed;
  });
  EXPECT_EQ(result.kept, (std::vector<size_t>{1, 2, 30}));
}

// Randomized: for monotone tests (fails iff the subset holds a hidden set) ddmin returns exactly the
// hidden set; for a non-monotone one (an odd number of items from a hidden set) a 1-minimal set.
TEST(Ddmin, RandomHiddenSetsAreFoundExactlyAndResultsAre1Minimal) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    Rng rng(seed);
    const size_t count = 1 + rng.below(80);
    std::vector<size_t> hidden;
    for (size_t i = 0; i < count; ++i) {
      if (rng.below(10) == 0) hidden.push_back(i);
    }
    if (hidden.empty()) hidden.push_back(rng.below(count));
    const DdminResult monotone =
        ddmin(count, {}, [&](std::span<const size_t> subset) { return contains_all(subset, hidden); });
    EXPECT_EQ(monotone.kept, hidden);
    EXPECT_TRUE(monotone.complete);

    const auto odd = [&](std::span<const size_t> subset) {
      size_t in_hidden = 0;
      for (size_t item : subset) in_hidden += std::binary_search(hidden.begin(), hidden.end(), item) ? 1 : 0;
      return in_hidden % 2 == 1;
    };
    std::vector<size_t> all(count);
    for (size_t i = 0; i < count; ++i) all[i] = i;
    if (!odd(all)) continue;  // ddmin requires the whole set to fail
    const DdminResult result = ddmin(count, {}, odd);
    ASSERT_TRUE(result.complete);
    EXPECT_TRUE(odd(result.kept));
    for (size_t i = 0; i < result.kept.size(); ++i) {
      std::vector<size_t> smaller = result.kept;
      smaller.erase(smaller.begin() + static_cast<ptrdiff_t>(i));
      EXPECT_FALSE(odd(smaller)) << "removable: " << result.kept[i];
    }
  }
}

}  // namespace
}  // namespace troupe::cli
