// What a user's sweep gets per core, and how far simulated time runs ahead of the wall clock.
//
// BM_CounterSeeds/F runs seeds of the built-in `counter` scenario exactly as
//   troupe run counter --seeds 1..100              (F = 0: no faults)
//   troupe run counter --seeds 1..100 --faults swarm   (F = 1)
// runs them in one process (no --jobs): the arguments go through the CLI's own parser
// (cli::parse_command) and each seed through cli::compute_seed, the call the sweep makes per seed
// (scenarios::run_scenario with the sweep's RunOptions). One iteration is the whole range
// 1..100, so every repetition does the same simulated work; items_per_second is seeds per CPU
// second, the figure to compare with issue 9's 2,000 seeds/s/core (with swarm). A seed that
// fails stops the benchmark with its failure instead of producing a number.
//
// BM_SimToWall: a latency-bound run. Three Pinger actors each make 1,000 synchronous calls, one
// after the other, to a Ponger on another node (the default three-node cluster, whose network
// delays a remote message by 100 µs plus jitter and a heavy tail), all three at once. Nearly all
// of the simulated time is messages in flight, so the ratio is what the simulator gains over
// running the same protocol for real: sim_per_wall simulated seconds per wall second,
// sim_per_cpu per CPU second; items_per_second is calls per CPU second.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "runtime/troupe.h"
#include "scenarios/scenario.h"
#include "sim/sim_run.h"
#include "tools/troupe/args.h"
#include "tools/troupe/seed_result.h"

namespace troupe {
namespace {

constexpr uint64_t kCounterSeedsPerIteration = 100;

// The sweep command `troupe run counter --seeds 1..100 [--faults swarm]`, parsed as the CLI does.
cli::RunCommand counter_sweep(bool swarm) {
  std::vector<std::string> args = {"run", "counter", "--seeds", "1.." + std::to_string(kCounterSeedsPerIteration)};
  if (swarm) {
    args.emplace_back("--faults");
    args.emplace_back("swarm");
  }
  absl::StatusOr<cli::Command> command = cli::parse_command(args);
  if (!command.ok()) throw std::logic_error(std::string(command.status().message()));
  return std::get<cli::RunCommand>(*command);
}

void BM_CounterSeeds(benchmark::State& state) {
  const bool swarm = state.range(0) == 1;
  scenarios::Registry registry;
  scenarios::register_builtin_scenarios(registry);
  const cli::RunCommand command = counter_sweep(swarm);
  absl::StatusOr<std::vector<const scenarios::Scenario*>> selected = cli::select_scenarios(registry, command);
  if (!selected.ok() || selected->size() != 1) {
    state.SkipWithError("cannot select the counter scenario");
    return;
  }
  const scenarios::Scenario& counter = *selected->front();
  uint64_t seeds = 0;
  uint64_t faults = 0;
  for (auto _ : state) {
    for (uint64_t seed = command.seeds.first; seed <= command.seeds.last; ++seed) {
      cli::SeedResult result = cli::compute_seed(counter, command, seed);
      if (!result.passed) {
        state.SkipWithError(("counter seed " + std::to_string(seed) + " failed: " + result.failure).c_str());
        return;
      }
      faults += result.fault_kinds.size();
      ++seeds;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(seeds));
  if (seeds > 0) state.counters["faults_per_seed"] = static_cast<double>(faults) / static_cast<double>(seeds);
}
BENCHMARK(BM_CounterSeeds)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

class Ponger {
 public:
  int pong(int value) { return value + 1; }
};
TROUPE_ACTOR(Ponger, &Ponger::pong);

class Pinger {
 public:
  explicit Pinger(ActorHandle<Ponger> peer) : peer_(peer) {}
  // `rounds` synchronous calls to the peer, each waiting for the previous answer.
  int rally(int rounds) {
    int value = 0;
    for (int i = 0; i < rounds; ++i) value = this_actor::system().get(peer_.call(&Ponger::pong, value));
    return value;
  }

 private:
  ActorHandle<Ponger> peer_;
};
TROUPE_ACTOR(Pinger, &Pinger::rally);

constexpr int kPairs = 3;  // one Pinger and one Ponger per node of the default cluster
constexpr int kRounds = 1'000;

void BM_SimToWall(benchmark::State& state) {
  double wall_seconds = 0;
  double sim_seconds = 0;
  int64_t calls = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    sim::SimRunResult result = sim::run_simulation({.seed = 1}, [](System& sys) {
      // Placement takes the node with the most free CPUs, lowest id first: the Pongers land on
      // nodes 0, 1, 2 and so do the Pingers, and Pinger i calls the Ponger of node i + 1.
      std::vector<ActorHandle<Ponger>> pongers;
      for (int i = 0; i < kPairs; ++i) pongers.push_back(sys.spawn<Ponger>());
      std::vector<ActorHandle<Pinger>> pingers;
      for (int i = 0; i < kPairs; ++i) pingers.push_back(sys.spawn<Pinger>({}, pongers[(i + 1) % kPairs]));
      std::vector<Ref<int>> rallies;
      for (const auto& pinger : pingers) rallies.push_back(pinger.call(&Pinger::rally, kRounds));
      for (int last : sys.get(rallies)) {
        if (last != kRounds) throw std::logic_error("a rally ended at " + std::to_string(last));
      }
    });
    const auto stop = std::chrono::steady_clock::now();
    if (!result.status.ok()) {
      state.SkipWithError(result.status.ToString().c_str());
      return;
    }
    wall_seconds += std::chrono::duration<double>(stop - start).count();
    sim_seconds += static_cast<double>(result.sim_time) / 1e9;
    calls += kPairs * kRounds;
  }
  state.SetItemsProcessed(calls);
  if (wall_seconds > 0) state.counters["sim_per_wall"] = sim_seconds / wall_seconds;
  state.counters["sim_per_cpu"] = benchmark::Counter(sim_seconds, benchmark::Counter::kIsRate);
  if (calls > 0) state.counters["sim_us_per_call"] = sim_seconds * 1e6 / static_cast<double>(calls) * kPairs;
}
BENCHMARK(BM_SimToWall)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace troupe
