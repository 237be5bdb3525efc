// StorageService: the cluster's durable object store, as the platform provides it.
//
// This is the seam behind the public storage API (runtime/storage.h): the simulator implements it
// with latency, faults and a seeded stream (sim/storage.h), the threads platform with an
// in-memory or a file-backed store (runtime/real/memory_store.h, runtime/real/file_store.h). A
// Platform hands out its one store through Platform::storage(); the store belongs to the
// platform, not to any process, so its contents survive process and node crashes.
//
// Semantics shared by every implementation (docs/semantics.md, "Storage"):
//   * put, get and remove block the calling fiber until the store answers; each takes effect at
//     one instant, when it is acknowledged. A write is visible to every later get once it has
//     been acknowledged, never before.
//   * A write whose writer crashes before the acknowledgement is lost (never applied).
//   * Failures are values. The code says what the caller may assume about a write:
//       InvalidArgument    bad key or value size (see validate_storage_key); nothing applied
//       ResourceExhausted  the store is full (its capacity_bytes); nothing applied
//       Aborted            the write was lost before its acknowledgement; it was NOT applied
//       Unavailable        transient failure; a write MAY have been applied
//       Internal           an I/O error of the file store; a write MAY have been applied
//     storage_write_may_have_applied() reads that table.
//
// Keys are 1 to kStorageKeyBytesMax bytes of printable ASCII (0x20 to 0x7E), '/' included;
// values are at most kStorageValueBytesMax bytes. Both limits are the same on every platform.
//
//   absl::Status status = platform.storage().put("ckpt/a2.1", bytes);
//   if (absl::IsUnavailable(status)) { ... retry: the write may or may not be there ... }
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace troupe {

// The longest key, in bytes. The file store escapes each key into one file name of at most
// 3 bytes per key byte, so 80 keeps every name under the 255-byte limit of common file systems.
inline constexpr size_t kStorageKeyBytesMax = 80;
// The largest value, in bytes.
inline constexpr size_t kStorageValueBytesMax = size_t{4} << 20;

// OK, or InvalidArgument saying which rule `key` breaks (empty, too long, a byte that is not
// printable ASCII, with its offset and hex value).
absl::Status validate_storage_key(std::string_view key);

// OK, or InvalidArgument naming the limit when `value` is larger than kStorageValueBytesMax.
absl::Status validate_storage_value(std::string_view key, std::string_view value);

// `key` as it appears in messages: bytes outside printable ASCII and the backslash as \xNN, and
// a key longer than kStorageKeyBytesMax cut to its first 32 bytes and "...".
std::string describe_storage_key(std::string_view key);

// True when a failed write (put or remove) with this status may nevertheless have been applied:
// Unavailable and Internal. False for OK (it was applied, not "may") and every other code.
bool storage_write_may_have_applied(const absl::Status& status);

class StorageService {
 public:
  virtual ~StorageService() = default;

  // Stores `value` under `key`, replacing any previous value, and returns once it is durable.
  // REQUIRES: called on a fiber of the platform that owns this store.
  [[nodiscard]] virtual absl::Status put(std::string_view key, std::string value) = 0;

  // The value under `key`, or nullopt when there is none.
  // REQUIRES: called on a fiber of the platform that owns this store.
  [[nodiscard]] virtual absl::StatusOr<std::optional<std::string>> get(std::string_view key) = 0;

  // Deletes `key` (OK also when it held nothing) and returns once the deletion is durable.
  // REQUIRES: called on a fiber of the platform that owns this store.
  [[nodiscard]] virtual absl::Status remove(std::string_view key) = 0;
};

}  // namespace troupe
