// ReadyItem and EventQueue: the simulator's units of work and its timeline.
//
// A ReadyItem is "resume this fiber", "run this callback in this process", or "deliver this
// message to this process" (its own kind, so a message costs no callback allocation). Items wait
// in the EventQueue until their virtual time, ordered by (time, sequence): the sequence number,
// handed out by the World in creation order, breaks ties, so two events at the same nanosecond
// always come out in the same order.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "runtime/ids.h"
#include "runtime/platform.h"

namespace troupe::sim {

struct ReadyItem {
  enum class Kind : uint8_t { kResume, kCallback, kDeliver };
  Kind kind = Kind::kCallback;
  Channel channel = Channel::kData;         // kDeliver (beside `kind`: it fills the padding)
  ProcessId process;
  FiberId fiber;                            // kResume
  absl::AnyInvocable<void()> callback;      // kCallback
  ProcessId from;                           // kDeliver: the sender
  // kDeliver on the control channel: its place in the stream (32 bits beside `from`, so the item
  // does not grow: a run is far below 2^32 messages between two processes; World asserts it).
  uint32_t stream_sequence = 0;
  std::string payload;                      // kDeliver: the message
  uint64_t epoch = 0;                       // kDeliver: its link's epoch at send (Network::lost)
  TimerId timer = 0;                        // nonzero for timer callbacks (may be cancelled)
  uint64_t sequence = 0;
  Nanos time = 0;
};

class EventQueue {
 public:
  void push(ReadyItem item) {
    heap_.push_back(std::move(item));
    std::push_heap(heap_.begin(), heap_.end(), Later{});
  }
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  // The time of the earliest item. REQUIRES: !empty().
  Nanos next_time() const { return heap_.front().time; }
  // Removes and returns the earliest item. REQUIRES: !empty().
  ReadyItem pop() {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    ReadyItem item = std::move(heap_.back());
    heap_.pop_back();
    return item;
  }
  void clear() { heap_.clear(); }

 private:
  struct Later {
    bool operator()(const ReadyItem& a, const ReadyItem& b) const {
      if (a.time != b.time) return a.time > b.time;
      return a.sequence > b.sequence;
    }
  };
  std::vector<ReadyItem> heap_;
};

}  // namespace troupe::sim
