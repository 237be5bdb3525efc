// sim::Storage: the simulated cluster object store — latency, durability at acknowledgement, and
// the storage faults of a fault plan.
//
// Owned by the World (World::storage(), Platform::storage()); it outlives every process and node,
// so its contents survive crashes. Each operation issued from a fiber takes a latency,
// `write_latency_ns` (put, remove) or `read_latency_ns` (get), plus uniform jitter in
// [0, jitter_ns], drawn from the store's own stream when it is issued. The calling fiber parks
// until then. At that instant, the acknowledgement, the operation takes effect and answers:
//   * a write becomes durable and visible to every get acknowledged later, never earlier;
//   * a get reads the contents as they are then;
//   * a write whose writer process has died in the meantime is dropped: never applied;
//   * fencing (runtime/storage_service.h, "Fencing") is checked and applied then too: a fenced
//     get raises the key's fence at its acknowledgement, and a fenced write is refused if its
//     token is below the fence as it is at the write's acknowledgement (not when it was
//     issued). So of a fenced get and an older writer's put in flight together, whichever is
//     acknowledged first wins: the put is applied and read, or refused.
//
// Faults (inject_fault; faults/injector.cc applies a plan's StorageFault with it): while a fault
// is active, at each acknowledgement
//   1. the operation fails with probability error_rate: Unavailable (transient). A failed write
//      was applied or not with probability 1/2 each (the error came before the store took it, or
//      the acknowledgement was lost after), so the writer is told it MAY have been applied; a
//      failed fenced get likewise raised the fence or not, 1/2 each (an unfenced get draws
//      nothing here). A write "applied" this way still obeys the fence;
//   2. otherwise a write is lost with probability loss_rate: it is not applied, and the writer
//      gets Aborted ("lost before it was acknowledged; not applied"). Never a success for a write
//      that did not happen.
// Overlapping faults combine as independent events (rate = 1 - product of (1 - rate_i)). Draws
// happen only when a rate is non-zero, so a run without storage faults draws only latencies.
//
// Trace: every operation records a kStorage event when issued ("put #3 ckpt/a (12B)") and when
// acknowledged ("put #3 ckpt/a: ok"); every failure or loss (injected, or a dead writer) records a
// kStorageFailure event instead of the acknowledgement; inject_fault records a kFault event. A
// fenced operation names its token ("put #3 ckpt/a fence 2"); a refused one records
// kStorageFailure "put #3 ckpt/a fence 2: rejected: fenced: token 2 is below the key's fence 3".
//
// Deterministic: single-threaded like its World, ordered containers only, one forked Rng.
//
//   sim::World world({.seed = 7, .storage = {.write_latency_ns = 2 * kMillisecond}});
//   world.storage().inject_fault({.error_rate = 0.5, .loss_rate = 0, .until = 10 * kMillisecond});
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/random.h"
#include "runtime/ids.h"
#include "runtime/storage_service.h"

namespace troupe::sim {

class World;

// The Rng stream of the store, forked from the World's root (runtime/core/random.h lists the others).
inline constexpr uint64_t kStreamStorage = 5;

struct StorageOptions {
  Nanos write_latency_ns = kMillisecond;
  Nanos read_latency_ns = 500 * kMicrosecond;
  Nanos jitter_ns = 200 * kMicrosecond;
  // Sum of key and value bytes held; a write beyond it fails with ResourceExhausted.
  int64_t capacity_bytes = int64_t{1} << 30;
};

// One active storage fault. Rates in [0, 1].
struct StorageFaultWindow {
  double error_rate = 0;
  double loss_rate = 0;
  Nanos until = 0;  // the fault is active while now < until
};

class Storage final : public StorageService {
 public:
  // REQUIRES: `world` outlives this store (the World owns it).
  Storage(World& world, StorageOptions options, Rng rng);
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // StorageService. REQUIRES: called on a fiber of `world`.
  using StorageService::get;
  using StorageService::put;
  using StorageService::remove;
  absl::Status put(std::string_view key, std::string value, StorageOperationOptions options) override;
  absl::StatusOr<std::optional<std::string>> get(std::string_view key, StorageOperationOptions options) override;
  absl::Status remove(std::string_view key, StorageOperationOptions options) override;

  // Starts a fault (see the header comment); it ends at window.until. Records a kFault event.
  void inject_fault(StorageFaultWindow window);

  // The durable contents, for tests and checks: no latency, no faults, no trace.
  std::optional<std::string> peek(std::string_view key) const;
  // The key's fence (0 if it was never fenced), for tests and checks.
  uint64_t peek_fence(std::string_view key) const;
  size_t size() const { return contents_.size(); }
  int64_t bytes() const { return bytes_; }
  const StorageOptions& options() const { return options_; }

 private:
  enum class Op : uint8_t { kPut, kGet, kRemove };
  struct Pending;

  // Issues one operation from the current fiber and parks it until the acknowledgement.
  absl::StatusOr<std::optional<std::string>> run(Op op, std::string_view key, std::optional<std::string> value,
                                                 uint64_t fence);
  void acknowledge(Pending& pending);
  // The combined rates of the faults active now (expired ones are dropped).
  StorageFaultWindow active_faults();
  absl::Status apply(const Pending& pending);
  // Raises the key's fence to `token` (never lowers it; 0 changes nothing).
  void raise_fence(const std::string& key, uint64_t token);

  World& world_;
  StorageOptions options_;
  Rng rng_;
  std::map<std::string, std::string, std::less<>> contents_;  // ordered, as every map of the simulator
  int64_t bytes_ = 0;
  std::map<std::string, uint64_t, std::less<>> fences_;  // keys ever fenced; never shrinks
  std::vector<StorageFaultWindow> faults_;  // in injection order
  uint64_t next_operation_ = 1;
};

}  // namespace troupe::sim
