#include "runtime/real/threads_store.h"

#include "runtime/real/file_store.h"
#include "runtime/real/memory_store.h"

namespace troupe {

std::unique_ptr<StorageService> make_threads_store(const ThreadsStorageOptions& options) {
  if (options.directory.empty()) {
    return std::make_unique<MemoryStore>(MemoryStoreOptions{.capacity_bytes = options.memory_capacity_bytes});
  }
  return std::make_unique<FileStore>(FileStoreOptions{.directory = options.directory});
}

}  // namespace troupe
