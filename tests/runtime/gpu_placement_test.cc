// GPU placement (issue 5, first part): nodes declare GPUs; num_gpus takes a share of one device
// (0.0001 precision; one device fills before the next) or whole devices; this_actor::gpu_ids()
// names them; an actor that can never fit is pending with a reason naming the GPUs.
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/troupe.h"
#include "sim/sim_run.h"

namespace troupe {
namespace {

using namespace std::chrono_literals;

class Trainer {
 public:
  std::vector<uint32_t> devices() { return this_actor::gpu_ids(); }
};
TROUPE_ACTOR(Trainer, &Trainer::devices);

// A head without GPUs and one node with `gpus` of them.
sim::SimRunOptions gpu_cluster(int gpus, Trace* trace = nullptr) {
  return {.seed = 1,
          .cluster = {.nodes = {{.name = "head", .cpus = 8}, {.name = "gpu", .cpus = 16, .gpus = gpus}}},
          .trace = trace};
}

TEST(GpuPlacement, HalfGpuActorsFillOneDeviceBeforeTheNext) {
  sim::SimRunResult result = sim::run_simulation(gpu_cluster(3), [](System& sys) {
    std::vector<std::vector<uint32_t>> devices;
    for (int i = 0; i < 3; ++i) {
      auto trainer = sys.spawn<Trainer>({.num_gpus = 0.5});
      devices.push_back(sys.get(trainer.call(&Trainer::devices)));
    }
    EXPECT_EQ(devices, (std::vector<std::vector<uint32_t>>{{0}, {0}, {1}}));
    auto whole = sys.spawn<Trainer>({.num_gpus = 1});
    EXPECT_EQ(sys.get(whole.call(&Trainer::devices)), (std::vector<uint32_t>{2}));
    auto small = sys.spawn<Trainer>({.num_gpus = 0.25});  // device 1 has half left
    EXPECT_EQ(sys.get(small.call(&Trainer::devices)), (std::vector<uint32_t>{1}));
    auto none = sys.spawn<Trainer>({});
    EXPECT_EQ(sys.get(none.call(&Trainer::devices)), (std::vector<uint32_t>{}));
  });
  EXPECT_TRUE(result.status.ok()) << result.status;
}

TEST(GpuPlacement, WholeGpusTakeTheLowestFreeDevicesAndComeBackWhenTheActorDies) {
  sim::SimRunResult result = sim::run_simulation(gpu_cluster(4), [](System& sys) {
    auto share = sys.spawn<Trainer>({.num_gpus = 0.0001});
    EXPECT_EQ(sys.get(share.call(&Trainer::devices)), (std::vector<uint32_t>{0}));
    auto pair = sys.spawn<Trainer>({.num_gpus = 2});
    EXPECT_EQ(sys.get(pair.call(&Trainer::devices)), (std::vector<uint32_t>{1, 2}));
    sys.kill(pair);
    troupe::sleep(10ms);  // the directory hears of the kill and frees the devices
    auto triple = sys.spawn<Trainer>({.num_gpus = 3});
    EXPECT_EQ(sys.get(triple.call(&Trainer::devices)), (std::vector<uint32_t>{1, 2, 3}));
  });
  EXPECT_TRUE(result.status.ok()) << result.status;
}

TEST(GpuPlacement, InvalidAmountsAreRejectedAtSpawn) {
  sim::SimRunResult result = sim::run_simulation(gpu_cluster(2), [](System& sys) {
    auto expect_error = [&](double num_gpus, const std::string& expected) {
      try {
        sys.spawn<Trainer>({.num_gpus = num_gpus});
        ADD_FAILURE() << "num_gpus = " << num_gpus << " was accepted";
      } catch (const std::invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()), expected);
      }
    };
    expect_error(1.5, "spawn: num_gpus = 1.5: above 1, only whole GPUs (a share of a device must be at most 1)");
    expect_error(0.00005, "spawn: num_gpus = 5e-05 is finer than the precision of 0.0001");
    expect_error(-1, "spawn: num_gpus = -1 (expected 0 to 1,000,000)");
  });
  EXPECT_TRUE(result.status.ok()) << result.status;
}

TEST(GpuPlacement, AnActorNeedingMoreGpusThanAnyNodeHasIsPendingWithTheReason) {
  Trace trace;
  trace.set_retain(true);
  sim::SimRunOptions options = gpu_cluster(1, &trace);
  options.cluster.nodes.push_back({.name = "gpu2", .cpus = 16, .gpus = 1});
  sim::SimRunResult result = sim::run_simulation(options, [](System& sys) {
    auto big = sys.spawn<Trainer>({.num_gpus = 2});
    EXPECT_THROW(sys.get(big.call(&Trainer::devices), 1s), GetTimeoutError);
  });
  EXPECT_TRUE(result.status.ok()) << result.status;
  int pending = 0;
  for (const TraceEvent& event : trace.retained()) {
    if (event.kind == TraceKind::kActorCreate && event.detail.starts_with("pending: ")) {
      EXPECT_EQ(event.detail, "pending: infeasible: needs 2 GPUs, the largest node has 1");
      ++pending;
    }
  }
  EXPECT_EQ(pending, 1);
}

TEST(GpuPlacement, AShareWaitsForRoomWhileEveryDeviceIsFull) {
  Trace trace;
  trace.set_retain(true);
  sim::SimRunResult result = sim::run_simulation(gpu_cluster(1, &trace), [](System& sys) {
    auto first = sys.spawn<Trainer>({.num_gpus = 0.6});
    EXPECT_EQ(sys.get(first.call(&Trainer::devices)), (std::vector<uint32_t>{0}));
    auto second = sys.spawn<Trainer>({.num_gpus = 0.6});
    Ref<std::vector<uint32_t>> waiting = second.call(&Trainer::devices);
    EXPECT_THROW(sys.get(waiting, 100ms), GetTimeoutError);
    sys.kill(first);
    EXPECT_EQ(sys.get(waiting, 1s), (std::vector<uint32_t>{0}));
  });
  EXPECT_TRUE(result.status.ok()) << result.status;
  bool named = false;
  for (const TraceEvent& event : trace.retained()) {
    named |= event.detail == "pending: waiting for resources: needs 1 CPUs, 0 bytes and 0.6 GPUs; no node has them free";
  }
  EXPECT_TRUE(named);
}

}  // namespace
}  // namespace troupe
