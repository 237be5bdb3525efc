// The object store of the threads platform (ThreadsPlatformOptions::storage): in memory by
// default (runtime/real/memory_store.h), or a directory of files (runtime/real/file_store.h)
// when `directory` is set.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/storage_service.h"

namespace troupe {

struct ThreadsStorageOptions {
  // Empty: keep objects in memory, for the platform's lifetime. Otherwise: one file per key in
  // this directory (created if missing), durable across runs.
  std::string directory{};
  // The in-memory store's capacity (sum of key and value bytes).
  int64_t memory_capacity_bytes = int64_t{1} << 30;
};

// The store `options` describe.
std::unique_ptr<StorageService> make_threads_store(const ThreadsStorageOptions& options);

}  // namespace troupe
