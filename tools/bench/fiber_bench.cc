// BM_FiberSwitch: the cost of the primitive every blocking call in Troupe is built on.
//
// One Fiber whose body suspends in a loop; each benchmark item is one resume() + suspend()
// round trip (two stack switches, plus Troupe's current-fiber bookkeeping). items/s = round
// trips per second.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "runtime/fiber/fiber.h"
#include "runtime/fiber/stack_pool.h"

namespace troupe {
namespace {

void BM_FiberSwitch(benchmark::State& state) {
  StackPool pool;
  bool stop = false;
  uint64_t round_trips = 0;
  Fiber fiber(pool, "bench", [&] {
    while (!stop) {
      ++round_trips;
      Fiber::suspend();
    }
  });
  for (auto _ : state) {
    fiber.resume();
  }
  stop = true;
  fiber.resume();  // lets the body return, so the stack goes back to the pool
  if (!fiber.finished()) state.SkipWithError("the fiber did not finish");
  benchmark::DoNotOptimize(round_trips);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FiberSwitch);

}  // namespace
}  // namespace troupe
