// Simulator throughput: how many actor calls, seeds and simulated hours one core gets through.
//
// Each benchmark iteration is one or more whole sim::run_simulation runs on the default
// three-node cluster with a fixed seed, so every repetition does the same simulated work and
// only the time it takes varies. The simulator runs on one thread, so Google Benchmark's CPU
// time is what the run costs on an idle core; the machine is shared, so wall time also carries
// other people's load. Counters (each one a total over all runs of the benchmark):
//   items_per_second  calls (or runs) per CPU second: the figure to compare with targets
//   items_per_wall_s  the same per wall-clock second
//   sim_per_wall      simulated seconds per wall-clock second
//   sim_per_cpu       simulated seconds per CPU second
//   events_per_item   trace events recorded per call (or run): the simulator's work per item
//
// The runtime prints nothing here (no trace sink: the World keeps only the hash). A run that
// does not end OK stops the benchmark with its status instead of producing a number.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/troupe.h"
#include "sim/sim_run.h"
#include "sim/world.h"

namespace troupe {
namespace {

using namespace std::chrono_literals;

class Counter {
 public:
  explicit Counter(int start) : value_(start) {}
  int increment() { return ++value_; }

 private:
  int value_;
};
TROUPE_ACTOR(Counter, &Counter::increment);

class Sleeper {
 public:
  int nap_one_hour() {
    troupe::sleep(1h);
    return 1;
  }
};
TROUPE_ACTOR(Sleeper, &Sleeper::nap_one_hour);

// Wall time, simulated time and trace events, summed over the runs of one benchmark.
struct RunTotals {
  double wall_seconds = 0;
  double sim_seconds = 0;
  uint64_t events = 0;
  uint64_t runs = 0;
};

// Runs `driver` in a fresh simulation with `seed` and adds its times to `totals`. On a run
// that does not end OK, marks the benchmark failed and returns false.
template <typename Driver>
bool timed_run(benchmark::State& state, uint64_t seed, Driver&& driver, RunTotals& totals) {
  auto start = std::chrono::steady_clock::now();
  sim::SimRunResult result = sim::run_simulation({.seed = seed}, std::forward<Driver>(driver));
  auto stop = std::chrono::steady_clock::now();
  if (!result.status.ok()) {
    state.SkipWithError(("seed " + std::to_string(seed) + ": " + result.status.ToString()).c_str());
    return false;
  }
  totals.wall_seconds += std::chrono::duration<double>(stop - start).count();
  totals.sim_seconds += static_cast<double>(result.sim_time) / 1e9;
  totals.events += result.events;
  totals.runs += 1;
  return true;
}

void report(benchmark::State& state, const RunTotals& totals, int64_t items_per_run) {
  const int64_t items = static_cast<int64_t>(totals.runs) * items_per_run;
  state.SetItemsProcessed(items);
  if (items > 0) state.counters["events_per_item"] = static_cast<double>(totals.events) / static_cast<double>(items);
  if (totals.wall_seconds <= 0) return;
  state.counters["items_per_wall_s"] = static_cast<double>(items) / totals.wall_seconds;
  state.counters["sim_per_wall"] = totals.sim_seconds / totals.wall_seconds;
  state.counters["sim_per_cpu"] = benchmark::Counter(totals.sim_seconds, benchmark::Counter::kIsRate);
}

// One driver, one Counter, range(0) synchronous calls (submit, then get) per simulation. The
// 100'000 variant shows whether the cost of a call grows with the length of the run.
void BM_SimSyncCalls(benchmark::State& state) {
  const int64_t calls = state.range(0);
  RunTotals totals;
  for (auto _ : state) {
    bool ok = timed_run(state, /*seed=*/1, [calls](System& sys) {
      auto counter = sys.spawn<Counter>({}, 0);
      int last = 0;
      for (int64_t i = 0; i < calls; ++i) last = sys.get(counter.call(&Counter::increment));
      if (last != calls) throw std::logic_error("wrong count: " + std::to_string(last));
    }, totals);
    if (!ok) return;
  }
  report(state, totals, calls);
}
BENCHMARK(BM_SimSyncCalls)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);

// range(0) calls submitted back to back, then all got; range(1) such batches per simulation.
void BM_SimPipelinedCalls(benchmark::State& state) {
  const int64_t batch = state.range(0);
  const int64_t batches = state.range(1);
  RunTotals totals;
  for (auto _ : state) {
    bool ok = timed_run(state, /*seed=*/1, [batch, batches](System& sys) {
      auto counter = sys.spawn<Counter>({}, 0);
      std::vector<Ref<int>> refs;
      refs.reserve(batch);
      for (int64_t b = 0; b < batches; ++b) {
        refs.clear();
        for (int64_t i = 0; i < batch; ++i) refs.push_back(counter.call(&Counter::increment));
        std::vector<int> values = sys.get(refs);
        if (values.back() != (b + 1) * batch) throw std::logic_error("calls ran out of order");
      }
    }, totals);
    if (!ok) return;
  }
  report(state, totals, batch * batches);
}
BENCHMARK(BM_SimPipelinedCalls)->Args({1'000, 10})->Unit(benchmark::kMillisecond);

// Whole small runs: build the world, spawn a Counter, 10 calls, tear down. Seeds cycle through
// 1..kSeeds so the figure is an average over schedules, the same on every repetition.
void BM_SimSeedsPerSecond(benchmark::State& state) {
  constexpr uint64_t kSeeds = 1000;
  RunTotals totals;
  uint64_t next = 0;
  for (auto _ : state) {
    uint64_t seed = 1 + next++ % kSeeds;
    bool ok = timed_run(state, seed, [](System& sys) {
      auto counter = sys.spawn<Counter>({}, 0);
      for (int i = 0; i < 10; ++i) benchmark::DoNotOptimize(sys.get(counter.call(&Counter::increment)));
    }, totals);
    if (!ok) return;
  }
  report(state, totals, 1);
}
BENCHMARK(BM_SimSeedsPerSecond)->Unit(benchmark::kMicrosecond);

// Ten actors each sleep one simulated hour inside a method, all at once: virtual time jumps, so
// the wall time per run should be that of a handful of calls.
void BM_SimSleepHour(benchmark::State& state) {
  constexpr int kActors = 10;
  RunTotals totals;
  for (auto _ : state) {
    bool ok = timed_run(state, /*seed=*/1, [](System& sys) {
      std::vector<ActorHandle<Sleeper>> sleepers;
      for (int i = 0; i < kActors; ++i) sleepers.push_back(sys.spawn<Sleeper>());
      std::vector<Ref<int>> refs;
      for (const auto& sleeper : sleepers) refs.push_back(sleeper.call(&Sleeper::nap_one_hour));
      for (int done : sys.get(refs)) benchmark::DoNotOptimize(done);
    }, totals);
    if (!ok) return;
  }
  report(state, totals, 1);
}
BENCHMARK(BM_SimSleepHour)->Unit(benchmark::kMicrosecond);

// The scheduler's decisions: 8 fibers of one process yield 10,000 times in all, so nearly every
// step chooses among several ready fibers. range(0) is the strategy (0 random, 1 fifo, 2 pct
// with depth 3). One item is one decision; the figure is what a strategy's pick costs on top of
// a fiber switch.
void BM_SimDecisions(benchmark::State& state) {
  constexpr int kFibers = 8;
  constexpr int kYieldsPerFiber = 1250;
  const auto strategy = static_cast<sim::StrategyKind>(state.range(0));
  class Host : public ProcessHost {
   public:
    void on_message(ProcessId, std::string) override {}
  };
  class CountDecisions : public TraceSink {
   public:
    explicit CountDecisions(uint64_t& count) : count_(count) {}
    void write(const TraceEvent& event) override { count_ += event.kind == TraceKind::kDecision ? 1 : 0; }

   private:
    uint64_t& count_;
  };
  uint64_t decisions = 0;
  uint64_t seed = 0;
  for (auto _ : state) {
    Trace trace;
    trace.add_sink(std::make_unique<CountDecisions>(decisions));
    sim::World world({.seed = ++seed, .strategy = strategy, .trace = &trace});
    world.add_node({.name = "head"});
    ProcessId process = *world.start_process(NodeId{0}, "p", std::make_unique<Host>());
    int done = 0;
    for (int i = 0; i < kFibers; ++i) {
      world.spawn(process, "yielder", [&] {
        for (int y = 0; y < kYieldsPerFiber; ++y) world.yield();
        if (++done == kFibers) world.stop();
      });
    }
    if (absl::Status status = world.run(); !status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      return;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(decisions));
}
BENCHMARK(BM_SimDecisions)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace troupe
