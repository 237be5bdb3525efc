#include "runtime/real/memory_store.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "fmt/format.h"

namespace troupe {

MemoryStore::MemoryStore(MemoryStoreOptions options) : options_(options) { assert(options_.capacity_bytes >= 0); }

uint64_t MemoryStore::fence_of(std::string_view key) const {
  auto it = fences_.find(key);
  return it == fences_.end() ? 0 : it->second;
}

void MemoryStore::raise_fence(std::string_view key, uint64_t token) {
  if (token == 0) return;
  auto it = fences_.find(key);
  if (it == fences_.end()) it = fences_.emplace(std::string(key), 0).first;
  it->second = std::max(it->second, token);
}

absl::Status MemoryStore::put(std::string_view key, std::string value, StorageOperationOptions options) {
  if (absl::Status valid = validate_storage_key(key); !valid.ok()) return valid;
  if (absl::Status valid = validate_storage_value(key, value); !valid.ok()) return valid;
  const auto new_bytes = static_cast<int64_t>(key.size() + value.size());
  std::lock_guard lock(mutex_);
  if (const uint64_t fence = fence_of(key); !storage_fence_admits(options.fence, fence)) {
    return storage_fenced_error(options.fence, fence);
  }
  auto it = contents_.find(key);
  const int64_t old_bytes = it == contents_.end() ? 0 : static_cast<int64_t>(key.size() + it->second.size());
  if (bytes_ - old_bytes + new_bytes > options_.capacity_bytes) {
    return absl::ResourceExhaustedError(fmt::format("the store is full: {} + {} bytes would pass capacity_bytes ({})",
                                                    bytes_ - old_bytes, new_bytes, options_.capacity_bytes));
  }
  if (it == contents_.end()) {
    contents_.emplace(std::string(key), std::move(value));
  } else {
    it->second = std::move(value);
  }
  bytes_ += new_bytes - old_bytes;
  assert(bytes_ >= 0 && bytes_ <= options_.capacity_bytes);
  raise_fence(key, options.fence);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> MemoryStore::get(std::string_view key, StorageOperationOptions options) {
  if (absl::Status valid = validate_storage_key(key); !valid.ok()) return valid;
  std::lock_guard lock(mutex_);
  raise_fence(key, options.fence);
  auto it = contents_.find(key);
  if (it == contents_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

absl::Status MemoryStore::remove(std::string_view key, StorageOperationOptions options) {
  if (absl::Status valid = validate_storage_key(key); !valid.ok()) return valid;
  std::lock_guard lock(mutex_);
  if (const uint64_t fence = fence_of(key); !storage_fence_admits(options.fence, fence)) {
    return storage_fenced_error(options.fence, fence);
  }
  raise_fence(key, options.fence);
  auto it = contents_.find(key);
  if (it == contents_.end()) return absl::OkStatus();
  bytes_ -= static_cast<int64_t>(it->first.size() + it->second.size());
  contents_.erase(it);
  assert(bytes_ >= 0);
  return absl::OkStatus();
}

int64_t MemoryStore::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

}  // namespace troupe
