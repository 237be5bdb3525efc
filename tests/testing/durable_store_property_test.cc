// A bug that only a fault shows, and the shrinking that keeps exactly that fault: a key-value
// actor that checkpoints to troupe::storage so it survives restarts (max_restarts and
// max_task_retries -1, the guide's "容错模式"), tested against a model with crash faults on.
//
// DurableStore.SurvivesCrashes: checkpointing every write, the store's answers equal the model's
// however the crashes fall (a retried set is idempotent).
// DurableStore.WriteBehindLosesWritesOnACrash: a "write-behind" store that checkpoints every third
// write passes without faults, fails with them, and shrinks to a set, one crash and a get (the
// fewest calls and the fewest faults at once: issue 7's combined shrinking).
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/troupe.h"
#include "testing/actor_model.h"
#include "testing/property.h"

namespace durable_example {

class KvStore {
 public:
  // Writes a checkpoint after every `checkpoint_every` sets; restores the last one on (re)start.
  explicit KvStore(int checkpoint_every) : checkpoint_every_(checkpoint_every) {
    values_ = troupe::storage::get_value<std::map<std::string, int>>("kv/state").value_or(std::map<std::string, int>{});
  }
  void set(std::string key, int value) {
    values_[key] = value;
    if (++unsaved_ >= checkpoint_every_) {
      troupe::storage::put_value("kv/state", values_);  // before replying: the write is durable
      unsaved_ = 0;
    }
  }
  std::optional<int> get(std::string key) const {
    auto it = values_.find(key);
    return it == values_.end() ? std::nullopt : std::optional(it->second);
  }

 private:
  int checkpoint_every_;
  int unsaved_ = 0;
  std::map<std::string, int> values_;
};
TROUPE_ACTOR(KvStore, &KvStore::set, &KvStore::get);

using Model = std::map<std::string, int>;
using StoreCommand = troupe::testing::ActorCommand<Model, KvStore>;
using StoreSut = troupe::testing::ActorSut<KvStore>;
const std::vector<std::string> kKeys = {"a", "b", "c"};

std::string text(const std::optional<int>& value) { return value ? std::to_string(*value) : "none"; }

struct Set : StoreCommand {
  std::string key = *rc::gen::elementOf(kKeys);
  int value = *rc::gen::inRange(0, 100);
  void apply(Model& model) const override { model[key] = value; }
  void run(const Model&, StoreSut& store) const override { store.get(&KvStore::set, key, value); }
  void show(std::ostream& os) const override { os << "set(" << key << ", " << value << ")"; }
};

struct Get : StoreCommand {
  std::string key = *rc::gen::elementOf(kKeys);
  void run(const Model& model, StoreSut& store) const override {
    auto it = model.find(key);
    RC_ASSERT(text(store.get(&KvStore::get, key)) == text(it == model.end() ? std::nullopt : std::optional(it->second)));
  }
  void show(std::ostream& os) const override { os << "get(" << key << ")"; }
};

void check_store(int checkpoint_every, std::set<troupe::faults::FaultKind> kinds) {
  troupe::testing::check_actor_model<Model, KvStore>(
      {.faults = {.kinds = std::move(kinds)}, .name = "durable store"}, Model{},
      [checkpoint_every](troupe::System& sys) {
        return sys.spawn<KvStore>({.max_restarts = -1, .max_task_retries = -1}, checkpoint_every);
      },
      rc::state::gen::execOneOfWithArgs<Set, Get>());
}

const std::set<troupe::faults::FaultKind> kCrashes = {troupe::faults::FaultKind::kCrash};

TEST(DurableStore, SurvivesCrashes) {
  troupe::testing::model_case_stats() = {};
  const troupe::testing::PropertyReport report =
      troupe::testing::check_property({.cases = 200}, [] { check_store(/*checkpoint_every=*/1, kCrashes); });
  ASSERT_TRUE(report.passed);
  // The crashes were real: most cases had the store crash and restart under them.
  EXPECT_GE(troupe::testing::model_case_stats().cases_with_faults, 100u);
}

TEST(DurableStore, WriteBehindLosesWritesOnACrash) {
  // Without faults the write-behind store is indistinguishable from the model.
  const troupe::testing::PropertyReport calm =
      troupe::testing::check_property({.cases = 100}, [] { check_store(/*checkpoint_every=*/3, {}); });
  ASSERT_TRUE(calm.passed);

  troupe::testing::model_case_stats() = {};
  const troupe::testing::PropertyReport report = troupe::testing::check_property(
      {.cases = 200, .report_to_gtest = false}, [] { check_store(/*checkpoint_every=*/3, kCrashes); });
  std::cout << report.message << "\n";
  ASSERT_FALSE(report.passed) << "crashes never lost a write-behind set; RapidCheck seed " << report.seed;
  const std::optional<troupe::testing::ModelCase>& first = troupe::testing::model_case_stats().first_failing;
  const std::optional<troupe::testing::ModelCase>& minimal = troupe::testing::last_failing_model_case();
  ASSERT_TRUE(first.has_value() && minimal.has_value());
  // The minimal case: a set, the crash that loses it, and the get that misses it.
  EXPECT_EQ(minimal->commands, 2u) << "first found with " << first->commands << " calls";
  EXPECT_EQ(minimal->plan.faults.size(), 1u) << "first found with " << first->plan.faults.size() << " faults";
  EXPECT_EQ(minimal->realized_faults, 1u);
  ASSERT_EQ(report.counterexample.size(), 3u);
  EXPECT_NE(report.counterexample[1].second.find("\"kind\":\"crash\""), std::string::npos)
      << report.counterexample[1].second;
}

}  // namespace durable_example
