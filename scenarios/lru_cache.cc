// lru_cache: the seed's Cache (Ray actors guide, "缓存模式"): an LRU cache of at most max_size
// keys. get(key) returns the value (or nothing, Python's None) and makes the key the most
// recently used; set(key, value) inserts or overwrites it, evicting the least recently used key
// when a new key arrives at a full cache; size() counts the keys.
//
// Checks, with exact values:
//   * the seed's own run: max_size 3, set a, b, c → size 3; set d → size 3; get a → nothing;
//   * the replies of random get/set/size workloads equal those of an LRU model. Each model-checked
//     cache has exactly one caller, whose calls run in submission order even when several are in
//     flight (sent in bursts of 1-4), so the model's order is the cache's: the driver checks its
//     own cache, and each of 3 client actors checks a cache of its own, all at once;
//   * meanwhile the clients also share one cache, each writing keys of its own: any hit there
//     returns the value its owner last wrote, and the shared cache's size(), sampled, never exceeds
//     its max_size. In rounds until the fault window has passed.
// Sometimes: a get missed a key because it had been evicted; a hit on the shared cache.
//
// lru_cache.bug_evicts_most_recent: set evicts the most recently used key instead of the least
// recently used one.
#include <algorithm>
#include <chrono>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/troupe.h"
#include "scenarios/scenario.h"

namespace troupe::scenarios {
namespace {

class Cache {
 public:
  // `evict_most_recent` true is the planted bug.
  Cache(int max_size, bool evict_most_recent) : max_size_(max_size), evict_most_recent_(evict_most_recent) {}
  std::optional<int> get(std::string key) {
    auto it = cache_.find(key);
    if (it == cache_.end()) return std::nullopt;
    access_order_.remove(key);
    access_order_.push_back(key);
    return it->second;
  }
  void set(std::string key, int value) {
    if (cache_.contains(key)) {
      access_order_.remove(key);
    } else if (static_cast<int>(cache_.size()) >= max_size_) {
      std::string victim;
      if (evict_most_recent_) {
        victim = access_order_.back();  // BUG: the most recently used key
        access_order_.pop_back();
      } else {
        victim = access_order_.front();
        access_order_.pop_front();
      }
      cache_.erase(victim);
    }
    cache_[key] = value;
    access_order_.push_back(key);
  }
  int size() const { return static_cast<int>(cache_.size()); }

 private:
  int max_size_;
  bool evict_most_recent_;
  std::map<std::string, int> cache_;
  std::list<std::string> access_order_;  // least recently used first
};
TROUPE_ACTOR(Cache, &Cache::get, &Cache::set, &Cache::size);

// The LRU cache as the model: what each call must return.
class LruModel {
 public:
  explicit LruModel(int max_size) : max_size_(max_size) {}
  std::optional<int> get(const std::string& key) {
    auto it = data_.find(key);
    if (it == data_.end()) return std::nullopt;
    order_.remove(key);
    order_.push_back(key);
    return it->second;
  }
  void set(const std::string& key, int value) {
    if (data_.contains(key)) {
      order_.remove(key);
    } else if (static_cast<int>(data_.size()) >= max_size_) {
      data_.erase(order_.front());
      order_.pop_front();
    }
    data_[key] = value;
    order_.push_back(key);
  }
  int size() const { return static_cast<int>(data_.size()); }
  // "[b, c, a]", least recently used first.
  std::string order() const { return fmt::format("[{}]", fmt::join(order_, ", ")); }

 private:
  int max_size_;
  std::map<std::string, int> data_;
  std::list<std::string> order_;
};

std::string show(const std::optional<int>& value) { return value ? fmt::format("{}", *value) : "none"; }

constexpr int kModelMaxSize = 4;
constexpr int kModelKeys = 7;
constexpr int kOpsPerRound = 24;
constexpr int kBurstMax = 4;
constexpr int kClients = 3;
constexpr int kSharedMaxSize = 6;
constexpr int kSharedKeysPerClient = 4;

// What a model-checked workload saw.
struct ModelReport {
  std::string mismatch;  // the first reply that differed from the model, or empty
  int evicted_misses = 0;  // gets that missed a key set before (it had been evicted)
  MSGPACK_DEFINE(mismatch, evicted_misses);
};

// Runs `ops` random calls on `cache` (its only caller) in bursts of 1 to kBurstMax calls in
// flight, comparing each reply with `model`. `ever_set` remembers the keys set so far; `next_value`
// numbers the values written. Stops at the first mismatch. `who` names the caller in messages.
ModelReport run_model_workload(System& sys, ActorHandle<Cache> cache, LruModel& model, std::set<std::string>& ever_set,
                               int& next_value, int ops, std::string_view who) {
  ModelReport report;
  struct Pending {
    std::string call;  // "get('k3')", for messages
    std::string key;
    std::optional<Ref<std::optional<int>>> got;
    std::optional<Ref<void>> set;
    int value = 0;
  };
  int done = 0;
  while (done < ops) {
    const int burst = std::min(ops - done, 1 + static_cast<int>(troupe::random() % kBurstMax));
    std::vector<Pending> pending;
    for (int i = 0; i < burst; ++i) {
      Pending op;
      op.key = fmt::format("k{}", troupe::random() % kModelKeys);
      if (troupe::random() % 2 == 0) {
        op.call = fmt::format("get('{}')", op.key);
        op.got = cache.call(&Cache::get, op.key);
      } else {
        op.value = ++next_value;
        op.call = fmt::format("set('{}', {})", op.key, op.value);
        op.set = cache.call(&Cache::set, op.key, op.value);
      }
      pending.push_back(std::move(op));
    }
    for (Pending& op : pending) {
      ++done;
      if (op.set) {
        sys.get(*op.set);
        model.set(op.key, op.value);
        ever_set.insert(op.key);
        continue;
      }
      const std::string order_before = model.order();
      const std::optional<int> want = model.get(op.key);
      const std::optional<int> got = sys.get(*op.got);
      if (got != want && report.mismatch.empty()) {
        report.mismatch = fmt::format("{}, call {}: {} returned {}, expected {} (LRU order before it, least recent "
                                      "first: {})", who, done, op.call, show(got), show(want), order_before);
      }
      if (!want && ever_set.contains(op.key)) ++report.evicted_misses;
    }
    if (!report.mismatch.empty()) return report;
    const int size = sys.get(cache.call(&Cache::size));
    if (size != model.size()) {
      report.mismatch =
          fmt::format("{}, after call {}: size() returned {}, expected {}", who, done, size, model.size());
      return report;
    }
  }
  return report;
}

// What a client saw on the shared cache.
struct SharedReport {
  std::string wrong;  // the first hit that was not the client's latest value, or empty
  int hits = 0;
  int size_max = 0;  // the largest size() seen
  MSGPACK_DEFINE(wrong, hits, size_max);
};

struct ClientReport {
  ModelReport model;
  SharedReport shared;
  MSGPACK_DEFINE(model, shared);
};

class Client {
 public:
  Client(int id, ActorHandle<Cache> own, ActorHandle<Cache> shared)
      : id_(id), own_(own), shared_(shared), model_(kModelMaxSize) {}
  // One round: a model-checked workload on the client's own cache, then as many calls on the
  // shared cache, on keys only this client writes, reading its size() after every fourth.
  ClientReport work(int ops) {
    System& sys = this_actor::system();
    ClientReport report;
    report.model = run_model_workload(sys, own_, model_, ever_set_, next_value_, ops, fmt::format("client {}", id_));
    for (int i = 0; i < ops; ++i) {
      const std::string key = fmt::format("c{}.k{}", id_, troupe::random() % kSharedKeysPerClient);
      if (troupe::random() % 2 == 0) {
        const int value = id_ * 1'000'000 + ++next_value_;
        sys.get(shared_.call(&Cache::set, key, value));
        written_[key] = value;
      } else {
        const std::optional<int> got = sys.get(shared_.call(&Cache::get, key));
        if (got) {
          ++report.shared.hits;
          auto it = written_.find(key);
          const std::optional<int> want = it == written_.end() ? std::nullopt : std::optional(it->second);
          if (got != want && report.shared.wrong.empty()) {
            report.shared.wrong = fmt::format("client {}: get('{}') returned {}, its last write was {}", id_, key,
                                              show(got), show(want));
          }
        }
      }
      if (i % 4 == 3) report.shared.size_max = std::max(report.shared.size_max, sys.get(shared_.call(&Cache::size)));
      troupe::sleep(std::chrono::microseconds(troupe::random() % 100));
    }
    return report;
  }

 private:
  int id_;
  ActorHandle<Cache> own_;
  ActorHandle<Cache> shared_;
  LruModel model_;
  std::set<std::string> ever_set_;
  std::map<std::string, int> written_;
  int next_value_ = 0;
};
TROUPE_ACTOR(Client, &Client::work);

void lru_driver(System& sys, Checks& checks, bool evict_most_recent) {
  // The seed's run.
  auto cache = sys.spawn<Cache>({}, 3, evict_most_recent);
  sys.get(cache.call(&Cache::set, std::string("a"), 1));
  sys.get(cache.call(&Cache::set, std::string("b"), 2));
  sys.get(cache.call(&Cache::set, std::string("c"), 3));
  const int size = sys.get(cache.call(&Cache::size));
  checks.always("size after three sets is 3", size == 3, fmt::format("got {}", size));
  sys.get(cache.call(&Cache::set, std::string("d"), 4));
  const int after = sys.get(cache.call(&Cache::size));
  checks.always("size after an eviction is 3", after == 3, fmt::format("got {}", after));
  const std::optional<int> a = sys.get(cache.call(&Cache::get, std::string("a")));
  checks.always("the least recently used key was evicted", !a.has_value(),
                fmt::format("after set a, b, c, d with max_size 3: get('a') returned {}, expected none", show(a)));
  const std::optional<int> d = sys.get(cache.call(&Cache::get, std::string("d")));
  checks.always("the newest key is kept", d == 4, fmt::format("get('d') returned {}, expected 4", show(d)));
  if (checks.failed()) return;

  // Model-checked workloads on the driver's cache and on each client's own, at once; the
  // clients also share a cache.
  auto mine = sys.spawn<Cache>({}, kModelMaxSize, evict_most_recent);
  auto shared = sys.spawn<Cache>({}, kSharedMaxSize, evict_most_recent);
  std::vector<ActorHandle<Client>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(sys.spawn<Client>({}, i, sys.spawn<Cache>({}, kModelMaxSize, evict_most_recent), shared));
  }
  LruModel model(kModelMaxSize);
  std::set<std::string> ever_set;
  int next_value = 0;
  int evicted_misses = 0;
  int shared_hits = 0;
  for (int round = 0; keep_working(sys, checks, round); ++round) {
    if (round > 0) troupe::sleep(std::chrono::milliseconds(150 + troupe::random() % 150));
    std::vector<Ref<ClientReport>> runs;
    for (const ActorHandle<Client>& client : clients) runs.push_back(client.call(&Client::work, kOpsPerRound));
    ModelReport own = run_model_workload(sys, mine, model, ever_set, next_value, kOpsPerRound,
                                         fmt::format("driver, round {}", round));
    checks.always("the cache's replies equal the LRU model's", own.mismatch.empty(), own.mismatch);
    evicted_misses += own.evicted_misses;
    for (const ClientReport& report : sys.get(runs)) {
      checks.always("the cache's replies equal the LRU model's", report.model.mismatch.empty(),
                    fmt::format("round {}: {}", round, report.model.mismatch));
      checks.always("a shared-cache hit returns its owner's last write", report.shared.wrong.empty(),
                    fmt::format("round {}: {}", round, report.shared.wrong));
      checks.always("the shared cache holds at most max_size keys", report.shared.size_max <= kSharedMaxSize,
                    fmt::format("round {}: size() returned {}, max_size {}", round, report.shared.size_max,
                                kSharedMaxSize));
      evicted_misses += report.model.evicted_misses;
      shared_hits += report.shared.hits;
    }
    if (checks.failed()) return;
  }
  checks.sometimes("a get missed a key that had been evicted", evicted_misses > 0);
  checks.sometimes("a shared-cache get hit", shared_hits > 0);
}

}  // namespace

void register_lru_cache(Registry& registry) {
  registry.add({.name = "lru_cache",
                .summary = "the seed's Cache(max_size): exact LRU eviction against a model, per-caller pipelined calls",
                .driver = [](System& sys, Checks& checks) { lru_driver(sys, checks, /*evict_most_recent=*/false); },
                .tolerates = kDelayFaults});
  registry.add({.name = "lru_cache.bug_evicts_most_recent",
                .summary = "set evicts the most recently used key instead of the least recently used one",
                .expect_fail = true,
                .driver = [](System& sys, Checks& checks) { lru_driver(sys, checks, /*evict_most_recent=*/true); },
                .tolerates = kDelayFaults});
}

}  // namespace troupe::scenarios
