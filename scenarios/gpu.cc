// GPU scenarios (issue 5): placement that packs fractional GPUs and explains what it cannot place,
// training workers and a parameter server sharing GPUs through device loss, and a model service
// whose batch latency on a shared GPU is checked against the device model.
//
// gpu_packing: seven "shard" actors, three asking for 0.6 of a GPU and four for 0.5, on three
// nodes with 3, 3 and 2 GPUs, plus one asking for 4 GPUs, which no node has. Checks: without
// faults every shard lands exactly where "most free CPUs, then the lowest device with room" puts
// it (the 0.5 shards pair up on devices the 0.6 shards leave alone); under faults (crashes, node
// crashes, a lost GPU) no device ever holds more than one GPU's worth of shares (read from the
// directory's view, sys.actor_info, counting the shards that stayed put between two snapshots),
// no shard runs on
// a lost device, and once the faults stop every shard answers; the 4-GPU actor stays pending the
// whole run with the reason "infeasible: needs 4 GPUs, the largest node has 3". Eight devices
// hold seven shards however restarts fragment them (the 0.5 shards need at most four devices,
// the 0.6 shards three) with one device lost.
//
// gpu_training: four training workers (0.4 GPU each, restarted and retried forever), a parameter
// server, and on each pair of workers' GPU an evaluator (0.2 GPU) that loads a model in bursts of
// device memory. A step pulls the weights' version, allocates its activations on the GPU, runs
// a 10 ms kernel and pushes "worker w has done s steps". The server keeps, per worker, the
// highest step pushed (a grow-only counter), so a retried push, a restarted worker and even a
// restarted server (which relearns every count from the next push) all converge. If an
// allocation throws GpuOutOfMemory (the evaluator's burst, or a gpu_memory fault), the step halves its
// micro-batch and tries again (down to an eighth, then it waits for the pressure to pass).
// Checks: the server ends at exactly workers x steps; no step's kernel runs faster than the
// device allows or slower than its share of it; at the end no worker sits on a lost device
// (device loss restarted it on a healthy one).
//
// gpu_training.bug_no_oom_fallback: the same, but a step lets GpuOutOfMemory escape (a training
// loop written for a dedicated GPU): it fails once an evaluator's burst, or a gpu_memory fault,
// meets both workers' activations on a device.
//
// model_service: the seed's ModelService (predict, batch_predict) as two replicas sharing one
// GPU (0.5 each). batch_predict runs one kernel for the whole batch. Checks: predictions are
// exactly the seed's ("Prediction for a"); a batch's kernel never ends sooner than its exclusive
// time, nor later than its share of the device allows (two sharers, times the worst throttle);
// without faults the shared GPU is work-conserving to the nanosecond: when two batches overlap,
// the later one ends exactly at the first one's start plus both batches' exclusive time.
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/troupe.h"
#include "scenarios/scenario.h"

namespace troupe::scenarios {
namespace {

using namespace std::chrono_literals;

// Where an actor runs: its node, its devices, and which incarnation answered.
struct Placement {
  uint32_t node = 0;
  std::vector<uint32_t> gpus;
  int restarts = 0;
  MSGPACK_DEFINE(node, gpus, restarts);
};

Placement here() {
  return Placement{.node = this_actor::node().value, .gpus = this_actor::gpu_ids(), .restarts = this_actor::restart_count()};
}

// Whether device `device` of node `node` is lost right now (the platform's view of the cluster).
bool gpu_lost(System& sys, uint32_t node, uint32_t device) {
  for (const NodeInfo& info : sys.platform().nodes()) {
    if (info.id.value == node) return device < info.gpu_lost.size() && info.gpu_lost[device];
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// gpu_packing

class Shard {
 public:
  Placement where() { return here(); }
};
TROUPE_ACTOR(Shard, &Shard::where);

constexpr double kLargeShare = 0.6;
constexpr double kSmallShare = 0.5;
constexpr int kLargeShards = 3;
constexpr int kSmallShards = 4;
constexpr double kInfeasibleGpus = 4;

void packing_driver(System& sys, Checks& checks) {
  std::vector<std::pair<ActorHandle<Shard>, double>> shards;
  const ActorOptions restartable{.max_restarts = -1, .max_task_retries = -1};
  for (int i = 0; i < kLargeShards + kSmallShards; ++i) {
    ActorOptions options = restartable;
    options.num_gpus = i < kLargeShards ? kLargeShare : kSmallShare;
    shards.emplace_back(sys.spawn<Shard>(options), options.num_gpus);
  }
  auto too_big = sys.spawn<Shard>({.num_gpus = kInfeasibleGpus});
  const std::string infeasible = "infeasible: needs 4 GPUs, the largest node has 3";

  for (int round = 0; keep_working(sys, checks, round); ++round) {
    if (round > 0) troupe::sleep(std::chrono::milliseconds(50 + troupe::random() % 50));
    std::vector<Ref<Placement>> refs;
    for (const auto& shard : shards) refs.push_back(shard.first.call(&Shard::where));
    const std::vector<Placement> placements = sys.get(refs);
    for (size_t i = 0; i < placements.size(); ++i) {
      checks.always("a shard has exactly one device", placements[i].gpus.size() == 1,
                    fmt::format("shard {} got devices {}", i, placements[i].gpus));
    }
    // The directory's view, twice: a shard that is alive with the same incarnation in both
    // snapshots held its device the whole time between them, so at that instant all such shards
    // shared their devices at once. Shares in units of 1/10000 of a GPU, so that sums are exact.
    std::vector<ActorInfo> before;
    for (const auto& shard : shards) before.push_back(sys.actor_info(shard.first));
    std::map<std::pair<uint32_t, uint32_t>, int> units;
    for (size_t i = 0; i < shards.size(); ++i) {
      const ActorInfo after = sys.actor_info(shards[i].first);
      const bool steady = before[i].state == ActorInfo::State::kAlive && after.state == ActorInfo::State::kAlive &&
                          before[i].restarts == after.restarts && before[i].node == after.node &&
                          after.node.has_value() && after.gpu_ids.size() == 1;
      if (steady) units[{after.node->value, after.gpu_ids[0]}] += static_cast<int>(shards[i].second * 10'000 + 0.5);
    }
    for (const auto& [device, used] : units) {
      checks.always("no device holds more than one GPU of shares", used <= 10'000,
                    fmt::format("GPU {} of n{} holds {:.4f} GPUs", device.second, device.first, used / 10'000.0));
    }
    if (round == 0 && !checks.faults_planned() && sys.platform().simulated()) {
      // Most free CPUs first (ties: the lowest node), then the lowest device with room: the three
      // 0.6 shards take device 0 of each node; the 0.5 shards pair up on devices 1.
      std::vector<std::pair<uint32_t, uint32_t>> got;
      for (const Placement& placed : placements) got.emplace_back(placed.node, placed.gpus[0]);
      const std::vector<std::pair<uint32_t, uint32_t>> expected = {{1, 0}, {2, 0}, {3, 0}, {1, 1},
                                                                   {2, 1}, {3, 1}, {1, 1}};
      checks.always("without faults every shard lands where the placement rule puts it", got == expected,
                    fmt::format("got {}", got));
    }
    const ActorInfo info = sys.actor_info(too_big);
    checks.always("the 4-GPU actor stays pending with its reason",
                  info.state == ActorInfo::State::kPending && info.pending_reason == infeasible,
                  fmt::format("state {}, reason '{}'", static_cast<int>(info.state), info.pending_reason));
  }
  // The faults have stopped: every shard answers, none on a lost device.
  for (size_t i = 0; i < shards.size(); ++i) {
    const Placement placed = sys.get(shards[i].first.call(&Shard::where));
    const bool lost = !placed.gpus.empty() && gpu_lost(sys, placed.node, placed.gpus[0]);
    checks.always("no shard runs on a lost GPU", !lost,
                  fmt::format("shard {} is on GPU {} of n{}, which is lost", i, placed.gpus, placed.node));
    checks.sometimes("a shard was restarted", placed.restarts > 0);
  }
}

// ---------------------------------------------------------------------------------------------
// gpu_training

constexpr int kWorkers = 4;
constexpr int kSteps = 6;
constexpr std::chrono::nanoseconds kStepKernel = 10ms;  // nanoseconds: micro-batches divide it exactly
constexpr int64_t kActivationBytes = int64_t{6} << 30;  // two workers and a burst: 18 of 16 GiB
constexpr int kMicroBatchHalvings = 3;                   // down to 0.75 GiB, then wait
// The worst a kernel can be slowed: two workers share a device, and swarm throttles by at most
// 10x (faults::SwarmOptions::gpu_slowdown_max).
constexpr int kSharers = 2;
constexpr int kWorstSlowdown = 10;

class ParameterServer {
 public:
  // "Worker `worker` has done `steps` steps": a grow-only counter, so repeats change nothing.
  int push(int worker, int steps) {
    int& known = steps_[worker];
    known = std::max(known, steps);
    return total();
  }
  int version() const { return total(); }

 private:
  int total() const {
    int sum = 0;
    for (const auto& [worker, steps] : steps_) sum += steps;
    return sum;
  }
  std::map<int, int> steps_;
};
TROUPE_ACTOR(ParameterServer, &ParameterServer::push, &ParameterServer::version);

// What a step reports.
struct StepReport {
  Placement placement;
  int64_t kernel_ns = 0;  // the kernel's wall time on the platform (simulated time under sim)
  int micro_batches = 1;  // 1, or more after GpuOutOfMemory
  MSGPACK_DEFINE(placement, kernel_ns, micro_batches);
};

class TrainingWorker {
 public:
  TrainingWorker(int index, ActorHandle<ParameterServer> server, bool falls_back)
      : index_(index), server_(server), falls_back_(falls_back) {}

  StepReport step(int number) {
    System& sys = this_actor::system();
    sys.get(server_.call(&ParameterServer::version));  // pull the weights
    StepReport report{.placement = here()};
    for (int attempt = 0;; ++attempt) {
      const int micro_batches = 1 << std::min(attempt, kMicroBatchHalvings);
      // Memory pressure is temporary: once the smallest micro-batch does not fit, wait a little.
      if (attempt > kMicroBatchHalvings) troupe::sleep(5ms);
      try {
        gpu::Allocation activations = gpu::alloc(kActivationBytes / micro_batches);
        const Nanos start = troupe::now().count();
        for (int i = 0; i < micro_batches; ++i) gpu::run(kStepKernel / micro_batches);
        report.kernel_ns = troupe::now().count() - start;
        report.micro_batches = micro_batches;
        break;
      } catch (const GpuOutOfMemory&) {
        if (!falls_back_) throw;  // the planted bug: the step fails
        // A neighbour holds memory: try again with half the batch.
      }
    }
    sys.get(server_.call(&ParameterServer::push, index_, number));
    return report;
  }
  Placement where() { return here(); }

 private:
  int index_;
  ActorHandle<ParameterServer> server_;
  bool falls_back_;
};
TROUPE_ACTOR(TrainingWorker, &TrainingWorker::step, &TrainingWorker::where);

// A co-tenant on each training GPU (an evaluation job loading a model): it takes a burst of
// device memory for a few milliseconds, gives it back, and starts again, until `until_ns`. Two
// workers' activations and one burst do not fit in a device together, so steps meet
// GpuOutOfMemory without any fault. A well-behaved tenant, it skips a burst that does not fit.
class Evaluator {
 public:
  int serve(int64_t until_ns) {
    int bursts = 0;
    while (troupe::now().count() < until_ns) {
      try {
        gpu::Allocation model = gpu::alloc(kActivationBytes);
        ++bursts;
        troupe::sleep(std::chrono::milliseconds(5 + troupe::random() % 10));
      } catch (const GpuOutOfMemory&) {
      }
      troupe::sleep(std::chrono::milliseconds(10 + troupe::random() % 20));
    }
    return bursts;
  }
};
TROUPE_ACTOR(Evaluator, &Evaluator::serve);

void training_driver(System& sys, Checks& checks, bool falls_back) {
  auto server = sys.spawn<ParameterServer>({.max_restarts = -1, .max_task_retries = -1});
  std::vector<ActorHandle<TrainingWorker>> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.push_back(
        sys.spawn<TrainingWorker>({.num_gpus = 0.4, .max_restarts = -1, .max_task_retries = -1}, w, server, falls_back));
  }
  // Two workers (0.4 each) fill device 0 of each node to 0.8; an evaluator (0.2) joins each pair.
  const int64_t serve_until = troupe::now().count() + (sys.platform().simulated() ? checks.fault_window_ns() : 100 * kMillisecond);
  std::vector<Ref<int>> serving;
  for (int e = 0; e < kWorkers / 2; ++e) {
    auto evaluator = sys.spawn<Evaluator>({.num_gpus = 0.2, .max_restarts = -1, .max_task_retries = -1});
    serving.push_back(evaluator.call(&Evaluator::serve, serve_until));
  }
  const Nanos exclusive = std::chrono::duration_cast<std::chrono::nanoseconds>(kStepKernel).count();
  const bool simulated = sys.platform().simulated();
  int rounds = 0;
  for (; keep_working(sys, checks, rounds); ++rounds) {
    for (int step = 1; step <= kSteps; ++step) {
      std::vector<Ref<StepReport>> refs;
      for (const auto& worker : workers) refs.push_back(worker.call(&TrainingWorker::step, rounds * kSteps + step));
      std::vector<StepReport> reports;
      try {
        reports = sys.get(refs);
      } catch (const TaskError& error) {
        checks.always("a training step survives GPU memory pressure", false, error.what());
        return;
      }
      for (const StepReport& report : reports) {
        checks.sometimes("a step fell back to smaller micro-batches after GpuOutOfMemory", report.micro_batches > 1);
        if (!simulated) continue;
        // Processor sharing: never faster than alone; never slower than two sharers under the
        // worst throttle (micro-batches add no work: each runs 1/k of the kernel).
        checks.always("a step's kernel never beats the device", report.kernel_ns >= exclusive,
                      fmt::format("{} ns for a {} ns kernel", report.kernel_ns, exclusive));
        const Nanos worst = exclusive * kSharers * (checks.faults_planned() ? kWorstSlowdown : 1);
        checks.always("a step's kernel gets its share of the device", report.kernel_ns <= worst,
                      fmt::format("{} ns for a {} ns kernel (at most {} ns)", report.kernel_ns, exclusive, worst));
      }
    }
  }
  int bursts = 0;
  for (int served : sys.get(serving)) bursts += served;
  checks.sometimes("the evaluators took memory beside the workers", bursts > 0);
  // Every worker pushes its final count again (the server may have restarted since) and the
  // server ends at exactly workers x steps.
  int total = 0;
  for (int w = 0; w < kWorkers; ++w) total = sys.get(server.call(&ParameterServer::push, w, rounds * kSteps));
  checks.always("the parameter server counts every step once", total == kWorkers * rounds * kSteps,
                fmt::format("got {}, expected {}", total, kWorkers * rounds * kSteps));
  for (int w = 0; w < kWorkers; ++w) {
    const Placement placed = sys.get(workers[w].call(&TrainingWorker::where));
    const bool lost = !placed.gpus.empty() && gpu_lost(sys, placed.node, placed.gpus[0]);
    checks.always("device loss restarts a worker on a healthy GPU", !lost,
                  fmt::format("worker {} is on GPU {} of n{}, which is lost", w, placed.gpus, placed.node));
    checks.sometimes("a worker was restarted", placed.restarts > 0);
  }
}

// ---------------------------------------------------------------------------------------------
// model_service

constexpr double kFlopsPerItem = 2e11;     // 2 ms per item on a 100 TFLOP/s device
constexpr Nanos kNanosPerItem = 2'000'000;
constexpr int kBatchItems = 4;

struct BatchResult {
  std::vector<std::string> predictions;
  Nanos start = 0;  // the kernel's start and end, in platform time
  Nanos end = 0;
  MSGPACK_DEFINE(predictions, start, end);
};

// The seed's ModelService, on a GPU.
class ModelService {
 public:
  explicit ModelService(std::string model_path) : model_("Model from " + model_path) {}
  std::string predict(const std::string& input) { return "Prediction for " + input; }
  BatchResult batch_predict(const std::vector<std::string>& inputs) {
    BatchResult result;
    result.start = troupe::now().count();
    gpu::run(gpu::Work{.flops = kFlopsPerItem * static_cast<double>(inputs.size())});
    result.end = troupe::now().count();
    for (const std::string& input : inputs) result.predictions.push_back(predict(input));
    return result;
  }
  std::string model() const { return model_; }

 private:
  std::string model_;
};
TROUPE_ACTOR(ModelService, &ModelService::predict, &ModelService::batch_predict, &ModelService::model);

void model_service_driver(System& sys, Checks& checks) {
  const ActorOptions options{.num_gpus = 0.5, .max_restarts = -1, .max_task_retries = -1};
  std::vector<ActorHandle<ModelService>> replicas = {sys.spawn<ModelService>(options, std::string("/models/my_model")),
                                                     sys.spawn<ModelService>(options, std::string("/models/my_model"))};
  checks.always("predict answers as the seed's",
                sys.get(replicas[0].call(&ModelService::predict, std::string("test_input"))) ==
                    "Prediction for test_input");
  // The exclusive time of a batch on a device of the default speed (sim::NodeOptions::gpu_flops).
  const auto exclusive_ns = [](size_t items) { return static_cast<Nanos>(items) * kNanosPerItem; };
  const bool exact = sys.platform().simulated() && !checks.faults_planned();
  for (int round = 0; keep_working(sys, checks, round); ++round) {
    if (round > 0) troupe::sleep(std::chrono::milliseconds(troupe::random() % 20));
    std::vector<std::vector<std::string>> batches;
    std::vector<Ref<BatchResult>> refs;
    for (size_t r = 0; r < replicas.size(); ++r) {
      std::vector<std::string> batch;
      const size_t items = 1 + (round + r) % kBatchItems;
      for (size_t i = 0; i < items; ++i) batch.push_back(fmt::format("r{}-{}-{}", round, r, i));
      refs.push_back(replicas[r].call(&ModelService::batch_predict, batch));
      batches.push_back(std::move(batch));
    }
    const std::vector<BatchResult> results = sys.get(refs);
    for (size_t r = 0; r < results.size(); ++r) {
      std::vector<std::string> expected;
      for (const std::string& input : batches[r]) expected.push_back("Prediction for " + input);
      checks.always("batch_predict answers every input, in order", results[r].predictions == expected,
                    fmt::format("got {}", results[r].predictions));
      if (!sys.platform().simulated()) continue;
      const Nanos took = results[r].end - results[r].start;
      const Nanos alone = exclusive_ns(batches[r].size());
      const Nanos worst = (alone + exclusive_ns(kBatchItems)) * (checks.faults_planned() ? kWorstSlowdown : 1);
      checks.always("a batch never beats the device", took >= alone, fmt::format("{} ns for {} ns of work", took, alone));
      checks.always("a batch gets its share of the device", took <= worst,
                    fmt::format("{} ns for {} ns of work (at most {} ns)", took, alone, worst));
    }
    if (!exact) continue;
    const BatchResult& first = results[0].start <= results[1].start ? results[0] : results[1];
    const BatchResult& second = &first == &results[0] ? results[1] : results[0];
    const Nanos total = exclusive_ns(batches[0].size()) + exclusive_ns(batches[1].size());
    if (second.start < first.end) {
      checks.sometimes("two batches shared the GPU", true);
      const Nanos last_end = std::max(first.end, second.end);
      checks.always("the shared GPU is work-conserving", last_end == first.start + total,
                    fmt::format("the last batch ended at {} ns, expected {} + {} ns", last_end, first.start, total));
    }
  }
}

// Two GPU nodes of two GPUs each: the workers and evaluators fill device 0 of each.
sim::ClusterShape training_cluster() {
  return {.nodes = {{.name = "head", .cpus = 8},
                    {.name = "gpu1", .cpus = 16, .gpus = 2},
                    {.name = "gpu2", .cpus = 16, .gpus = 2}}};
}

}  // namespace

void register_gpu(Registry& registry) {
  registry.add({
      .name = "gpu_packing",
      .summary = "0.6- and 0.5-GPU actors packed on 8 GPUs through crashes and a lost GPU; a 4-GPU actor stays "
                 "pending with its reason",
      .cluster = {.nodes = {{.name = "head", .cpus = 8},
                            {.name = "gpu1", .cpus = 16, .gpus = 3},
                            {.name = "gpu2", .cpus = 16, .gpus = 3},
                            {.name = "gpu3", .cpus = 16, .gpus = 2}}},
      .driver = packing_driver,
  });
  registry.add({
      .name = "gpu_training",
      .summary = "training workers sharing GPUs with a parameter server, through device loss and memory pressure",
      .cluster = training_cluster(),
      .driver = [](System& sys, Checks& checks) { training_driver(sys, checks, /*falls_back=*/true); },
  });
  registry.add({
      .name = "gpu_training.bug_no_oom_fallback",
      .summary = "planted bug: a training step lets GpuOutOfMemory escape instead of halving its micro-batch",
      .expect_fail = true,
      .cluster = training_cluster(),
      .driver = [](System& sys, Checks& checks) { training_driver(sys, checks, /*falls_back=*/false); },
  });
  registry.add({
      .name = "model_service",
      .summary = "the seed's ModelService: two replicas share a GPU; batch latency checked against the device model",
      .cluster = {.nodes = {{.name = "head", .cpus = 8}, {.name = "gpu1", .cpus = 16, .gpus = 2}}},
      .driver = model_service_driver,
  });
}

}  // namespace troupe::scenarios
