// MemoryStore: the threads platform's default object store, a map in memory behind a mutex.
//
// Durable for as long as the platform lives: it belongs to the ThreadsPlatform, not to a
// process, so a crashed process loses nothing it wrote (each put is applied before it returns)
// and a restarted actor reads its checkpoint back. It does not survive the OS process; use the
// file store (runtime/real/file_store.h) for that.
//
// Thread-safe: any number of fibers on any pool threads may call it at once; each operation is
// atomic and linearizable (one lock), fence check and update included (runtime/storage_service.h,
// "Fencing"). Operations do not park: they finish on the calling thread. Fences live in memory
// with the values and are not counted in capacity_bytes.
//
//   MemoryStore store({.capacity_bytes = 64 << 20});
//   absl::Status status = store.put("ckpt/a", "bytes");
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/storage_service.h"

namespace troupe {

struct MemoryStoreOptions {
  // Sum of key and value bytes held; a write beyond it fails with ResourceExhausted.
  int64_t capacity_bytes = int64_t{1} << 30;
};

class MemoryStore final : public StorageService {
 public:
  explicit MemoryStore(MemoryStoreOptions options = {});

  using StorageService::get;
  using StorageService::put;
  using StorageService::remove;
  absl::Status put(std::string_view key, std::string value, StorageOperationOptions options) override;
  absl::StatusOr<std::optional<std::string>> get(std::string_view key, StorageOperationOptions options) override;
  absl::Status remove(std::string_view key, StorageOperationOptions options) override;

  // Sum of key and value bytes held now.
  int64_t bytes() const;

 private:
  MemoryStoreOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string, std::less<>> contents_;  // guarded by mutex_
  int64_t bytes_ = 0;                                           // guarded by mutex_
  std::map<std::string, uint64_t, std::less<>> fences_;        // guarded by mutex_; never shrinks

  // The fence of `key` (0 if never fenced). REQUIRES: mutex_ held.
  uint64_t fence_of(std::string_view key) const;
  // Raises it to `token` (0 changes nothing). REQUIRES: mutex_ held.
  void raise_fence(std::string_view key, uint64_t token);
};

}  // namespace troupe
