// ChaosKiller: chaos on a real cluster (troupe run --platform cluster --chaos-kills). At each
// scheduled time, counted on the driver's clock (ClusterPlatform::now), the head kills one live
// worker with SIGKILL (ClusterPlatform::chaos_kill), a real crash that the cluster detects like any
// other. Runs on its own thread from construction until stop() or destruction.
//
//   ChaosKiller killer(platform, {{.at_ns = 250 * kMillisecond, .pick = 3}}, &realized);
//   run_cluster_driver(platform, driver);   // realized: "crash at 0.250... s: SIGKILL of worker p7 (...)"
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/cluster/cluster_platform.h"

namespace troupe::cluster {

struct ScheduledKill {
  Nanos at_ns = 0;    // on the driver's clock
  uint64_t pick = 0;  // which live worker: pick modulo their number, in process id order
};

class ChaosKiller {
 public:
  // `kills` in time order. Each kill done appends one line to `realized`, which must outlive the
  // killer and is written only by it until stop() returns.
  ChaosKiller(ClusterPlatform& platform, std::vector<ScheduledKill> kills, std::vector<std::string>* realized);
  ~ChaosKiller();
  ChaosKiller(const ChaosKiller&) = delete;
  ChaosKiller& operator=(const ChaosKiller&) = delete;
  // Skips the kills not yet due and joins the thread. Idempotent.
  void stop();

 private:
  void run();

  ClusterPlatform& platform_;
  const std::vector<ScheduledKill> kills_;
  std::vector<std::string>* const realized_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace troupe::cluster
