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
// Crashes: the coordinator and its workers restart and retry forever (max_restarts = -1,
// max_task_retries = -1). A worker's restart is invisible (process() is pure, its id comes from
// its constructor). A coordinator's restart is not: its process owned the workers and the
// answers it handed out, so the workers die with it (the new incarnation creates new ones, and its
// round robin starts over at worker 0) and a driver still holding an answer's Ref gets
// Error("object lost: ... its owner p<N> died (...)"); a distribute call that was waiting for a
// worker that died with its owner fails with that cause. The driver resubmits such tasks.
//
// Checks, with exact values:
//   * the seed's run: Coordinator(num_workers=3), six tasks -> exactly "Worker 0 processed:
//     task_0", "Worker 1 processed: task_1", ..., "Worker 2 processed: task_5";
//   * waves of 7 to 15 tasks pipelined by the driver (all distribute calls in flight at once):
//     every task is processed (resubmitted if its coordinator died), and each answer names its
//     own task and a worker 0..2. The driver reads the coordinator's stats() (its incarnation and
//     how many distribute calls it has run) before and after a wave: when neither changed beyond
//     the wave's own calls (a clean wave: always so without injected faults), the k-th distribute
//     call of the incarnation went to worker k mod 3, since an async actor starts one caller's
//     calls in submission order;
//   * waves where two client actors distribute at once: no order across callers, but in a clean
//     wave each worker gets exactly the round-robin share of the wave's positions;
//   * failures are only the ones a coordinator's death explains ("its owner p<N> died"), and only
//     under injected faults.
// The driver works in rounds until the fault window has passed.
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

ActorOptions restarting_options() { return {.max_restarts = -1, .max_task_retries = -1}; }

// What the coordinator tells about itself: its incarnation and how many distribute calls it ran.
struct Stats {
  int incarnation = 0;
  int64_t distributed = 0;
  MSGPACK_DEFINE(incarnation, distributed);
};

class Coordinator {
 public:
  Coordinator(int num_workers, bool index_after_suspension) : index_after_suspension_(index_after_suspension) {
    for (int i = 0; i < num_workers; ++i) {
      workers_.push_back(this_actor::system().spawn<Worker>(restarting_options(), i));
    }
  }

  // Hands `data` to the next worker; returns that worker's Ref, as the seed does.
  Ref<std::string> distribute(std::string data) {
    ++distributed_;
    const size_t index = current_;
    if (!index_after_suspension_) current_ = (current_ + 1) % workers_.size();
    ++waiting_;
    max_waiting_ = std::max(max_waiting_, waiting_);
    (void)this_actor::system().get(workers_[index].call(&Worker::ready));  // a suspension
    --waiting_;
    if (index_after_suspension_) current_ = (index + 1) % workers_.size();  // BUG: another call ran meanwhile
    return workers_[index].call(&Worker::process, std::move(data));
  }
  Stats stats() const { return Stats{.incarnation = this_actor::restart_count(), .distributed = distributed_}; }
  // The most distribute calls that ever waited for their worker at once (this incarnation).
  int max_waiting() const { return max_waiting_; }

 private:
  const bool index_after_suspension_;
  std::vector<ActorHandle<Worker>> workers_;
  size_t current_ = 0;
  int64_t distributed_ = 0;
  int waiting_ = 0;
  int max_waiting_ = 0;
};
TROUPE_ACTOR(Coordinator, &Coordinator::distribute, &Coordinator::stats, &Coordinator::max_waiting);

ActorOptions coordinator_options() {
  return {.concurrency = Concurrency::kAsync,
          .max_concurrency = kCoordinatorConcurrency,
          .max_restarts = -1,
          .max_task_retries = -1};
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

// A failure a coordinator's death explains: its answer's owner, or the worker it waited for, died
// with its process.
bool died_with_owner(const std::string& what) { return what.find("its owner p") != std::string::npos; }

// The answers to `tasks`, distributed at once through `coordinator`: an answer, or the error text
// of a failed distribute or fetch.
struct Answers {
  std::vector<std::string> answers;  // "" where failed
  std::vector<std::string> errors;   // one per failed task
  std::vector<size_t> failed;        // their indices
};

Answers distribute_all(System& sys, ActorHandle<Coordinator> coordinator, const std::vector<std::string>& tasks) {
  std::vector<Ref<Ref<std::string>>> outer;
  for (const std::string& task : tasks) outer.push_back(coordinator.call(&Coordinator::distribute, task));
  Answers got;
  for (size_t j = 0; j < tasks.size(); ++j) {
    try {
      got.answers.push_back(sys.get(sys.get(outer[j])));
    } catch (const Error& e) {
      got.answers.emplace_back();
      got.errors.push_back(e.what());
      got.failed.push_back(j);
    }
  }
  return got;
}

// Resubmits each failed task alone until it is answered; returns the errors met.
std::vector<std::string> resubmit_failed(System& sys, ActorHandle<Coordinator> coordinator,
                                         const std::vector<std::string>& tasks, Answers& got) {
  std::vector<std::string> errors;
  for (size_t j : got.failed) {
    while (got.answers[j].empty()) {
      Answers again = distribute_all(sys, coordinator, {tasks[j]});
      got.answers[j] = again.answers[0];
      errors.insert(errors.end(), again.errors.begin(), again.errors.end());
    }
  }
  return errors;
}

// A client actor distributing tasks through the coordinator it was given.
struct ClientRun {
  std::vector<std::string> answers;  // in submission order
  std::vector<std::string> errors;   // of failed distributes (each resubmitted until answered)
  MSGPACK_DEFINE(answers, errors);
};

class Client {
 public:
  Client(ActorHandle<Coordinator> coordinator, int id) : coordinator_(coordinator), id_(id) {}
  // Distributes `count` tasks named "c<id>.r<round>.t<j>", all in flight at once.
  ClientRun run(int round, int count) {
    std::vector<std::string> tasks;
    for (int j = 0; j < count; ++j) tasks.push_back(fmt::format("c{}.r{}.t{}", id_, round, j));
    Answers got = distribute_all(this_actor::system(), coordinator_, tasks);
    std::vector<std::string> errors = resubmit_failed(this_actor::system(), coordinator_, tasks, got);
    errors.insert(errors.begin(), got.errors.begin(), got.errors.end());
    return ClientRun{.answers = std::move(got.answers), .errors = std::move(errors)};
  }

 private:
  ActorHandle<Coordinator> coordinator_;
  int id_;
};
TROUPE_ACTOR(Client, &Client::run);

// Checks that every error is one a coordinator's death explains, under injected faults.
bool check_errors(Checks& checks, const std::vector<std::string>& errors, std::string_view where) {
  for (const std::string& error : errors) {
    if (!checks.always("a task fails only when its coordinator died, under injected faults",
                       checks.faults_planned() && died_with_owner(error), fmt::format("{}: {}", where, error))) {
      return false;
    }
  }
  return true;
}

// Whether the coordinator ran exactly `calls` distribute calls, on one incarnation, between two
// stats() (a clean wave); without injected faults every wave must be.
bool clean_between(Checks& checks, const Stats& before, const Stats& after, int64_t calls, bool failures,
                   std::string_view where) {
  const bool clean = !failures && before.incarnation == after.incarnation &&
                     after.distributed - before.distributed == calls;
  checks.always("without injected faults every wave is clean", clean || checks.faults_planned(),
                fmt::format("{}: incarnation {} -> {}, distributed {} -> {} for {} calls", where, before.incarnation,
                            after.incarnation, before.distributed, after.distributed, calls));
  checks.sometimes("a wave was disturbed by a coordinator restart", before.incarnation != after.incarnation);
  return clean;
}

// Distributes `tasks` from the driver, pipelined. Each answer must name its task and a worker; in
// a clean wave, the worker at round-robin position before.distributed + j. Returns false on a
// failed check.
bool driver_wave(System& sys, Checks& checks, ActorHandle<Coordinator> coordinator,
                 const std::vector<std::string>& tasks, std::string_view what) {
  const Stats before = sys.get(coordinator.call(&Coordinator::stats));
  Answers got = distribute_all(sys, coordinator, tasks);
  const Stats after = sys.get(coordinator.call(&Coordinator::stats));
  const bool clean = clean_between(checks, before, after, static_cast<int64_t>(tasks.size()), !got.failed.empty(),
                                   what);
  if (!check_errors(checks, got.errors, what)) return false;
  const std::vector<std::string> errors = resubmit_failed(sys, coordinator, tasks, got);
  if (!check_errors(checks, errors, what)) return false;
  checks.sometimes("a task was resubmitted after its coordinator died", !got.failed.empty());
  for (size_t j = 0; j < tasks.size(); ++j) {
    const int worker = worker_of(got.answers[j]);
    if (!checks.always("every task is processed by a worker, its answer in submission order",
                       worker >= 0 && worker < kNumWorkers && got.answers[j] == expected_result(worker, tasks[j]),
                       fmt::format("{}: {} got \"{}\"", what, tasks[j], got.answers[j]))) {
      return false;
    }
  }
  if (!clean) return true;
  std::vector<std::string> want;
  for (size_t j = 0; j < tasks.size(); ++j) {
    const int64_t position = before.distributed + static_cast<int64_t>(j);
    want.push_back(expected_result(static_cast<int>(position % kNumWorkers), tasks[j]));
  }
  return checks.always(what, got.answers == want,
                       fmt::format("from position {} of incarnation {}: expected {}, got {}", before.distributed,
                                   before.incarnation, want, got.answers));
}

// Two clients distribute at once. In a clean wave each worker gets exactly the round-robin share
// of the positions the wave used.
bool clients_wave(System& sys, Checks& checks, ActorHandle<Coordinator> coordinator,
                  const std::vector<ActorHandle<Client>>& clients, int round) {
  const Stats before = sys.get(coordinator.call(&Coordinator::stats));
  std::vector<Ref<ClientRun>> runs;
  for (const ActorHandle<Client>& client : clients) runs.push_back(client.call(&Client::run, round, kClientTasks));
  std::vector<ClientRun> done = sys.get(runs);
  const Stats after = sys.get(coordinator.call(&Coordinator::stats));
  const int64_t calls = static_cast<int64_t>(clients.size()) * kClientTasks;
  bool failures = false;
  std::array<int, kNumWorkers> got_share{};
  for (size_t c = 0; c < done.size(); ++c) {
    const std::string where = fmt::format("client {} in round {}", c, round);
    if (!check_errors(checks, done[c].errors, where)) return false;
    failures = failures || !done[c].errors.empty();
    for (size_t j = 0; j < done[c].answers.size(); ++j) {
      const int worker = worker_of(done[c].answers[j]);
      const std::string task = fmt::format("c{}.r{}.t{}", c, round, j);
      if (!checks.always("every task is processed by a worker, its answer in submission order",
                         worker >= 0 && worker < kNumWorkers && done[c].answers[j] == expected_result(worker, task),
                         fmt::format("{}: {} got \"{}\"", where, task, done[c].answers[j]))) {
        return false;
      }
      ++got_share[static_cast<size_t>(worker)];
    }
  }
  if (!clean_between(checks, before, after, calls, failures, "concurrent clients")) return true;
  std::array<int, kNumWorkers> want_share{};
  for (int64_t k = before.distributed; k < before.distributed + calls; ++k) {
    ++want_share[static_cast<size_t>(k % kNumWorkers)];
  }
  return checks.always("concurrent clients: each worker gets its round-robin share", got_share == want_share,
                       fmt::format("from position {}: tasks per worker {}, expected {}", before.distributed,
                                   got_share, want_share));
}

void coordinator_driver(System& sys, Checks& checks, bool index_after_suspension) {
  // The seed's run.
  auto coordinator = sys.spawn<Coordinator>(coordinator_options(), kNumWorkers, index_after_suspension);
  std::vector<std::string> seed_tasks;
  for (int i = 0; i < kSeedTasks; ++i) seed_tasks.push_back(task_name(i));
  if (!driver_wave(sys, checks, coordinator, seed_tasks, "the seed's six tasks go to workers 0,1,2,0,1,2")) return;

  std::vector<ActorHandle<Client>> clients;
  for (int c = 0; c < kClients; ++c) clients.push_back(sys.spawn<Client>(restarting_options(), coordinator, c));
  int task = kSeedTasks;
  for (int round = 0; keep_working(sys, checks, round); ++round) {
    if (round > 0) troupe::sleep(std::chrono::milliseconds(100 + troupe::random() % 150));
    std::vector<std::string> tasks;
    const int count = kRoundTasksMin + static_cast<int>(troupe::random() % kRoundTasksSpread);
    for (int j = 0; j < count; ++j) tasks.push_back(task_name(task++));
    if (!driver_wave(sys, checks, coordinator, tasks,
                     "pipelined tasks go to the round-robin workers of the coordinator's incarnation")) {
      return;
    }
    if (!clients_wave(sys, checks, coordinator, clients, round)) return;
  }
  checks.sometimes("several distribute calls waited for their workers at once",
                   sys.get(coordinator.call(&Coordinator::max_waiting)) >= 2);
}

}  // namespace

void register_coordinator_workers(Registry& registry) {
  registry.add({.name = "coordinator_workers",
                .summary = "the seed's Coordinator(3 workers): exact round robin through returned worker refs, restarts, resubmission",
                .driver = [](System& sys, Checks& checks) { coordinator_driver(sys, checks, false); },
                .buggify_sites = {std::string(kSlowReadySite)}});
  registry.add({.name = "coordinator_workers.bug_index_after_suspension",
                .summary = "the round-robin index is stored after a suspension: concurrent calls pick the same worker",
                .expect_fail = true,
                .driver = [](System& sys, Checks& checks) { coordinator_driver(sys, checks, true); },
                .buggify_sites = {std::string(kSlowReadySite)}});
}

}  // namespace troupe::scenarios
