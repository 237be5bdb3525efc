// batching_actor: the seed's BatchActor (Ray actors guide, "减少 Actor 调用"): add(items) appends
// a batch of items to a buffer, flush() returns everything buffered and empties the buffer.
//
// Checks, with exact values:
//   * the seed's own run: 100 calls add([i, i + 1]), each waited for, then flush() returns the
//     200 items 0, 1, 1, 2, 2, 3, ..., 99, 100 in that order;
//   * 3 producer actors add batches of 1-4 items at once (one at a time or a few in flight),
//     while the driver flushes every few hundred microseconds, in rounds until the fault window
//     has passed; once every add has returned, the driver flushes once more for the rest.
//     Items name their producer and their place in its sequence, so across all flushes: every item
//     added is flushed exactly once, and each producer's items come out in the order it added
//     them (one caller's calls run in submission order, and the actor is sequential).
// Sometimes: a flush returned nothing; a flush returned items of more than one producer.
//
// Buggify site "batching_actor.producer.stall": a producer stalls 1-2 ms between batches, so
// the driver's flushes often find nothing new (empty flushes, two flushes with no add between).
//
// batching_actor.bug_flush_clears_late: flush returns the buffer but only marks it flushed; the
// next add clears it before appending ("so flush stays cheap"). Two flushes with no add between
// them return the same items twice.
#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/troupe.h"
#include "scenarios/scenario.h"

namespace troupe::scenarios {
namespace {

constexpr int kProducers = 3;
constexpr int kBatchesPerProducer = 12;  // per round
constexpr int kBatchItemsMax = 4;
constexpr int kInFlightMax = 3;
constexpr int kItemsPerProducerMax = 1'000'000;  // item = producer * this + sequence number
constexpr int kFlushPauseMaxUs = 600;
constexpr std::string_view kProducerStallSite = "batching_actor.producer.stall";

class BatchActor {
 public:
  // `clear_late` true is the planted bug.
  explicit BatchActor(bool clear_late) : clear_late_(clear_late) {}
  void add(std::vector<int> items) {
    if (flushed_) {
      buffer_.clear();
      flushed_ = false;
    }
    buffer_.insert(buffer_.end(), items.begin(), items.end());
  }
  std::vector<int> flush() {
    if (clear_late_) {
      flushed_ = true;  // BUG: the buffer is cleared by the next add, not now
      return buffer_;
    }
    std::vector<int> result = buffer_;
    buffer_.clear();
    return result;
  }

 private:
  bool clear_late_;
  bool flushed_ = false;
  std::vector<int> buffer_;
};
TROUPE_ACTOR(BatchActor, &BatchActor::add, &BatchActor::flush);

class Producer {
 public:
  Producer(int id, ActorHandle<BatchActor> actor) : id_(id), actor_(actor) {}
  // Adds `batches` batches of 1 to kBatchItemsMax consecutive items, up to kInFlightMax add calls
  // in flight at once, with pauses. Returns how many items it added.
  int produce(int batches) {
    System& sys = this_actor::system();
    int added = 0;
    while (batches > 0) {
      const int in_flight = std::min(batches, 1 + static_cast<int>(troupe::random() % kInFlightMax));
      std::vector<Ref<void>> adds;
      for (int i = 0; i < in_flight; ++i) {
        std::vector<int> items;
        const int count = 1 + static_cast<int>(troupe::random() % kBatchItemsMax);
        for (int j = 0; j < count; ++j) items.push_back(id_ * kItemsPerProducerMax + next_++);
        added += count;
        adds.push_back(actor_.call(&BatchActor::add, std::move(items)));
      }
      for (const Ref<void>& add : adds) sys.get(add);
      batches -= in_flight;
      troupe::sleep(std::chrono::microseconds(troupe::random() % 400));
      if (buggify(kProducerStallSite)) troupe::sleep(std::chrono::microseconds(1000 + troupe::random() % 1000));
    }
    return added;
  }

 private:
  int id_;
  ActorHandle<BatchActor> actor_;
  int next_ = 0;  // this producer's next sequence number, across rounds
};
TROUPE_ACTOR(Producer, &Producer::produce);

// What the driver has seen flushed: per producer, the sequence numbers in flush order.
struct Flushed {
  std::map<int, std::vector<int>> by_producer;
  int empty_flushes = 0;
  int mixed_flushes = 0;  // flushes with items of more than one producer

  void record(const std::vector<int>& items) {
    if (items.empty()) ++empty_flushes;
    std::set<int> producers;
    for (int item : items) {
      by_producer[item / kItemsPerProducerMax].push_back(item % kItemsPerProducerMax);
      producers.insert(item / kItemsPerProducerMax);
    }
    if (producers.size() > 1) ++mixed_flushes;
  }
};

// "0..41" or the first place the sequence departs from 0, 1, 2, ...
std::string describe_departure(const std::vector<int>& seen, int expected_count) {
  for (size_t i = 0; i < seen.size(); ++i) {
    if (seen[i] != static_cast<int>(i)) {
      std::vector<int> around(seen.begin() + static_cast<long>(i > 3 ? i - 3 : 0),
                              seen.begin() + static_cast<long>(std::min(seen.size(), i + 4)));
      return fmt::format("item {} of the flushed sequence is {}, expected {} (around it: {}); {} flushed, {} added", i,
                         seen[i], i, around, seen.size(), expected_count);
    }
  }
  return fmt::format("{} items flushed in order, {} added", seen.size(), expected_count);
}

void batching_driver(System& sys, Checks& checks, bool clear_late) {
  // The seed's run.
  auto seed_actor = sys.spawn<BatchActor>({}, clear_late);
  for (int i = 0; i < 100; ++i) sys.get(seed_actor.call(&BatchActor::add, std::vector<int>{i, i + 1}));
  const std::vector<int> buffered = sys.get(seed_actor.call(&BatchActor::flush));
  std::vector<int> want;
  for (int i = 0; i < 100; ++i) {
    want.push_back(i);
    want.push_back(i + 1);
  }
  checks.always("the seed's flush returns 200 items", buffered.size() == 200, fmt::format("got {}", buffered.size()));
  checks.always("the seed's flush returns the items in the order added", buffered == want,
                fmt::format("got {}", buffered));
  if (checks.failed()) return;

  auto actor = sys.spawn<BatchActor>({}, clear_late);
  std::vector<ActorHandle<Producer>> producers;
  for (int i = 0; i < kProducers; ++i) producers.push_back(sys.spawn<Producer>({}, i, actor));
  Flushed flushed;
  std::map<int, int> added;  // per producer, across rounds
  for (int round = 0; keep_working(sys, checks, round); ++round) {
    if (round > 0) troupe::sleep(std::chrono::milliseconds(150 + troupe::random() % 150));
    std::vector<Ref<int>> runs;
    for (const ActorHandle<Producer>& producer : producers) {
      runs.push_back(producer.call(&Producer::produce, kBatchesPerProducer));
    }
    // Flush periodically while the producers work.
    while (!sys.wait(runs, runs.size(), std::chrono::microseconds(0)).not_ready.empty()) {
      troupe::sleep(std::chrono::microseconds(troupe::random() % kFlushPauseMaxUs));
      flushed.record(sys.get(actor.call(&BatchActor::flush)));
    }
    for (int i = 0; i < kProducers; ++i) added[i] += sys.get(runs[static_cast<size_t>(i)]);
    // Every add has returned: one more flush takes the rest.
    flushed.record(sys.get(actor.call(&BatchActor::flush)));
    for (int i = 0; i < kProducers; ++i) {
      const std::vector<int>& seen = flushed.by_producer[i];
      checks.always("every item added is flushed exactly once, in its producer's order",
                    seen == range_inclusive(0, added[i] - 1),
                    fmt::format("round {}, producer {}: {}", round, i, describe_departure(seen, added[i])));
    }
    if (checks.failed()) return;
  }
  checks.sometimes("a flush returned nothing", flushed.empty_flushes > 0);
  checks.sometimes("a flush returned items of several producers", flushed.mixed_flushes > 0);
}

}  // namespace

void register_batching_actor(Registry& registry) {
  registry.add({.name = "batching_actor",
                .summary = "the seed's BatchActor: concurrent producers, periodic flushes, each item once and in order",
                .driver = [](System& sys, Checks& checks) { batching_driver(sys, checks, /*clear_late=*/false); },
                .buggify_sites = {std::string(kProducerStallSite)},
                .tolerates = kDelayFaults});
  registry.add({.name = "batching_actor.bug_flush_clears_late",
                .summary = "flush clears its buffer only at the next add: two flushes in a row return the same items",
                .expect_fail = true,
                .driver = [](System& sys, Checks& checks) { batching_driver(sys, checks, /*clear_late=*/true); },
                .buggify_sites = {std::string(kProducerStallSite)},
                .tolerates = kDelayFaults});
}

}  // namespace troupe::scenarios
