// distributed_counter: the seed's DistributedCounter (Ray actors guide, "计数器模式"):
// increment(delta) and decrement(delta) return the new value, get() reads it, reset() sets it to
// 0. Here it serves many callers at once as an async actor (Concurrency::kAsync, Ray's asyncio
// actor): each update is written to an audit log before the reply, a suspension during which the
// actor runs other calls. The update itself is done before that suspension, so calls never see
// each other half-done.
//
// Checks, with exact values:
//   * the seed's own run: increments 1..5 sent at once (pipelined) reply 1, 3, 6, 10, 15 in that
//     order and get() is 15; then decrement(5) → 10; reset() → get() is 0;
//   * 3 caller actors update at once (increments and decrements, one at a time or in bursts of
//     up to 3 in flight), in rounds until the fault window has passed. After each round, get()
//     equals the value before it plus the sum of every delta; and the replies are linearizable:
//     there is one order of all the updates, keeping each caller's own order, in which every
//     reply is the running total (a search over the callers' positions; each delta is unique in
//     its round, so a reply names its update).
// Sometimes: the updates of different callers interleaved.
//
// Buggify site "distributed_counter.audit.slow": an audit write takes 1-3 ms instead of up to
// 0.2 ms, so many more calls run while one is suspended.
//
// distributed_counter.bug_decrement_lost_update: decrement reads the value, writes the audit log
// (suspending) and then stores what it read minus delta: an update that ran during the
// suspension is overwritten (a lost update), and the final value is not the sum of the deltas.
#include <chrono>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/troupe.h"
#include "scenarios/scenario.h"

namespace troupe::scenarios {
namespace {

constexpr int kCallers = 3;
constexpr int kUpdatesPerCaller = 10;  // per round
constexpr int kBurstMax = 3;
constexpr int kAuditMaxUs = 200;
constexpr std::string_view kSlowAuditSite = "distributed_counter.audit.slow";

class DistributedCounter {
 public:
  // `decrement_reads_early` true is the planted bug.
  explicit DistributedCounter(bool decrement_reads_early) : buggy_(decrement_reads_early) {}
  int increment(int delta) {
    value_ += delta;
    const int result = value_;
    audit();
    return result;
  }
  int decrement(int delta) {
    if (buggy_) {
      const int read = value_;
      audit();
      value_ = read - delta;  // BUG: overwrites the updates made during audit()
      return value_;
    }
    value_ -= delta;
    const int result = value_;
    audit();
    return result;
  }
  int get() const { return value_; }
  void reset() { value_ = 0; }

 private:
  // Writes the update to an audit log: a suspension, during which the actor runs other calls.
  static void audit() {
    if (buggify(kSlowAuditSite)) {
      troupe::sleep(std::chrono::microseconds(1000 + troupe::random() % 2000));
    } else {
      troupe::sleep(std::chrono::microseconds(troupe::random() % kAuditMaxUs));
    }
  }

  bool buggy_;
  int value_ = 0;
};
TROUPE_ACTOR(DistributedCounter, &DistributedCounter::increment, &DistributedCounter::decrement,
             &DistributedCounter::get, &DistributedCounter::reset);

// One update a caller made: the signed delta (a decrement of 3 is -3) and the value it returned.
using Update = std::pair<int, int>;

class Caller {
 public:
  Caller(int id, ActorHandle<DistributedCounter> counter) : id_(id), counter_(counter) {}
  // Makes `count` updates of distinct sizes (id + 1 + kCallers * j: unique among the callers),
  // each an increment or a decrement, one at a time or a few in flight at once. Returns them in
  // submission order with their replies.
  std::vector<Update> update_many(int count) {
    System& sys = this_actor::system();
    std::vector<Update> updates;
    while (static_cast<int>(updates.size()) < count) {
      const int burst =
          std::min(count - static_cast<int>(updates.size()), 1 + static_cast<int>(troupe::random() % kBurstMax));
      std::vector<int> deltas;
      std::vector<Ref<int>> replies;
      for (int i = 0; i < burst; ++i) {
        const int size = id_ + 1 + kCallers * static_cast<int>(updates.size() + deltas.size());
        const bool up = troupe::random() % 2 == 0;
        deltas.push_back(up ? size : -size);
        replies.push_back(up ? counter_.call(&DistributedCounter::increment, size)
                             : counter_.call(&DistributedCounter::decrement, size));
      }
      std::vector<int> values = sys.get(replies);
      for (size_t i = 0; i < deltas.size(); ++i) updates.emplace_back(deltas[i], values[i]);
      troupe::sleep(std::chrono::microseconds(troupe::random() % 300));
    }
    return updates;
  }

 private:
  int id_;
  ActorHandle<DistributedCounter> counter_;
};
TROUPE_ACTOR(Caller, &Caller::update_many);

// Searches for an order of all the callers' updates, keeping each caller's order, in which every
// reply is the running total from `base`. Fills `order` with the callers in that order.
class Linearizer {
 public:
  Linearizer(const std::vector<std::vector<Update>>& updates, int base) : updates_(updates), base_(base) {}
  bool find(std::vector<int>& order) {
    std::vector<size_t> positions(updates_.size(), 0);
    order.clear();
    return search(positions, base_, order);
  }

 private:
  bool search(std::vector<size_t>& positions, int value, std::vector<int>& order) {
    bool all_done = true;
    for (size_t c = 0; c < updates_.size(); ++c) all_done = all_done && positions[c] == updates_[c].size();
    if (all_done) return true;
    if (dead_ends_.contains(positions)) return false;
    for (size_t c = 0; c < updates_.size(); ++c) {
      if (positions[c] == updates_[c].size()) continue;
      const auto [delta, reply] = updates_[c][positions[c]];
      if (value + delta != reply) continue;
      ++positions[c];
      order.push_back(static_cast<int>(c));
      if (search(positions, reply, order)) return true;
      order.pop_back();
      --positions[c];
    }
    dead_ends_.insert(positions);
    return false;
  }

  const std::vector<std::vector<Update>>& updates_;
  int base_;
  std::set<std::vector<size_t>> dead_ends_;
};

std::string show(const std::vector<Update>& updates) {
  std::vector<std::string> parts;
  for (const auto& [delta, reply] : updates) parts.push_back(fmt::format("{:+}->{}", delta, reply));
  return fmt::format("[{}]", fmt::join(parts, " "));
}

void counter_driver(System& sys, Checks& checks, bool decrement_reads_early) {
  auto counter = sys.spawn<DistributedCounter>({.concurrency = Concurrency::kAsync}, decrement_reads_early);

  // The seed's run: increments 1..5 in flight at once.
  std::vector<Ref<int>> refs;
  for (int i = 1; i <= 5; ++i) refs.push_back(counter.call(&DistributedCounter::increment, i));
  const std::vector<int> replies = sys.get(refs);
  checks.always("pipelined increments 1..5 reply running totals in order", replies == std::vector<int>{1, 3, 6, 10, 15},
                fmt::format("got {}, expected [1, 3, 6, 10, 15]", replies));
  const int final_value = sys.get(counter.call(&DistributedCounter::get));
  checks.always("the seed's final value is 15", final_value == 15, fmt::format("got {}", final_value));
  const int decremented = sys.get(counter.call(&DistributedCounter::decrement, 5));
  checks.always("decrement(5) from 15 returns 10", decremented == 10, fmt::format("got {}", decremented));
  sys.get(counter.call(&DistributedCounter::reset));
  const int after_reset = sys.get(counter.call(&DistributedCounter::get));
  checks.always("get after reset is 0", after_reset == 0, fmt::format("got {}", after_reset));
  if (checks.failed()) return;

  std::vector<ActorHandle<Caller>> callers;
  for (int i = 0; i < kCallers; ++i) callers.push_back(sys.spawn<Caller>({}, i, counter));
  int base = 0;
  bool interleaved = false;
  for (int round = 0; keep_working(sys, checks, round); ++round) {
    if (round > 0) troupe::sleep(std::chrono::milliseconds(150 + troupe::random() % 150));
    std::vector<Ref<std::vector<Update>>> runs;
    for (const ActorHandle<Caller>& caller : callers) {
      runs.push_back(caller.call(&Caller::update_many, kUpdatesPerCaller));
    }
    const std::vector<std::vector<Update>> updates = sys.get(runs);
    int sum = 0;
    for (const std::vector<Update>& mine : updates) {
      for (const auto& [delta, reply] : mine) sum += delta;
    }
    const int value = sys.get(counter.call(&DistributedCounter::get));
    if (!checks.always("the final value is the sum of the deltas", value == base + sum,
                       fmt::format("round {}: get() returned {}, expected {} (before the round) {:+} (the round's "
                                   "deltas) = {}", round, value, base, sum, base + sum))) {
      return;
    }
    std::vector<int> order;
    std::string detail = fmt::format("round {}, starting at {}:", round, base);
    for (size_t c = 0; c < updates.size(); ++c) detail += fmt::format(" caller {} {}", c, show(updates[c]));
    if (!checks.always("each reply is the running total of one order keeping each caller's order",
                       Linearizer(updates, base).find(order), detail)) {
      return;
    }
    // Interleaved: some caller's updates are not one contiguous block of the order.
    std::set<int> finished_blocks;
    for (size_t i = 0; i < order.size(); ++i) {
      if (i > 0 && order[i] != order[i - 1]) {
        finished_blocks.insert(order[i - 1]);
        if (finished_blocks.contains(order[i])) interleaved = true;
      }
    }
    base = value;
  }
  checks.sometimes("the updates of different callers interleaved", interleaved);
}

}  // namespace

void register_distributed_counter(Registry& registry) {
  registry.add({.name = "distributed_counter",
                .summary = "the seed's DistributedCounter as an async actor: exact totals, linearizable replies",
                .driver = [](System& sys, Checks& checks) {
                  counter_driver(sys, checks, /*decrement_reads_early=*/false);
                },
                .buggify_sites = {std::string(kSlowAuditSite)},
                .tolerates = kDelayFaults});
  registry.add({.name = "distributed_counter.bug_decrement_lost_update",
                .summary = "decrement reads the value before suspending and writes after: concurrent updates are lost",
                .expect_fail = true,
                .driver = [](System& sys, Checks& checks) {
                  counter_driver(sys, checks, /*decrement_reads_early=*/true);
                },
                .buggify_sites = {std::string(kSlowAuditSite)},
                .tolerates = kDelayFaults});
}

}  // namespace troupe::scenarios
