#include "runtime/cluster/chaos.h"

#include <chrono>

#include "fmt/format.h"

namespace troupe::cluster {

ChaosKiller::ChaosKiller(ClusterPlatform& platform, std::vector<ScheduledKill> kills, std::vector<std::string>* realized)
    : platform_(platform), kills_(std::move(kills)), realized_(realized) {
  if (!kills_.empty()) thread_ = std::thread([this] { run(); });
}

ChaosKiller::~ChaosKiller() { stop(); }

void ChaosKiller::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ChaosKiller::run() {
  std::unique_lock lock(mutex_);
  for (const ScheduledKill& kill : kills_) {
    const Nanos wait = kill.at_ns - platform_.now();
    if (wait > 0 && changed_.wait_for(lock, std::chrono::nanoseconds(wait), [this] { return stopping_; })) return;
    if (stopping_) return;
    lock.unlock();
    absl::StatusOr<std::string> killed = platform_.chaos_kill(kill.pick);
    const Nanos now = platform_.now();
    const std::string when = fmt::format("{}.{:09d} s", now / kSecond, now % kSecond);
    if (!killed.ok()) {
      realized_->push_back(fmt::format("crash at {}: not applied ({})", when, std::string(killed.status().message())));
    } else if (killed->empty()) {
      realized_->push_back(fmt::format("crash at {}: no worker was alive", when));
    } else {
      realized_->push_back(fmt::format("crash at {}: SIGKILL of worker {}", when, *killed));
    }
    lock.lock();
  }
}

}  // namespace troupe::cluster
