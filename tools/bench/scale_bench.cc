// Memory per actor and per call, and a cluster of 100,000 actors on 1,000 simulated nodes.
//
// Memory is measured with tools/bench/memory_meter.h: the heap through the binary's counting
// operator new (exact live bytes, allocated minus freed, over a window), plus the fiber stacks,
// which are mmap'd outside operator new: the pages of live stacks the kernel has backed
// (mincore), since a stack reserves 256 KiB of address space but costs only what fibers touched.
// Heap + resident stacks is the figure; the resident set's change (/proc/self/statm) is reported
// beside it as a cross-check (it adds the allocator's slack and page granularity, and is blind to
// memory the allocator reuses). Counting rather than RSS because RSS cannot see blocks reused from
// earlier benchmarks' freed memory, nor separate stacks from heap.
//
// BM_MemoryPerIdleActor/N: N actors spawned (on ten nodes with room for all), then the driver
// sleeps one simulated second, by which time every constructor has run and nothing else happens;
// the window spans the spawns and the sleep. Everything the cluster holds for an idle actor
// counts: its worker process, the directory's record, the driver's handle. bytes_per_actor,
// heap_bytes_per_actor, stack_bytes_per_actor (0 when idle actors hold no fiber stack),
// rss_bytes_per_actor.
//
// BM_MemoryPerRunningCall/N: one async actor (max_concurrency N), warmed up by one call; then N
// calls to a method that sleeps one simulated hour, and the driver sleeps a simulated second:
// every call has arrived and is blocked in the method. bytes_per_call (heap + stack),
// heap_bytes_per_call, stack_bytes_per_call, rss_bytes_per_call.
//
// BM_Scale100kActors1000Nodes/A/N: N nodes of A/N CPUs, A actors; the figure is /100000/1000:
// 1,000 nodes of 100 CPUs, 100,000 actors (one CPU each, so placement
// fills every node), each called once (all calls submitted, then all got), then the run ends.
// One iteration per repetition. `seconds` is the wall time of the whole run (world built and torn
// down), peak_bytes the peak of heap + live stacks' resident bytes above the run's start
// (heap peak from the counting allocator, stacks sampled at the peak's two likely moments: all
// actors idle, all calls answered), peak_rss_bytes the kernel's peak resident set (VmHWM, reset
// before the run) above the resident set at the start (meaningful only for the first run in a
// process: later repetitions reuse the memory the allocator kept from the first, so run
// --benchmark_filter=BM_Scale.*/100000 --benchmark_repetitions=1 for it), idle_stacks the live fiber stacks once
// every actor is constructed and idle (the driver's own is the only one expected). /10000/100 is
// the same at a tenth of the size, to show how the cost grows.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/troupe.h"
#include "sim/sim_run.h"
#include "tools/bench/memory_meter.h"

namespace troupe {
namespace {

using namespace std::chrono_literals;

class Idle {
 public:
  explicit Idle(int id) : id_(id) {}
  int id() const { return id_; }

 private:
  int id_;
};
TROUPE_ACTOR(Idle, &Idle::id);

class Napper {
 public:
  int nap(int value) {
    troupe::sleep(1h);
    return value;
  }
};
TROUPE_ACTOR(Napper, &Napper::nap);

// `nodes` nodes named n0 (the head), n1, ... with `cpus` CPUs each.
sim::ClusterShape cluster_of(int nodes, double cpus) {
  sim::ClusterShape shape;
  shape.nodes.clear();
  for (int i = 0; i < nodes; ++i) shape.nodes.push_back({.name = "n" + std::to_string(i), .cpus = cpus});
  return shape;
}

// What a measuring window saw: heap change, live stacks' change, resident set change.
struct Footprint {
  int64_t heap_bytes = 0;
  int64_t stacks = 0;
  int64_t stack_bytes = 0;
  int64_t rss_bytes = 0;
};

// A window over the heap, the live stacks and the resident set.
class Window {
 public:
  void open() {
    stacks_ = bench::stack_usage();
    rss_ = bench::rss_bytes();
    meter_.start();
  }
  Footprint close() {
    Footprint seen{.heap_bytes = meter_.live_bytes()};
    meter_.stop();
    const LiveStackUsage stacks = bench::stack_usage();
    seen.stacks = static_cast<int64_t>(stacks.stacks) - static_cast<int64_t>(stacks_.stacks);
    seen.stack_bytes = static_cast<int64_t>(stacks.resident_bytes) - static_cast<int64_t>(stacks_.resident_bytes);
    seen.rss_bytes = bench::rss_bytes() - rss_;
    return seen;
  }

 private:
  bench::MemoryMeter meter_;
  LiveStackUsage stacks_;
  int64_t rss_ = 0;
};

// Runs `driver` with `options`; a run that does not end OK stops the benchmark.
template <typename Driver>
bool run_or_skip(benchmark::State& state, const sim::SimRunOptions& options, Driver&& driver) {
  sim::SimRunResult result = sim::run_simulation(options, std::forward<Driver>(driver));
  if (result.status.ok()) return true;
  state.SkipWithError(result.status.ToString().c_str());
  return false;
}

void report_per_item(benchmark::State& state, const Footprint& total, int64_t items, const std::string& unit) {
  const auto per = [items](int64_t bytes) { return static_cast<double>(bytes) / static_cast<double>(items); };
  state.counters["bytes_per_" + unit] = per(total.heap_bytes + total.stack_bytes);
  state.counters["heap_bytes_per_" + unit] = per(total.heap_bytes);
  state.counters["stack_bytes_per_" + unit] = per(total.stack_bytes);
  state.counters["stacks_per_" + unit] = per(total.stacks);
  state.counters["rss_bytes_per_" + unit] = per(total.rss_bytes);
}

void BM_MemoryPerIdleActor(benchmark::State& state) {
  const int actors = static_cast<int>(state.range(0));
  constexpr int kNodes = 10;
  Footprint total;
  int64_t measured = 0;
  for (auto _ : state) {
    Footprint seen;
    const bool ok = run_or_skip(state, {.seed = 1, .cluster = cluster_of(kNodes, actors / kNodes + 1)},
                                [&](System& sys) {
      Window window;
      window.open();
      std::vector<ActorHandle<Idle>> idle;
      idle.reserve(actors);
      for (int i = 0; i < actors; ++i) idle.push_back(sys.spawn<Idle>({}, i));
      troupe::sleep(1s);
      seen = window.close();
      // Each is alive and constructed with its own argument (not measured).
      std::vector<Ref<int>> ids;
      for (const auto& actor : idle) ids.push_back(actor.call(&Idle::id));
      std::vector<int> values = sys.get(ids);
      for (int i = 0; i < actors; ++i) {
        if (values[i] != i) throw std::logic_error("actor " + std::to_string(i) + " answered " + std::to_string(values[i]));
      }
    });
    if (!ok) return;
    total.heap_bytes += seen.heap_bytes;
    total.stacks += seen.stacks;
    total.stack_bytes += seen.stack_bytes;
    total.rss_bytes += seen.rss_bytes;
    measured += actors;
  }
  state.SetItemsProcessed(measured);
  if (measured > 0) report_per_item(state, total, measured, "actor");
}
BENCHMARK(BM_MemoryPerIdleActor)->Arg(10'000)->Unit(benchmark::kMillisecond);

void BM_MemoryPerRunningCall(benchmark::State& state) {
  const int calls = static_cast<int>(state.range(0));
  Footprint total;
  int64_t measured = 0;
  for (auto _ : state) {
    Footprint seen;
    const bool ok = run_or_skip(state, {.seed = 1}, [&](System& sys) {
      auto napper = sys.spawn<Napper>({.concurrency = Concurrency::kAsync, .max_concurrency = calls});
      if (sys.get(napper.call(&Napper::nap, -1)) != -1) throw std::logic_error("warm-up call");
      Window window;
      window.open();
      std::vector<Ref<int>> naps;
      naps.reserve(calls);
      for (int i = 0; i < calls; ++i) naps.push_back(napper.call(&Napper::nap, i));
      troupe::sleep(1s);
      seen = window.close();
      std::vector<int> values = sys.get(naps);
      for (int i = 0; i < calls; ++i) {
        if (values[i] != i) throw std::logic_error("call " + std::to_string(i) + " returned " + std::to_string(values[i]));
      }
    });
    if (!ok) return;
    total.heap_bytes += seen.heap_bytes;
    total.stacks += seen.stacks;
    total.stack_bytes += seen.stack_bytes;
    total.rss_bytes += seen.rss_bytes;
    measured += calls;
  }
  state.SetItemsProcessed(measured);
  if (measured > 0) report_per_item(state, total, measured, "call");
}
BENCHMARK(BM_MemoryPerRunningCall)->Arg(10'000)->Unit(benchmark::kMillisecond);

void BM_Scale100kActors1000Nodes(benchmark::State& state) {
  const int actors = static_cast<int>(state.range(0));
  const int nodes = static_cast<int>(state.range(1));
  const double cpus_per_node = static_cast<double>((actors + nodes - 1) / nodes);
  for (auto _ : state) {
    bench::reset_peak_rss();
    const int64_t rss_start = bench::rss_bytes();
    const LiveStackUsage stacks_start = bench::stack_usage();
    bench::MemoryMeter meter;
    meter.start();
    LiveStackUsage idle_stacks;
    LiveStackUsage answered_stacks;
    const auto start = std::chrono::steady_clock::now();
    const bool ok = run_or_skip(state, {.seed = 1, .cluster = cluster_of(nodes, cpus_per_node)}, [&](System& sys) {
      std::vector<ActorHandle<Idle>> idle;
      idle.reserve(actors);
      for (int i = 0; i < actors; ++i) idle.push_back(sys.spawn<Idle>({}, i));
      troupe::sleep(1s);
      idle_stacks = bench::stack_usage();
      std::vector<Ref<int>> ids;
      ids.reserve(actors);
      for (const auto& actor : idle) ids.push_back(actor.call(&Idle::id));
      std::vector<int> values = sys.get(ids);
      answered_stacks = bench::stack_usage();
      for (int i = 0; i < actors; ++i) {
        if (values[i] != i) throw std::logic_error("actor " + std::to_string(i) + " answered " + std::to_string(values[i]));
      }
    });
    const auto stop = std::chrono::steady_clock::now();
    meter.stop();
    if (!ok) return;
    const auto resident_above_start = [&](const LiveStackUsage& usage) {
      return static_cast<int64_t>(usage.resident_bytes) - static_cast<int64_t>(stacks_start.resident_bytes);
    };
    const int64_t stack_peak = std::max(resident_above_start(idle_stacks), resident_above_start(answered_stacks));
    state.counters["seconds"] = std::chrono::duration<double>(stop - start).count();
    state.counters["peak_bytes"] = static_cast<double>(meter.peak_bytes() + stack_peak);
    state.counters["peak_heap_bytes"] = static_cast<double>(meter.peak_bytes());
    state.counters["peak_rss_bytes"] = static_cast<double>(bench::peak_rss_bytes() - rss_start);
    state.counters["idle_stacks"] = static_cast<double>(idle_stacks.stacks - stacks_start.stacks);
    state.counters["bytes_per_actor"] = static_cast<double>(meter.peak_bytes() + stack_peak) / actors;
  }
  state.SetItemsProcessed(state.iterations() * actors);
}
BENCHMARK(BM_Scale100kActors1000Nodes)->Args({10'000, 100})->Args({100'000, 1'000})->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace
}  // namespace troupe
