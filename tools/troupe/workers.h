// Worker processes for `troupe run --jobs N`: seeds run in forked children, results come back
// over pipes.
//
// Each worker is a fork() of the sweeping process (which has started no thread, so the fork is
// safe), so it has the same registry and command without any re-parsing. The parent hands a
// worker one SeedUnit (a scenario and a run of seeds) at a time over its command pipe; the worker
// runs the seeds in order and writes one frame per seed and a final "unit done" frame on its
// result pipe. The parent owns the order in which results are folded (sweep.cc folds them by
// seed), so output, counts and hashes do not depend on which worker ran what.
//
// Failure handling:
//   * a worker that dies (a scenario that aborts, an OOM kill) is reported as a kDied event
//     naming the seed it was running (the first seed of its unit it had not reported) and the
//     signal or exit status; the pool starts a replacement and the sweep re-queues the rest;
//   * SIGINT (Ctrl-C) reaches the workers through the terminal's process group, or through
//     interrupt(): a worker finishes the seed it is running, reports it, ends the unit early and
//     waits for the parent to close its pipe;
//   * a worker whose parent dies is killed (PR_SET_PDEATHSIG), so no child outlives a sweep.
//
// Not thread-safe: one sweep drives one pool. Linux only (fork, pipes, prctl).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/troupe/seed_result.h"

namespace troupe::cli {

// The most worker processes --jobs accepts.
inline constexpr int kMaxJobs = 256;

// Seeds first..last (inclusive) of the scenario with index `scenario` in the sweep's selection.
struct SeedUnit {
  uint32_t scenario = 0;
  uint64_t first = 0;
  uint64_t last = 0;
};

struct WorkerEvent {
  enum class Kind { kResult, kUnitDone, kDied };
  Kind kind = Kind::kResult;
  int worker = 0;
  uint32_t scenario = 0;
  SeedResult result;  // kResult
  // kDied: the seeds of the unit the worker had not reported (`unit.first` is the seed it was
  // running), and what ended it ("killed by signal 6 (Aborted)").
  SeedUnit unit;
  std::string why;
};

class WorkerPool {
 public:
  // Runs one seed of one scenario, in a worker.
  using Compute = std::function<SeedResult(uint32_t scenario, uint64_t seed)>;

  // Forks `jobs` workers (1..kMaxJobs). Flush stdio buffers before calling: children inherit them.
  static absl::StatusOr<std::unique_ptr<WorkerPool>> start(int jobs, Compute compute);
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  // Closes the pipes, kills workers still running and reaps them all.
  ~WorkerPool();

  int idle_count() const;
  int busy_count() const;
  // Gives `unit` to an idle worker. REQUIRES: idle_count() > 0.
  void assign(const SeedUnit& unit);
  // Blocks until at least one worker reports; returns every event read. Returns an empty list when
  // a signal interrupted the wait (the caller checks its interrupt flag). A pipe error is Internal.
  absl::StatusOr<std::vector<WorkerEvent>> wait();
  // Sends SIGINT to every worker: each ends its unit after the seed it is running.
  void interrupt();

 private:
  struct Worker {
    pid_t pid = -1;
    int command_fd = -1;  // parent writes units
    int result_fd = -1;   // parent reads frames
    bool busy = false;
    SeedUnit unit;        // while busy: the seeds not yet reported
    bool all_reported = false;  // the unit's last seed was reported (only "unit done" is due)
    std::string buffer;   // bytes read but not yet parsed
  };

  explicit WorkerPool(Compute compute) : compute_(std::move(compute)) {}
  absl::Status spawn(Worker& worker);
  // Parses complete frames of `worker.buffer` into events.
  absl::Status parse_frames(int index, std::vector<WorkerEvent>& events);
  // The worker ended (EOF on its pipe): reaps it, reports kDied if it was busy, starts another.
  absl::Status handle_exit(int index, std::vector<WorkerEvent>& events);

  Compute compute_;
  std::vector<Worker> workers_;
};

}  // namespace troupe::cli
