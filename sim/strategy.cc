#include "sim/strategy.h"

#include <cassert>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace troupe::sim {
namespace {

class RandomStrategy final : public Strategy {
 public:
  explicit RandomStrategy(Rng rng) : rng_(rng) {}
  size_t pick(size_t ready_count) override {
    assert(ready_count >= 1);
    return ready_count == 1 ? 0 : static_cast<size_t>(rng_.below(ready_count));
  }

 private:
  Rng rng_;
};

class FifoStrategy final : public Strategy {
 public:
  size_t pick(size_t ready_count) override {
    assert(ready_count >= 1);
    return 0;
  }
};

}  // namespace

absl::StatusOr<StrategyKind> parse_strategy(std::string_view name) {
  if (name == "random") return StrategyKind::kRandom;
  if (name == "fifo") return StrategyKind::kFifo;
  return absl::InvalidArgumentError(fmt::format("unknown strategy '{}' (expected random or fifo)", name));
}

std::string_view strategy_name(StrategyKind kind) {
  switch (kind) {
    case StrategyKind::kRandom: return "random";
    case StrategyKind::kFifo: return "fifo";
  }
  return "?";
}

std::unique_ptr<Strategy> make_strategy(StrategyKind kind, Rng rng) {
  switch (kind) {
    case StrategyKind::kRandom: return std::make_unique<RandomStrategy>(rng);
    case StrategyKind::kFifo: return std::make_unique<FifoStrategy>();
  }
  return nullptr;
}

}  // namespace troupe::sim
