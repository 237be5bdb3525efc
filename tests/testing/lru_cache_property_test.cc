// The LRU cache actor of the Ray actors guide ("缓存模式") against a model, with RapidCheck's
// rc::state through the simulator, delay faults on (testing/actor_model.h).
//
// LruCache.MatchesModelUnderFaults: the correct cache passes 200 generated cases.
// LruCache.BrokenEvictionIsCaughtAndShrunk (issue 7's acceptance 1): a cache that evicts the most
// recently used key is caught, and RapidCheck shrinks the case to at most 6 calls and 1 fault.
#include <list>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/troupe.h"
#include "testing/actor_model.h"
#include "testing/property.h"
#include "testing/sim_test.h"

namespace lru_example {

// The actor under test. `evict_most_recent` plants the bug: evict the newest key, not the oldest.
class Cache {
 public:
  Cache(int max_size, bool evict_most_recent) : max_size_(max_size), evict_most_recent_(evict_most_recent) {}
  std::optional<int> get(std::string key) {
    auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    order_.remove(key);
    order_.push_back(key);
    return it->second;
  }
  void set(std::string key, int value) {
    if (values_.contains(key)) {
      order_.remove(key);
    } else if (static_cast<int>(values_.size()) >= max_size_) {
      const std::string victim = evict_most_recent_ ? order_.back() : order_.front();
      if (evict_most_recent_) {
        order_.pop_back();
      } else {
        order_.pop_front();
      }
      values_.erase(victim);
    }
    values_[key] = value;
    order_.push_back(key);
  }
  int size() const { return static_cast<int>(values_.size()); }

 private:
  int max_size_;
  bool evict_most_recent_;
  std::map<std::string, int> values_;
  std::list<std::string> order_;  // least recently used first
};
TROUPE_ACTOR(Cache, &Cache::get, &Cache::set, &Cache::size);

// The model: what an LRU cache of max_size keys must answer.
struct LruModel {
  int max_size = 2;
  std::map<std::string, int> values;
  std::list<std::string> order;  // least recently used first

  std::optional<int> get(const std::string& key) {
    auto it = values.find(key);
    if (it == values.end()) return std::nullopt;
    order.remove(key);
    order.push_back(key);
    return it->second;
  }
  void set(const std::string& key, int value) {
    if (values.contains(key)) {
      order.remove(key);
    } else if (static_cast<int>(values.size()) >= max_size) {
      values.erase(order.front());
      order.pop_front();
    }
    values[key] = value;
    order.push_back(key);
  }
};

// "none" or the value, for RapidCheck's "Expands to" line (it cannot print std::optional).
std::string text(const std::optional<int>& value) { return value ? std::to_string(*value) : "none"; }

using CacheCommand = troupe::testing::ActorCommand<LruModel, Cache>;
using CacheSut = troupe::testing::ActorSut<Cache>;
const std::vector<std::string> kKeys = {"a", "b", "c", "d"};

struct Get : CacheCommand {
  std::string key = *rc::gen::elementOf(kKeys);
  void apply(LruModel& model) const override { model.get(key); }
  void run(const LruModel& model, CacheSut& cache) const override {
    LruModel expected = model;
    RC_ASSERT(text(cache.get(&Cache::get, key)) == text(expected.get(key)));
  }
  void show(std::ostream& os) const override { os << "get(" << key << ")"; }
};

struct Set : CacheCommand {
  std::string key = *rc::gen::elementOf(kKeys);
  int value = *rc::gen::inRange(0, 100);
  void apply(LruModel& model) const override { model.set(key, value); }
  void run(const LruModel&, CacheSut& cache) const override { cache.get(&Cache::set, key, value); }
  void show(std::ostream& os) const override { os << "set(" << key << ", " << value << ")"; }
};

struct Size : CacheCommand {
  void run(const LruModel& model, CacheSut& cache) const override {
    RC_ASSERT(cache.get(&Cache::size) == static_cast<int>(model.values.size()));
  }
  void show(std::ostream& os) const override { os << "size()"; }
};

// One case: a cache of max_size 2 on a three-node cluster, latency spikes and clogs (held
// messages) in the first second; the cache's calls must answer as the model does.
void check_cache(bool evict_most_recent) {
  troupe::testing::check_actor_model<LruModel, Cache>(
      {.faults = {.kinds = troupe::testing::kDelayFaults}, .name = "lru cache"}, LruModel{.max_size = 2},
      [evict_most_recent](troupe::System& sys) { return sys.spawn<Cache>({}, 2, evict_most_recent); },
      rc::state::gen::execOneOfWithArgs<Get, Set, Size>());
}

TEST(LruCache, MatchesModelUnderFaults) {
  troupe::testing::model_case_stats() = {};
  const troupe::testing::PropertyReport report =
      troupe::testing::check_property({.cases = 200}, [] { check_cache(/*evict_most_recent=*/false); });
  ASSERT_TRUE(report.passed);
  EXPECT_EQ(report.cases, 200);
  // The faults were on: most cases realized some (RapidCheck's early cases are small, so not all).
  const troupe::testing::ModelCaseStats& stats = troupe::testing::model_case_stats();
  EXPECT_EQ(stats.cases, 200u);
  EXPECT_GE(stats.cases_with_faults, 100u) << "cases in which a fault fired; RapidCheck seed " << report.seed;
  std::cout << "cases with faults: " << stats.cases_with_faults << ", faults realized: " << stats.faults_realized
            << ", calls: " << stats.commands << ", simulated time: " << stats.sim_time_ns / 1000 << " us\n";
}

// Issue 7's acceptance 1, on 20 RapidCheck seeds (the first the test's own): every one finds the
// bug with faults on and shrinks it to at most 6 calls and at most 1 fault.
TEST(LruCache, BrokenEvictionIsCaughtAndShrunk) {
  const uint64_t first_seed = troupe::testing::default_property_seed("LruCache/BrokenEvictionIsCaughtAndShrunk");
  int found_with_faults = 0;
  for (uint64_t i = 0; i < 20; ++i) {
    const uint64_t seed = first_seed + i;
    SCOPED_TRACE(testing::Message() << "RapidCheck seed " << seed);
    troupe::testing::model_case_stats() = {};
    const troupe::testing::PropertyReport report = troupe::testing::check_property(
        {.cases = 200, .seed = seed, .report_to_gtest = false}, [] { check_cache(/*evict_most_recent=*/true); });
    if (i == 0) std::cout << report.message << "\n";
    ASSERT_FALSE(report.passed) << "the broken cache passed 200 cases";
    const troupe::testing::ModelCaseStats& stats = troupe::testing::model_case_stats();
    ASSERT_TRUE(stats.first_failing.has_value());
    if (stats.first_failing->realized_faults > 0) ++found_with_faults;
    const std::optional<troupe::testing::ModelCase>& minimal = troupe::testing::last_failing_model_case();
    ASSERT_TRUE(minimal.has_value());
    EXPECT_LE(minimal->commands, 6u) << "calls in the shrunk case (first found with " << stats.first_failing->commands
                                     << " calls)";
    EXPECT_LE(minimal->plan.faults.size(), 1u) << "faults in the shrunk case (first found with "
                                               << stats.first_failing->plan.faults.size() << " planned)";
    // The failure is the model check, not something else the run did.
    EXPECT_NE(minimal->failure.find("RC_ASSERT"), std::string::npos) << minimal->failure;
    // RapidCheck's counterexample is the same case: the seed, the plan, and the calls.
    ASSERT_EQ(report.counterexample.size(), 3u);
    EXPECT_EQ(report.counterexample[0].first, "simulator seed");
    EXPECT_EQ(report.counterexample[0].second, std::to_string(minimal->seed));
    EXPECT_EQ(report.counterexample[1].first, "fault plan");
    EXPECT_EQ(report.counterexample[2].first, "calls");
  }
  // Faults were on: most first finds ran under faults that fired (a find is usually RapidCheck's
  // 10th to 30th case, which plan several faults).
  EXPECT_GE(found_with_faults, 10);
  std::cout << found_with_faults << " of 20 seeds found the bug in a case where faults fired\n";
}

}  // namespace lru_example
