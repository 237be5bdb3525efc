// Scheduling strategies: which of several ready items runs next.
//
// Each choice among two or more ready items is a decision; the World asks its strategy, and
// records the answer in the trace (TraceKind::kDecision, `call = (ready_count << 32) | index`).
// A strategy sees the ready items themselves (what each one is: a fiber to resume, a message
// from one process to another, a timer or other callback of a process), in the World's ready
// list order, which is itself a function of the seed.
//
//   random  (the default) picks uniformly with its own seeded stream: every decision is a coin
//           toss, so seeds explore many interleavings, most of them close to "fair".
//   fifo    always takes the oldest ready item: one fixed order, for debugging.
//   pct     probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, "A
//           Randomized Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010),
//           described below.
//   replay  follows a recorded Schedule (sim/schedule.h) decision by decision; a run that
//           diverges from it (a different number of ready items at a decision, or more decisions
//           than recorded) stops with an error naming the decision.
//   guided  follows a GuidedSchedule (sim/schedule.h): the listed choices at the listed
//           decisions, the oldest item (fifo's choice) everywhere else, and at a listed decision
//           whose choice is beyond the ready list. It never diverges. A plan file's "schedule"
//           section selects it (`troupe shrink` writes one); it is not a --strategy value.
//
// PCT. Every ready item belongs to a *task*, the unit PCT prioritises:
//   * resuming a fiber: the fiber (a call on an actor, a driver, a spawned body) — the threads
//     of the paper;
//   * delivering a message: its stream, the (sender, receiver) pair of processes, so PCT can
//     hold back everything one process sends another (one caller's calls to an actor) while
//     other streams go ahead, and messages of one stream stay in their order;
//   * a timer or other callback of a process (a sleep ending, a failure notice): that process;
//   * a World-level action (fault injection, a resent control message): one task, "the world".
// A task gets a random priority the first time it is ready at a decision (drawn from the
// strategy's own stream: a uniformly random place among the tasks not yet lowered, as if the
// paper's random initial priorities had been drawn at its creation). Before the run, d-1
// change points k_1..k_(d-1) are drawn, distinct, uniformly in [1, k] (the depth d >= 1 is
// PctOptions::depth). At every decision PCT runs the ready item of the highest-priority task (the
// oldest item of that task if it has several); at the i-th decision, if i = k_j, it first lowers
// the priority of the task it would have run to j — below every initial priority — and picks
// again. So a run of depth d is a strict priority schedule with d-1 forced preemptions at random
// moments. A bug that needs d specific orderings between tasks (its depth: an order violation
// has depth 1, a lost update between two read-modify-write fibers depth 2) is hit by one seed
// with probability at least 1/(n * k^(d-1)) for n tasks, which is why small depths (1 to 3)
// find most bugs in few seeds.
//
// Steps: k counts decisions only (items run alone need no choice, and a priority change there
// would not change what runs). A run's decision count is not known when it starts, and each seed
// must replay alone, so k cannot be learnt from earlier seeds as in Coyote or Shuttle. With
// PctOptions::steps = 0 (the default) k is adaptive: each seed draws it from
// kPctAdaptiveSteps = {16, 64, 256, ..., 4^10 = 1,048,576} (log-uniform, from the strategy's own
// stream), so for a run of L decisions roughly one seed in nine uses a k between L and 4L and
// puts its change points where the run is, whatever L is; a fixed k (steps > 0) is better by that
// factor when L is known, and misses every change point after step k when it is too small.
//
// Determinism: every random number comes from the Rng given to make_strategy (the World's
// scheduler stream); tasks are told apart by ids that are counters (fiber, process); the maps
// are looked up, never iterated. Same seed and same options => same decisions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/core/random.h"
#include "sim/event_queue.h"
#include "sim/schedule.h"

namespace troupe::sim {

enum class StrategyKind { kRandom, kFifo, kPct, kReplay, kGuided };

// "random", "pct" or "fifo"; anything else (including "replay", which needs a schedule) is
// InvalidArgument naming the choices.
absl::StatusOr<StrategyKind> parse_strategy(std::string_view name);
std::string_view strategy_name(StrategyKind kind);

// The k a seed may draw when PctOptions::steps is 0 (adaptive), each equally likely.
inline constexpr std::array<uint64_t, 9> kPctAdaptiveSteps = {16,     64,     256,     1024,     4096,
                                                              16'384, 65'536, 262'144, 1'048'576};
inline constexpr uint32_t kPctDefaultDepth = 3;
inline constexpr uint32_t kPctMaxDepth = 1000;

struct PctOptions {
  uint32_t depth = kPctDefaultDepth;  // d in [1, kPctMaxDepth]: d-1 priority change points
  uint64_t steps = 0;                 // k >= 1: change points fall in decisions [1, k]; 0: adaptive
};

// What the strategies with parameters need (the others ignore it).
struct StrategyOptions {
  PctOptions pct;                           // kPct
  std::shared_ptr<const Schedule> schedule;  // kReplay: the decisions to follow (required)
  std::shared_ptr<const GuidedSchedule> guided;  // kGuided: the choices to make (required)
};

class Strategy {
 public:
  // pick() returns this when the run must stop (replay diverged); stop_reason() says why.
  static constexpr size_t kStop = SIZE_MAX;

  virtual ~Strategy() = default;
  // An index into `ready`, or kStop. REQUIRES: ready.size() >= 2.
  virtual size_t pick(std::span<const ReadyItem> ready) = 0;
  // Why pick() returned kStop (OK if it never did).
  virtual absl::Status stop_reason() const { return absl::OkStatus(); }
  // After a run that ended normally: an error if the strategy expected more (replay: recorded
  // decisions the run never reached), else OK.
  virtual absl::Status at_end() const { return absl::OkStatus(); }
};

// InvalidArgument for a depth outside [1, kPctMaxDepth]; steps is any value (0: adaptive).
absl::Status check_pct_options(const PctOptions& options);

// REQUIRES: for kPct, check_pct_options(options.pct) is OK; for kReplay, options.schedule is set;
// for kGuided, options.guided is set.
std::unique_ptr<Strategy> make_strategy(StrategyKind kind, const StrategyOptions& options, Rng rng);

}  // namespace troupe::sim
