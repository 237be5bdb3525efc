// The real platforms' call path: synchronous latency and pipelined throughput of actor calls on
// the threads platform (one OS process) and on a local cluster over loopback (the driver, the head
// and the actor's worker are separate processes; every message goes through the head).
//
// Each benchmark iteration is one driver run that makes `calls` calls to one Echo actor after a
// warm-up call; only the calls are timed (manual time, wall clock), not starting the platform or
// the actor. Counters:
//   items_per_second  calls per wall second (manual time): the throughput
//   us_per_call       wall microseconds per call: for the synchronous benchmarks, the mean latency
//   us_median, us_p90 synchronous benchmarks: the median and 90th percentile of the calls' own
//                     latencies (each call timed alone), over all iterations
// The cluster (a head with 4 CPUs, no node daemons) is started once for the whole binary; each
// iteration joins it as a new driver. This binary is its own head and worker (its main lets
// Troupe take over in those roles).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/cluster/cluster_main.h"
#include "runtime/cluster/cluster_platform.h"
#include "runtime/cluster/local_cluster.h"
#include "runtime/core/cluster.h"
#include "runtime/real/threads_platform.h"
#include "runtime/troupe.h"

namespace troupe {
namespace {

class Echo {
 public:
  int ping(int value) { return value; }
};
TROUPE_ACTOR(Echo, &Echo::ping);

using Clock = std::chrono::steady_clock;

// The calls of one iteration: `pipelined` submits them all, then gets them all. Synchronous
// calls are also timed one by one into `latencies` (seconds), for the median and the 90th
// percentile: on a loaded machine the mean carries every scheduling delay, the median does not.
double timed_calls(System& sys, int calls, bool pipelined, std::vector<double>& latencies) {
  ActorHandle<Echo> echo = sys.spawn<Echo>();
  if (sys.get(echo.call(&Echo::ping, -1)) != -1) throw std::runtime_error("bad warm-up reply");
  const Clock::time_point start = Clock::now();
  if (pipelined) {
    std::vector<Ref<int>> refs;
    refs.reserve(static_cast<size_t>(calls));
    for (int i = 0; i < calls; ++i) refs.push_back(echo.call(&Echo::ping, i));
    std::vector<int> values = sys.get(refs);
    if (values.back() != calls - 1) throw std::runtime_error("bad pipelined reply");
  } else {
    Clock::time_point before = start;
    for (int i = 0; i < calls; ++i) {
      if (sys.get(echo.call(&Echo::ping, i)) != i) throw std::runtime_error("bad reply");
      const Clock::time_point after = Clock::now();
      latencies.push_back(std::chrono::duration<double>(after - before).count());
      before = after;
    }
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The value below which `fraction` of `values` lie (nearest rank). REQUIRES: values not empty.
double percentile(std::vector<double>& values, double fraction) {
  const size_t rank = static_cast<size_t>(fraction * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank), values.end());
  return values[rank];
}

using Driver = absl::AnyInvocable<void(System&)>;

// The benchmark's iterations: each runs `drive(driver)` once, a driver that times its calls
// (range(0) of them, pipelined when range(1) is 1).
template <typename Drive>
void measure(benchmark::State& state, Drive drive) {
  const int calls = static_cast<int>(state.range(0));
  const bool pipelined = state.range(1) != 0;
  double total = 0;
  std::vector<double> latencies;  // every synchronous call of every iteration
  for (auto _ : state) {
    double seconds = 0;
    absl::Status status =
        drive(Driver([&](System& sys) { seconds = timed_calls(sys, calls, pipelined, latencies); }));
    if (!status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      return;
    }
    state.SetIterationTime(seconds);
    total += seconds;
  }
  state.SetItemsProcessed(state.iterations() * calls);
  state.counters["us_per_call"] = 1e6 * total / static_cast<double>(state.iterations() * calls);
  if (!latencies.empty()) {
    state.counters["us_median"] = 1e6 * percentile(latencies, 0.5);
    state.counters["us_p90"] = 1e6 * percentile(latencies, 0.9);
  }
}

void BM_ThreadsCalls(benchmark::State& state) {
  measure(state, [](Driver driver) {
    ThreadsPlatform platform({.threads = 2, .nodes = {{.name = "local", .cpus = 4}}});
    return core::run_driver(platform, std::move(driver));
  });
}
BENCHMARK(BM_ThreadsCalls)->Args({10000, 0})->Args({100000, 1})->UseManualTime()->Unit(benchmark::kMillisecond);

cluster::LocalCluster* shared_cluster() {
  static std::unique_ptr<cluster::LocalCluster> cluster = [] {
    absl::StatusOr<std::unique_ptr<cluster::LocalCluster>> started = cluster::LocalCluster::start(
        {.nodes = {{.name = "head", .cpus = 4, .memory_bytes = int64_t{8} << 30}}, .log_path = "/dev/null"});
    if (!started.ok()) throw std::runtime_error(std::string(started.status().message()));
    return std::move(*started);
  }();
  return cluster.get();
}

void BM_ClusterCalls(benchmark::State& state) {
  cluster::LocalCluster& cluster = *shared_cluster();
  measure(state, [&cluster](Driver driver) -> absl::Status {
    absl::StatusOr<std::unique_ptr<cluster::ClusterPlatform>> platform = cluster::ClusterPlatform::join_as_driver(
        {.host = cluster.host(), .port = cluster.port(), .token = cluster.token(), .threads = 2},
        cluster::self_executable(), 1, 10 * kSecond);
    if (!platform.ok()) return platform.status();
    return cluster::run_cluster_driver(**platform, std::move(driver));
  });
}
BENCHMARK(BM_ClusterCalls)->Args({2000, 0})->Args({20000, 1})->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace troupe

int main(int argc, char** argv) {
  if (std::optional<int> code = troupe::cluster::run_cluster_role_if_asked()) return *code;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
