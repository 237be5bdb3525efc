#include "sim/strategy.h"

#include <algorithm>
#include <cassert>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "fmt/format.h"

namespace troupe::sim {
namespace {

class RandomStrategy final : public Strategy {
 public:
  explicit RandomStrategy(Rng rng) : rng_(rng) {}
  size_t pick(std::span<const ReadyItem> ready) override {
    assert(ready.size() >= 2);
    return static_cast<size_t>(rng_.below(ready.size()));
  }

 private:
  Rng rng_;
};

class FifoStrategy final : public Strategy {
 public:
  size_t pick(std::span<const ReadyItem> ready) override {
    assert(ready.size() >= 2);
    return 0;
  }
};

// The PCT task of a ready item (strategy.h), packed into one word: the top two bits say which
// kind of task, the rest its counter ids.
//   fiber:    00 | fiber id (a counter; far below 2^62)
//   stream:   01 | sender (31 bits) | receiver (31 bits)
//   process:  10 | process id (its timers and callbacks; 0 for World-level actions)
uint64_t pct_task(const ReadyItem& item) {
  constexpr uint64_t kStream = uint64_t{1} << 62;
  constexpr uint64_t kProcess = uint64_t{2} << 62;
  switch (item.kind) {
    case ReadyItem::Kind::kResume:
      assert(item.fiber.value < kStream);
      return item.fiber.value;
    case ReadyItem::Kind::kDeliver:
      assert(item.from.value < (uint32_t{1} << 31) && item.process.value < (uint32_t{1} << 31));
      return kStream | (uint64_t{item.from.value} << 31) | item.process.value;
    case ReadyItem::Kind::kCallback:
      return kProcess | item.process.value;
  }
  return kProcess;
}

class PctStrategy final : public Strategy {
 public:
  PctStrategy(const PctOptions& options, Rng rng) : priorities_rng_(rng.fork(2)) {
    Rng points_rng = rng.fork(1);
    uint64_t steps = options.steps;
    if (steps == 0) steps = kPctAdaptiveSteps[points_rng.below(kPctAdaptiveSteps.size())];
    // d-1 distinct change points in [1, steps] (fewer if steps < d-1); the j-th drawn lowers
    // its task to priority j, as in the paper (so their order in time is itself random).
    const uint64_t count = std::min<uint64_t>(options.depth - 1, steps);
    for (uint64_t j = 1; j <= count; ++j) {
      uint64_t step = 0;
      do {
        step = 1 + points_rng.below(steps);
      } while (std::any_of(change_points_.begin(), change_points_.end(),
                           [step](const ChangePoint& point) { return point.step == step; }));
      change_points_.push_back({.step = step, .priority = j});
    }
    std::sort(change_points_.begin(), change_points_.end(),
              [](const ChangePoint& a, const ChangePoint& b) { return a.step < b.step; });
  }

  size_t pick(std::span<const ReadyItem> ready) override {
    assert(ready.size() >= 2);
    ++decisions_;
    size_t best = highest(ready);
    if (next_change_ < change_points_.size() && change_points_[next_change_].step == decisions_) {
      priorities_[pct_task(ready[best])] = change_points_[next_change_].priority;
      ++next_change_;
      best = highest(ready);
    }
    return best;
  }

 private:
  struct ChangePoint {
    uint64_t step = 0;      // the decision (from 1) at which it happens
    uint64_t priority = 0;  // what the task it hits is lowered to (1..d-1)
  };
  // Initial priorities lie above every lowered one (those are at most kPctMaxDepth).
  static constexpr uint64_t kInitialFloor = uint64_t{1} << 63;

  uint64_t priority(uint64_t task) {
    auto [it, inserted] = priorities_.try_emplace(task, 0);
    if (inserted) it->second = kInitialFloor | priorities_rng_.next_u64();
    return it->second;
  }

  // The index of the item of the highest-priority task; among items of one task (or equal
  // priorities, which a 63-bit draw makes all but impossible), the oldest.
  size_t highest(std::span<const ReadyItem> ready) {
    size_t best = 0;
    uint64_t best_priority = priority(pct_task(ready[0]));
    for (size_t i = 1; i < ready.size(); ++i) {
      const uint64_t p = priority(pct_task(ready[i]));
      if (p > best_priority || (p == best_priority && ready[i].sequence < ready[best].sequence)) {
        best = i;
        best_priority = p;
      }
    }
    return best;
  }

  Rng priorities_rng_;
  std::vector<ChangePoint> change_points_;  // sorted by step
  size_t next_change_ = 0;
  uint64_t decisions_ = 0;
  absl::flat_hash_map<uint64_t, uint64_t> priorities_;  // task -> priority; lookup only, never iterated
};

class ReplayStrategy final : public Strategy {
 public:
  explicit ReplayStrategy(std::shared_ptr<const Schedule> schedule) : schedule_(std::move(schedule)) {
    assert(schedule_ != nullptr);
  }

  size_t pick(std::span<const ReadyItem> ready) override {
    const std::vector<Decision>& decisions = schedule_->decisions;
    const size_t number = next_ + 1;  // decisions are numbered from 1 in messages
    if (next_ >= decisions.size()) {
      stop_ = absl::FailedPreconditionError(fmt::format(
          "replay diverged at decision {}: the run has {} ready items to choose from, but the schedule "
          "ends after {} decisions",
          number, ready.size(), decisions.size()));
      return kStop;
    }
    const Decision& decision = decisions[next_];
    if (decision.ready_count != ready.size() || decision.index >= ready.size()) {
      stop_ = absl::FailedPreconditionError(fmt::format(
          "replay diverged at decision {} of {}: the schedule recorded {} ready items, the run has {}", number,
          decisions.size(), decision.ready_count, ready.size()));
      return kStop;
    }
    ++next_;
    return decision.index;
  }

  absl::Status stop_reason() const override { return stop_; }

  absl::Status at_end() const override {
    if (next_ == schedule_->decisions.size()) return absl::OkStatus();
    return absl::FailedPreconditionError(fmt::format(
        "replay diverged: the run ended after {} of the schedule's {} decisions", next_, schedule_->decisions.size()));
  }

 private:
  std::shared_ptr<const Schedule> schedule_;
  size_t next_ = 0;
  absl::Status stop_;
};

class GuidedStrategy final : public Strategy {
 public:
  explicit GuidedStrategy(std::shared_ptr<const GuidedSchedule> schedule) : schedule_(std::move(schedule)) {
    assert(schedule_ != nullptr);
    for (size_t i = 0; i < schedule_->choices.size(); ++i) {
      assert(schedule_->choices[i].decision >= 1);
      assert(i == 0 || schedule_->choices[i].decision > schedule_->choices[i - 1].decision);
    }
  }

  size_t pick(std::span<const ReadyItem> ready) override {
    assert(ready.size() >= 2);
    const std::vector<GuidedChoice>& choices = schedule_->choices;
    ++decisions_;
    if (next_ >= choices.size() || choices[next_].decision != decisions_) return 0;
    const uint32_t choice = choices[next_++].choice;  // the order is asserted in the constructor
    return choice < ready.size() ? choice : 0;
  }

 private:
  std::shared_ptr<const GuidedSchedule> schedule_;
  uint64_t decisions_ = 0;  // made so far
  size_t next_ = 0;         // the first choice not yet reached
};

}  // namespace

absl::StatusOr<StrategyKind> parse_strategy(std::string_view name) {
  if (name == "random") return StrategyKind::kRandom;
  if (name == "pct") return StrategyKind::kPct;
  if (name == "fifo") return StrategyKind::kFifo;
  return absl::InvalidArgumentError(fmt::format("unknown strategy '{}' (expected random, pct or fifo)", name));
}

std::string_view strategy_name(StrategyKind kind) {
  switch (kind) {
    case StrategyKind::kRandom: return "random";
    case StrategyKind::kFifo: return "fifo";
    case StrategyKind::kPct: return "pct";
    case StrategyKind::kReplay: return "replay";
    case StrategyKind::kGuided: return "guided";
  }
  return "?";
}

absl::Status check_pct_options(const PctOptions& options) {
  if (options.depth < 1 || options.depth > kPctMaxDepth) {
    return absl::InvalidArgumentError(
        fmt::format("the PCT depth must be from 1 to {} (got {})", kPctMaxDepth, options.depth));
  }
  return absl::OkStatus();
}

std::unique_ptr<Strategy> make_strategy(StrategyKind kind, const StrategyOptions& options, Rng rng) {
  switch (kind) {
    case StrategyKind::kRandom: return std::make_unique<RandomStrategy>(rng);
    case StrategyKind::kFifo: return std::make_unique<FifoStrategy>();
    case StrategyKind::kPct:
      assert(check_pct_options(options.pct).ok());
      return std::make_unique<PctStrategy>(options.pct, rng);
    case StrategyKind::kReplay: return std::make_unique<ReplayStrategy>(options.schedule);
    case StrategyKind::kGuided: return std::make_unique<GuidedStrategy>(options.guided);
  }
  return nullptr;
}

absl::StatusOr<Schedule> schedule_from_events(std::span<const TraceEvent> events) {
  Schedule schedule;
  for (const TraceEvent& event : events) {
    if (event.kind != TraceKind::kDecision) continue;
    const Decision decision = decision_from_call(event.call);
    if (decision.ready_count < 2 || decision.index >= decision.ready_count) {
      return absl::InvalidArgumentError(fmt::format("event #{}: decision {} of {} ready items is not a valid decision",
                                                    event.number, decision.index, decision.ready_count));
    }
    schedule.decisions.push_back(decision);
  }
  return schedule;
}

}  // namespace troupe::sim
