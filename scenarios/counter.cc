// counter: the seed's Counter (Ray actors guide, "基本语法"), called by the driver and by other
// actors. Checks exact values: the seed's 1, 1→2, get_value 2; one caller's pipelined calls
// return consecutive values; concurrent callers each see increasing values, together every
// value exactly once, and the final count is the number of increments. The concurrent callers
// work in rounds, with pauses, until the fault window has passed.
//
// counter.bug_lost_increment: the driver sleeps "long enough" instead of waiting for its
// callers' results before reading the count; on some schedules the read overtakes increments.
//
// Buggify sites (both scenarios; runtime/buggify.h): "counter.increment.pause_mid_update" sleeps
// between reading and writing the count, which is safe only because a sequential actor runs one
// call at a time (a runtime that interleaved them would lose updates) and slows the callers
// enough for the planted bug's read to overtake them far more often; "counter.caller.burst"
// makes a caller send up to three increments at once instead of one at a time (deeper mailboxes,
// several calls of one caller in flight), whose answers must still come back in its submission
// order.
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "runtime/buggify.h"
#include "fmt/ranges.h"
#include "runtime/troupe.h"
#include "scenarios/scenario.h"

namespace troupe::scenarios {
namespace {

constexpr std::string_view kPauseMidUpdate = "counter.increment.pause_mid_update";
constexpr std::string_view kCallerBurst = "counter.caller.burst";
constexpr int kBurstMax = 3;

class Counter {
 public:
  int increment() {
    const int next = value_ + 1;
    if (buggify(kPauseMidUpdate)) troupe::sleep(std::chrono::microseconds(troupe::random() % 300));
    value_ = next;
    return value_;
  }
  int get_value() const { return value_; }
  std::string repr() const { return fmt::format("Counter(value={})", value_); }

 private:
  int value_ = 0;
};
TROUPE_ACTOR(Counter, &Counter::increment, &Counter::get_value);

// Another actor calling the counter (the seed's actor-to-actor pattern, with a handle passed to
// the constructor).
class Caller {
 public:
  explicit Caller(ActorHandle<Counter> counter) : counter_(counter) {}
  // Makes `count` increments one after the other, each after the previous one returned, with a
  // random pause of up to 500µs between them. A buggified burst sends up to kBurstMax at once and
  // then pauses as long as that many single increments would have: same pace, bunched calls.
  // Returns the values the counter answered, in submission order.
  std::vector<int> increment_many(int count) {
    std::vector<int> seen;
    while (static_cast<int>(seen.size()) < count) {
      if (!buggify(kCallerBurst)) {
        seen.push_back(this_actor::system().get(counter_.call(&Counter::increment)));
        troupe::sleep(std::chrono::microseconds(troupe::random() % 500));
        continue;
      }
      std::vector<Ref<int>> burst;
      for (int i = 0; i < kBurstMax && static_cast<int>(seen.size() + burst.size()) < count; ++i) {
        burst.push_back(counter_.call(&Counter::increment));
      }
      for (int value : this_actor::system().get(burst)) seen.push_back(value);
      for (size_t i = 0; i < burst.size(); ++i) troupe::sleep(std::chrono::microseconds(troupe::random() % 500));
    }
    return seen;
  }

 private:
  ActorHandle<Counter> counter_;
};
TROUPE_ACTOR(Caller, &Caller::increment_many);

constexpr int kPipelined = 20;
constexpr int kCallers = 3;
constexpr int kPerCaller = 10;

void check_int(Checks& checks, std::string_view name, int got, int expected) {
  checks.always(name, got == expected, fmt::format("got {}, expected {}", got, expected));
}

void concurrent_round(System& sys, Checks& checks, const std::vector<ActorHandle<Caller>>& callers, int base);

void counter_driver(System& sys, Checks& checks) {
  auto counter = sys.spawn<Counter>({});
  check_int(checks, "first increment returns 1", sys.get(counter.call(&Counter::increment)), 1);
  check_int(checks, "second increment returns 2", sys.get(counter.call(&Counter::increment)), 2);
  check_int(checks, "get_value after two increments is 2", sys.get(counter.call(&Counter::get_value)), 2);

  // One caller's calls run in submission order, even when they are all in flight at once.
  std::vector<Ref<int>> pipelined;
  for (int i = 0; i < kPipelined; ++i) pipelined.push_back(counter.call(&Counter::increment));
  std::vector<int> values = sys.get(pipelined);
  checks.always("pipelined increments return consecutive values", values == range_inclusive(3, 2 + kPipelined),
                fmt::format("got {}", values));

  // Concurrent callers: each one's values increase; together they cover every value once. In
  // rounds, with a pause between them, until the fault window has passed.
  std::vector<ActorHandle<Caller>> callers;
  for (int i = 0; i < kCallers; ++i) callers.push_back(sys.spawn<Caller>({}, counter));
  int base = 2 + kPipelined;
  for (int round = 0; keep_working(sys, checks, round); ++round) {
    if (round > 0) troupe::sleep(std::chrono::milliseconds(250 + troupe::random() % 200));
    concurrent_round(sys, checks, callers, base);
    base += kCallers * kPerCaller;
  }
  check_int(checks, "get_value counts every increment", sys.get(counter.call(&Counter::get_value)), base);
}

// One round of concurrent callers; the counter stood at `base` before it.
void concurrent_round(System& sys, Checks& checks, const std::vector<ActorHandle<Caller>>& callers, int base) {
  std::vector<Ref<std::vector<int>>> runs;
  for (const ActorHandle<Caller>& caller : callers) runs.push_back(caller.call(&Caller::increment_many, kPerCaller));
  std::vector<int> all;
  bool interleaved = false;
  for (const std::vector<int>& seen : sys.get(runs)) {
    checks.always("one caller's increments return increasing values", std::is_sorted(seen.begin(), seen.end()) &&
                      std::adjacent_find(seen.begin(), seen.end()) == seen.end(),
                  fmt::format("got {}", seen));
    if (!seen.empty() && seen.back() - seen.front() + 1 != static_cast<int>(seen.size())) interleaved = true;
    all.insert(all.end(), seen.begin(), seen.end());
  }
  std::sort(all.begin(), all.end());
  checks.always("concurrent callers see every value exactly once",
                all == range_inclusive(base + 1, base + kCallers * kPerCaller), fmt::format("got {}", all));
  checks.sometimes("concurrent callers interleaved", interleaved);
}

// The planted bug: callers are started, and instead of waiting for their results the driver
// sleeps a while and reads the count.
void lost_increment_driver(System& sys, Checks& checks) {
  auto counter = sys.spawn<Counter>({});
  std::vector<Ref<std::vector<int>>> runs;
  for (int i = 0; i < kCallers; ++i) {
    auto caller = sys.spawn<Caller>({}, counter);
    runs.push_back(caller.call(&Caller::increment_many, kPerCaller));
  }
  troupe::sleep(std::chrono::microseconds(5500));  // BUG: should be sys.get(runs)
  check_int(checks, "get_value counts every increment", sys.get(counter.call(&Counter::get_value)),
            kCallers * kPerCaller);
  (void)sys.get(runs);
}

}  // namespace

void register_counter(Registry& registry) {
  registry.add({.name = "counter",
                .summary = "the seed's Counter: exact values, per-caller order, concurrent caller actors",
                .driver = counter_driver,
                .buggify_sites = {std::string(kPauseMidUpdate), std::string(kCallerBurst)},
                .tolerates = kDelayFaults});
  registry.add({.name = "counter.bug_lost_increment",
                .summary = "reads the count after a sleep instead of waiting for the callers' increments",
                .expect_fail = true,
                .driver = lost_increment_driver,
                .buggify_sites = {std::string(kPauseMidUpdate), std::string(kCallerBurst)},
                .tolerates = kDelayFaults});
}

}  // namespace troupe::scenarios
