// coordinator_workers: the seed's Coordinator and Workers (Ray actors guide, "Actor 间调用"). The
// Coordinator creates num_workers Workers in its constructor (it owns them) and distribute(data)
// hands each task to the next worker, round robin, returning the worker's Ref as the seed does
// (`return worker.process.remote(data)`): the driver gets a Ref<Ref<std::string>>, gets the
// inner Ref from it and then the worker's answer, "Worker 1 processed: task_1", from the
// coordinator, which owns it. Workers may still be starting when the first tasks arrive, so
// distribute waits until its chosen worker answers ready() before handing it the task: a
// suspension, and the coordinator is async (max_concurrency 8), so several distribute calls wait
// at once. It advances its round-robin index before it suspends.
//
// Checks, with exact values:
//   * the seed's run: Coordinator(num_workers=3), six tasks -> exactly "Worker 0 processed:
//     task_0", "Worker 1 processed: task_1", ..., "Worker 2 processed: task_5";
//   * rounds of 7 to 15 tasks pipelined by the driver (all distribute calls in flight at once):
//     every task is processed, the results come back in submission order, and the k-th
//     distribute call ever made (the driver counts them) is processed by worker k mod 3, since an
//     async actor starts one caller's calls in submission order;
//   * rounds where two client actors distribute at once: there is no order across callers, but
//     each worker gets exactly as many of the round's tasks as the round-robin positions name
//     (from the driver's count), and each answer names its own task.
// The driver works in rounds until the fault window has passed. Plain actors without restarts or
// retries: the scenario tolerates delay faults (kDelayFaults).
//
// coordinator_workers.bug_index_after_suspension: distribute reads the index, waits for the
// worker's ready(), and only then stores index + 1. Two distribute calls that wait at the same
// time pick the same worker, and the round robin skips another.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/troupe.h"
#include "scenarios/scenario.h"

namespace troupe::scenarios {
namespace {

constexpr int kNumWorkers = 3;
constexpr int kSeedTasks = 6;
constexpr int kRoundTasksMin = 7;
constexpr int kRoundTasksSpread = 9;  // 7 to 15 tasks per driver round
constexpr int kClients = 2;
constexpr int kClientTasks = 6;
constexpr int kCoordinatorConcurrency = 8;
constexpr std::string_view kSlowReadySite = "coordinator_workers.worker.slow_ready";

class Worker {
 public:
  explicit Worker(int worker_id) : worker_id_(worker_id) {}
  std::string process(std::string data) { return fmt::format("Worker {} processed: {}", worker_id_, data); }
  // Answers once the worker runs (the coordinator's readiness check).
  bool ready() {
    if (buggify(kSlowReadySite)) troupe::sleep(std::chrono::microseconds(troupe::random() % 400));
    return true;
  }

 private:
  int worker_id_;
};
TROUPE_ACTOR(Worker, &Worker::process, &Worker::ready);

class Coordinator {
 public:
  Coordinator(int num_workers, bool index_after_suspension) : index_after_suspension_(index_after_suspension) {
    for (int i = 0; i < num_workers; ++i) workers_.push_back(this_actor::system().spawn<Worker>({}, i));
  }

  // Hands `data` to the next worker; returns that worker's Ref, as the seed does.
  Ref<std::string> distribute(std::string data) {
    const size_t index = current_;
    if (!index_after_suspension_) current_ = (current_ + 1) % workers_.size();
    ++waiting_;
    max_waiting_ = std::max(max_waiting_, waiting_);
    (void)this_actor::system().get(workers_[index].call(&Worker::ready));  // a suspension
    --waiting_;
    if (index_after_suspension_) current_ = (index + 1) % workers_.size();  // BUG: another call ran meanwhile
    return workers_[index].call(&Worker::process, std::move(data));
  }
  // The most distribute calls that ever waited for their worker at once.
  int max_waiting() const { return max_waiting_; }

 private:
  const bool index_after_suspension_;
  std::vector<ActorHandle<Worker>> workers_;
  size_t current_ = 0;
  int waiting_ = 0;
  int max_waiting_ = 0;
};
TROUPE_ACTOR(Coordinator, &Coordinator::distribute, &Coordinator::max_waiting);

ActorOptions coordinator_options() {
  return {.concurrency = Concurrency::kAsync, .max_concurrency = kCoordinatorConcurrency};
}

std::string task_name(int task) { return fmt::format("task_{}", task); }
std::string expected_result(int worker, const std::string& data) {
  return fmt::format("Worker {} processed: {}", worker, data);
}

// The worker id in "Worker 1 processed: ...", or -1.
int worker_of(const std::string& result) {
  int worker = -1;
  if (std::sscanf(result.c_str(), "Worker %d processed:", &worker) != 1) return -1;
  return worker;
}

// A client actor distributing tasks through the coordinator it was given.
class Client {
 public:
  Client(ActorHandle<Coordinator> coordinator, int id) : coordinator_(coordinator), id_(id) {}
  // Distributes `count` tasks named "c<id>.r<round>.t<j>", all in flight at once; returns the
  // answers in submission order.
  std::vector<std::string> run(int round, int count) {
    System& sys = this_actor::system();
    std::vector<Ref<Ref<std::string>>> outer;
    for (int j = 0; j < count; ++j) {
      outer.push_back(coordinator_.call(&Coordinator::distribute, fmt::format("c{}.r{}.t{}", id_, round, j)));
    }
    std::vector<std::string> results;
    for (const Ref<std::string>& inner : sys.get(outer)) results.push_back(sys.get(inner));
    return results;
  }

 private:
  ActorHandle<Coordinator> coordinator_;
  int id_;
};
TROUPE_ACTOR(Client, &Client::run);

// Distributes `tasks` from the driver, pipelined; checks each answer names its task and the
// worker at round-robin position `position` + j. Returns false on a failed check.
bool driver_round(System& sys, Checks& checks, ActorHandle<Coordinator> coordinator,
                  const std::vector<std::string>& tasks, int64_t position, std::string_view what) {
  std::vector<Ref<Ref<std::string>>> outer;
  for (const std::string& task : tasks) outer.push_back(coordinator.call(&Coordinator::distribute, task));
  std::vector<Ref<std::string>> inner = sys.get(outer);
  std::vector<std::string> got = sys.get(inner);
  std::vector<std::string> want;
  for (size_t j = 0; j < tasks.size(); ++j) {
    want.push_back(expected_result(static_cast<int>((position + static_cast<int64_t>(j)) % kNumWorkers), tasks[j]));
  }
  return checks.always(what, got == want, fmt::format("expected {}, got {}", want, got));
}

// Two clients distribute at once. Each worker must get exactly the round-robin share of the
// positions [position, position + total); each client's tasks must land in increasing positions.
bool clients_round(System& sys, Checks& checks, const std::vector<ActorHandle<Client>>& clients, int round,
                   int64_t position) {
  std::vector<Ref<std::vector<std::string>>> runs;
  for (const ActorHandle<Client>& client : clients) runs.push_back(client.call(&Client::run, round, kClientTasks));
  std::array<int, kNumWorkers> got_share{};
  std::array<int, kNumWorkers> want_share{};
  for (int64_t k = position; k < position + kClients * kClientTasks; ++k) ++want_share[static_cast<size_t>(k % kNumWorkers)];
  bool ok = true;
  for (size_t c = 0; c < clients.size(); ++c) {
    std::vector<std::string> results = sys.get(runs[c]);
    for (size_t j = 0; j < results.size(); ++j) {
      const int worker = worker_of(results[j]);
      const std::string task = fmt::format("c{}.r{}.t{}", c, round, j);
      ok = ok && checks.always("a client's task is processed by a worker, in submission order",
                               worker >= 0 && worker < kNumWorkers && results[j] == expected_result(worker, task),
                               fmt::format("client {} task {}: got \"{}\"", c, j, results[j]));
      if (worker >= 0 && worker < kNumWorkers) ++got_share[static_cast<size_t>(worker)];
    }
  }
  return ok && checks.always("concurrent clients: each worker gets its round-robin share", got_share == want_share,
                             fmt::format("from position {}: tasks per worker {}, expected {}", position,
                                         got_share, want_share));
}

void coordinator_driver(System& sys, Checks& checks, bool index_after_suspension) {
  // The seed's run.
  auto coordinator = sys.spawn<Coordinator>(coordinator_options(), kNumWorkers, index_after_suspension);
  std::vector<std::string> seed_tasks;
  for (int i = 0; i < kSeedTasks; ++i) seed_tasks.push_back(task_name(i));
  if (!driver_round(sys, checks, coordinator, seed_tasks, 0, "the seed's six tasks go to workers 0,1,2,0,1,2")) return;
  int64_t position = kSeedTasks;

  std::vector<ActorHandle<Client>> clients;
  for (int c = 0; c < kClients; ++c) clients.push_back(sys.spawn<Client>({}, coordinator, c));
  int task = kSeedTasks;
  for (int round = 0; keep_working(sys, checks, round); ++round) {
    if (round > 0) troupe::sleep(std::chrono::milliseconds(100 + troupe::random() % 150));
    std::vector<std::string> tasks;
    const int count = kRoundTasksMin + static_cast<int>(troupe::random() % kRoundTasksSpread);
    for (int j = 0; j < count; ++j) tasks.push_back(task_name(task++));
    if (!driver_round(sys, checks, coordinator, tasks, position,
                      "pipelined tasks are processed in order by the round-robin worker")) {
      return;
    }
    position += count;
    if (!clients_round(sys, checks, clients, round, position)) return;
    position += kClients * kClientTasks;
  }
  checks.sometimes("several distribute calls waited for their workers at once",
                   sys.get(coordinator.call(&Coordinator::max_waiting)) >= 2);
}

}  // namespace

void register_coordinator_workers(Registry& registry) {
  registry.add({.name = "coordinator_workers",
                .summary = "the seed's Coordinator(3 workers): exact round robin, returned worker refs, concurrent clients",
                .driver = [](System& sys, Checks& checks) { coordinator_driver(sys, checks, false); },
                .buggify_sites = {std::string(kSlowReadySite)},
                .tolerates = kDelayFaults});
  registry.add({.name = "coordinator_workers.bug_index_after_suspension",
                .summary = "the round-robin index is stored after a suspension: concurrent calls pick the same worker",
                .expect_fail = true,
                .driver = [](System& sys, Checks& checks) { coordinator_driver(sys, checks, true); },
                .buggify_sites = {std::string(kSlowReadySite)},
                .tolerates = kDelayFaults});
}

}  // namespace troupe::scenarios
