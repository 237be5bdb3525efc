// The seed's "SingleThreadActor versus ConcurrentActor": one counter that runs a call at a time,
// and one that runs up to ten at once behind a lock.
//
// sequential_counter: a sequential actor whose increment reads the count, sleeps (a lookup, a
// disk write), and writes it back. That is safe only because a sequential actor runs one call at
// a time. Three caller actors increment it concurrently, in rounds through the fault window;
// checks: every value is handed out exactly once, each caller sees increasing values, the count
// ends at the number of increments, and no two calls were ever inside at once.
//
// threaded_counter: the seed's ConcurrentActor, `max_concurrency = 10`, 100 increments submitted
// at once; increment takes a troupe::Mutex, reads, yields (where a real thread could be
// preempted), and writes. Checks: the results are 1..100 each exactly once (the seed prints
// max(results) == 100), never more than ten calls inside at once, and (sometimes) they
// overlapped.
//
// threaded_counter.bug_lost_update: the same without the lock. Two calls read the same count and
// both write count + 1: a lost update, found within a few seeds by the simulator, which preempts
// threaded method bodies at every runtime call.
//
// The count is a std::atomic read and written in two steps, so the unlocked version loses
// updates without being undefined behaviour on the threads platform (and stays clean under
// ThreadSanitizer).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/troupe.h"
#include "scenarios/scenario.h"

namespace troupe::scenarios {
namespace {

// How many calls are inside a method at once, and the most ever.
class Gauge {
 public:
  void enter() {
    int now = ++inside_;
    int peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
  }
  void leave() { --inside_; }
  int peak() const { return peak_.load(); }

 private:
  std::atomic<int> inside_{0};
  std::atomic<int> peak_{0};
};

class SlowCounter {
 public:
  int increment() {
    gauge_.enter();
    const int read = value_;
    troupe::sleep(std::chrono::microseconds(troupe::random() % 300));
    value_ = read + 1;
    gauge_.leave();
    return value_;
  }
  int get_value() const { return value_; }
  int peak() const { return gauge_.peak(); }
  std::string repr() const { return fmt::format("SlowCounter(value={})", value_); }

 private:
  int value_ = 0;
  Gauge gauge_;
};
TROUPE_ACTOR(SlowCounter, &SlowCounter::increment, &SlowCounter::get_value, &SlowCounter::peak);

class SlowCaller {
 public:
  explicit SlowCaller(ActorHandle<SlowCounter> counter) : counter_(counter) {}
  std::vector<int> increment_many(int count) {
    std::vector<int> seen;
    for (int i = 0; i < count; ++i) {
      seen.push_back(this_actor::system().get(counter_.call(&SlowCounter::increment)));
      troupe::sleep(std::chrono::microseconds(troupe::random() % 200));
    }
    return seen;
  }

 private:
  ActorHandle<SlowCounter> counter_;
};
TROUPE_ACTOR(SlowCaller, &SlowCaller::increment_many);

class ConcurrentCounter {
 public:
  explicit ConcurrentCounter(bool locked) : locked_(locked) {}
  int increment() {
    gauge_.enter();
    std::unique_lock guard(lock_, std::defer_lock);
    if (locked_) guard.lock();
    const int current = value_.load();
    troupe::yield();  // a real thread may be preempted here
    value_.store(current + 1);
    const int result = value_.load();
    if (guard.owns_lock()) guard.unlock();
    gauge_.leave();
    return result;
  }
  int get_value() const { return value_.load(); }
  int peak() const { return gauge_.peak(); }
  std::string repr() const { return fmt::format("ConcurrentCounter(value={})", value_.load()); }

 private:
  const bool locked_;
  Mutex lock_{"counter"};
  std::atomic<int> value_{0};
  Gauge gauge_;
};
TROUPE_ACTOR(ConcurrentCounter, &ConcurrentCounter::increment, &ConcurrentCounter::get_value,
             &ConcurrentCounter::peak);

constexpr int kCallers = 3;
constexpr int kPerCaller = 8;
constexpr int kMaxConcurrency = 10;
constexpr int kIncrements = 100;

void sequential_driver(System& sys, Checks& checks) {
  auto counter = sys.spawn<SlowCounter>({});
  std::vector<ActorHandle<SlowCaller>> callers;
  for (int i = 0; i < kCallers; ++i) callers.push_back(sys.spawn<SlowCaller>({}, counter));
  int base = 0;
  for (int round = 0; keep_working(sys, checks, round); ++round) {
    if (round > 0) troupe::sleep(std::chrono::milliseconds(100 + troupe::random() % 100));
    std::vector<Ref<std::vector<int>>> runs;
    for (const auto& caller : callers) runs.push_back(caller.call(&SlowCaller::increment_many, kPerCaller));
    std::vector<int> all;
    for (const std::vector<int>& seen : sys.get(runs)) {
      checks.always("one caller's increments return increasing values",
                    std::adjacent_find(seen.begin(), seen.end(), std::greater_equal<>()) == seen.end(),
                    fmt::format("got {}", seen));
      all.insert(all.end(), seen.begin(), seen.end());
    }
    std::sort(all.begin(), all.end());
    checks.always("every value is handed out exactly once", all == range_inclusive(base + 1, base + kCallers * kPerCaller),
                  fmt::format("got {}", all));
    base += kCallers * kPerCaller;
  }
  const int value = sys.get(counter.call(&SlowCounter::get_value));
  checks.always("the count is the number of increments", value == base, fmt::format("got {}, expected {}", value, base));
  const int peak = sys.get(counter.call(&SlowCounter::peak));
  checks.always("a sequential actor runs one call at a time", peak == 1, fmt::format("{} calls were inside at once", peak));
}

void threaded_driver(System& sys, Checks& checks, bool locked) {
  auto counter = sys.spawn<ConcurrentCounter>(
      {.concurrency = Concurrency::kThreaded, .max_concurrency = kMaxConcurrency}, locked);
  int base = 0;
  for (int round = 0; keep_working(sys, checks, round); ++round) {
    if (round > 0) troupe::sleep(std::chrono::milliseconds(100 + troupe::random() % 100));
    std::vector<Ref<int>> refs;
    for (int i = 0; i < kIncrements; ++i) refs.push_back(counter.call(&ConcurrentCounter::increment));
    std::vector<int> results = sys.get(refs);
    const int most = *std::max_element(results.begin(), results.end());
    std::sort(results.begin(), results.end());
    const bool exact = results == range_inclusive(base + 1, base + kIncrements);
    const auto distinct = static_cast<int>(std::unique(results.begin(), results.end()) - results.begin());
    checks.always("the increments return every count exactly once (no lost update)",
                  exact,
                  fmt::format("max(results) = {}, expected {}: {} of {} increments returned a count another one "
                              "also returned", most, base + kIncrements, kIncrements - distinct, kIncrements));
    base += kIncrements;
  }
  const int value = sys.get(counter.call(&ConcurrentCounter::get_value));
  checks.always("the count is the number of increments", value == base, fmt::format("got {}, expected {}", value, base));
  const int peak = sys.get(counter.call(&ConcurrentCounter::peak));
  checks.always("at most max_concurrency calls run at once", peak <= kMaxConcurrency,
                fmt::format("{} calls were inside at once", peak));
  checks.sometimes("calls of the threaded counter overlapped", peak >= 2);
}

}  // namespace

void register_concurrent_counters(Registry& registry) {
  registry.add({.name = "sequential_counter",
                .summary = "a sequential actor that sleeps inside increment: safe because calls never overlap",
                .driver = sequential_driver,
                .tolerates = kDelayFaults});
  registry.add({.name = "threaded_counter",
                .summary = "the seed's ConcurrentActor: max_concurrency 10, increment behind a troupe::Mutex",
                .driver = [](System& sys, Checks& checks) { threaded_driver(sys, checks, /*locked=*/true); },
                .tolerates = kDelayFaults});
  registry.add({.name = "threaded_counter.bug_lost_update",
                .summary = "the threaded counter without its lock: two calls read the same count (lost update)",
                .expect_fail = true,
                .driver = [](System& sys, Checks& checks) { threaded_driver(sys, checks, /*locked=*/false); },
                .tolerates = kDelayFaults});
}

}  // namespace troupe::scenarios
