// Scheduling strategies: which of several ready items runs next.
//
// `random` (the default) picks uniformly with its own seeded stream, exploring interleavings
// across seeds; `fifo` always takes the oldest ready item, a fixed order useful for debugging.
// Each choice among two or more items is a decision; the World records it in the trace.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/core/random.h"

namespace troupe::sim {

enum class StrategyKind { kRandom, kFifo };

// "random" or "fifo"; anything else is InvalidArgument naming the choices.
absl::StatusOr<StrategyKind> parse_strategy(std::string_view name);
std::string_view strategy_name(StrategyKind kind);

class Strategy {
 public:
  virtual ~Strategy() = default;
  // An index in [0, ready_count). REQUIRES: ready_count >= 1.
  virtual size_t pick(size_t ready_count) = 0;
};

std::unique_ptr<Strategy> make_strategy(StrategyKind kind, Rng rng);

}  // namespace troupe::sim
