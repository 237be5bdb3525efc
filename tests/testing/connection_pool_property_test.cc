// The ConnectionPool of the Ray actors guide ("资源池模式") against a model, with RapidCheck's
// rc::state through the simulator, delay faults on (testing/actor_model.h).
//
// ConnectionPool.MatchesModelUnderFaults: a pool that takes back only leased connections passes.
// ConnectionPool.SeedsReleaseIsCaught: the guide's own release appends any connection of the pool,
// so releasing one nobody holds (a caller retrying its release, say) puts it in the pool twice and
// two callers get it. The property finds it, and shrinks it to the one call that shows it: a
// release the model refuses and the pool accepts.
#include <algorithm>
#include <deque>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/troupe.h"
#include "testing/actor_model.h"
#include "testing/property.h"

namespace pool_example {

constexpr int kPoolSize = 3;

// Connections are numbered 0 .. size-1; acquire hands out the first available one (nothing when
// none is), release gives one back and says whether it was leased.
class ConnectionPool {
 public:
  // `seed_release` true is the guide's release: it takes back any connection of the pool.
  ConnectionPool(int size, bool seed_release) : size_(size), seed_release_(seed_release) {
    for (int i = 0; i < size; ++i) available_.push_back(i);
  }
  std::optional<int> acquire() {
    if (available_.empty()) return std::nullopt;
    const int conn = available_.front();
    available_.pop_front();
    leased_.insert(conn);
    return conn;
  }
  bool release(int conn) {
    if (conn < 0 || conn >= size_) return false;
    if (!seed_release_ && !leased_.contains(conn)) return false;
    leased_.erase(conn);
    available_.push_back(conn);  // the guide's release: even if it was never leased
    return true;
  }
  int available() const { return static_cast<int>(available_.size()); }

 private:
  int size_;
  bool seed_release_;
  std::deque<int> available_;
  std::set<int> leased_;
};
TROUPE_ACTOR(ConnectionPool, &ConnectionPool::acquire, &ConnectionPool::release, &ConnectionPool::available);

struct PoolModel {
  std::deque<int> available = {0, 1, 2};
  std::set<int> leased;
};

std::string text(const std::optional<int>& conn) { return conn ? std::to_string(*conn) : "none"; }

using PoolCommand = troupe::testing::ActorCommand<PoolModel, ConnectionPool>;
using PoolSut = troupe::testing::ActorSut<ConnectionPool>;

struct Acquire : PoolCommand {
  void apply(PoolModel& model) const override {
    if (model.available.empty()) return;
    model.leased.insert(model.available.front());
    model.available.pop_front();
  }
  void run(const PoolModel& model, PoolSut& pool) const override {
    const std::optional<int> want = model.available.empty() ? std::nullopt : std::optional(model.available.front());
    RC_ASSERT(text(pool.get(&ConnectionPool::acquire)) == text(want));
  }
  void show(std::ostream& os) const override { os << "acquire()"; }
};

// Releases a connection, leased or not, now and then one that does not exist.
struct Release : PoolCommand {
  int conn = *rc::gen::inRange(0, kPoolSize + 1);
  void apply(PoolModel& model) const override {
    if (!model.leased.contains(conn)) return;
    model.leased.erase(conn);
    model.available.push_back(conn);
  }
  void run(const PoolModel& model, PoolSut& pool) const override {
    RC_ASSERT(pool.get(&ConnectionPool::release, conn) == model.leased.contains(conn));
  }
  void show(std::ostream& os) const override { os << "release(" << conn << ")"; }
};

struct Available : PoolCommand {
  void run(const PoolModel& model, PoolSut& pool) const override {
    RC_ASSERT(pool.get(&ConnectionPool::available) == static_cast<int>(model.available.size()));
  }
  void show(std::ostream& os) const override { os << "available()"; }
};

void check_pool(bool seed_release) {
  troupe::testing::check_actor_model<PoolModel, ConnectionPool>(
      {.faults = {.kinds = troupe::testing::kDelayFaults}, .name = "connection pool"}, PoolModel{},
      [seed_release](troupe::System& sys) { return sys.spawn<ConnectionPool>({}, kPoolSize, seed_release); },
      rc::state::gen::execOneOfWithArgs<Acquire, Release, Available>());
}

TROUPE_PROPERTY(ConnectionPool, MatchesModelUnderFaults, .cases = 200) { check_pool(/*seed_release=*/false); }

TEST(ConnectionPool, SeedsReleaseIsCaught) {
  troupe::testing::model_case_stats() = {};
  const troupe::testing::PropertyReport report =
      troupe::testing::check_property({.cases = 200, .report_to_gtest = false}, [] { check_pool(/*seed_release=*/true); });
  std::cout << report.message << "\n";
  ASSERT_FALSE(report.passed) << "the guide's release passed 200 cases; RapidCheck seed " << report.seed;
  const std::optional<troupe::testing::ModelCase>& minimal = troupe::testing::last_failing_model_case();
  ASSERT_TRUE(minimal.has_value());
  // The smallest case: release(c) of a connection nobody holds, which the guide's pool accepts
  // and the model refuses. One call, no fault.
  EXPECT_EQ(minimal->commands, 1u);
  EXPECT_EQ(minimal->plan.faults.size(), 0u);
  ASSERT_EQ(report.counterexample.size(), 3u);
  EXPECT_EQ(report.counterexample[2].second.rfind("release(", 0), 0u) << report.counterexample[2].second;
}

}  // namespace pool_example
