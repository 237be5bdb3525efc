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
//       PermissionDenied   a fenced write was refused (storage_fenced); it was NOT applied
//     storage_write_may_have_applied() reads that table.
//   * Fencing (StorageOperationOptions::fence; docs/semantics.md "Storage"): every key has a
//     fence, a token that starts at 0 and never goes down. A fenced operation (fence > 0) is
//     checked and applied atomically at its acknowledgement:
//       get     raises the key's fence to its token (if higher) and returns the value; never
//               refused;
//       put     refused (PermissionDenied) when its token is below the key's fence; otherwise
//               applied, and the fence becomes max(fence, token);
//       remove  like put: refused below the fence; otherwise the value is deleted and the fence
//               becomes max(fence, token). The fence outlives the value: a removed key stays
//               fenced, so a stale writer cannot come back through an empty key.
//     An unfenced operation (fence 0) neither checks nor changes the fence: the behaviour of a
//     store without fencing. Fencing therefore protects a key only if all its writers fence.
//     Fences are durable like values (they survive every crash the value survives). They are
//     not counted in a store's capacity.
//
// Keys are 1 to kStorageKeyBytesMax bytes of printable ASCII (0x20 to 0x7E), '/' included;
// values are at most kStorageValueBytesMax bytes. Both limits are the same on every platform.
//
//   absl::Status status = platform.storage().put("ckpt/a2.1", bytes, {.fence = 3});
//   if (absl::IsUnavailable(status)) { ... retry: the write may or may not be there ... }
//   if (storage_fenced(status)) { ... a writer with a token above 3 owns the key now ... }
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

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

// How one operation is fenced (see "Fencing" above).
struct StorageOperationOptions {
  // The caller's fencing token; 0 means unfenced. A writer that may be replaced (an actor
  // instance) uses a token that grows with each replacement (e.g. its restart count + 1).
  uint64_t fence = 0;
};

// True when a write with fencing token `token` is admitted by a key whose fence is `fence`:
// unfenced writes (token 0) always are, fenced ones when token >= fence.
bool storage_fence_admits(uint64_t token, uint64_t fence);

// The status of a fenced write refused because `token` is below the key's `fence`:
// PermissionDenied, "fenced: token <token> is below the key's fence <fence>".
absl::Status storage_fenced_error(uint64_t token, uint64_t fence);

// True when `status` says a fenced write was refused (PermissionDenied): it was not applied.
bool storage_fenced(const absl::Status& status);

class StorageService {
 public:
  virtual ~StorageService() = default;

  // Stores `value` under `key`, replacing any previous value, and returns once it is durable;
  // a fenced put is refused (storage_fenced) when options.fence is below the key's fence.
  // REQUIRES: called on a fiber of the platform that owns this store.
  [[nodiscard]] virtual absl::Status put(std::string_view key, std::string value, StorageOperationOptions options) = 0;

  // The value under `key`, or nullopt when there is none; a fenced get first raises the key's
  // fence to options.fence (never lowers it), in the same atomic step.
  // REQUIRES: called on a fiber of the platform that owns this store.
  [[nodiscard]] virtual absl::StatusOr<std::optional<std::string>> get(std::string_view key,
                                                                      StorageOperationOptions options) = 0;

  // Deletes `key`'s value (OK also when it held nothing) and returns once the deletion is
  // durable; fenced like put. The key's fence is kept.
  // REQUIRES: called on a fiber of the platform that owns this store.
  [[nodiscard]] virtual absl::Status remove(std::string_view key, StorageOperationOptions options) = 0;

  // Unfenced shorthands (fence 0). Implementations bring them into scope with
  // `using StorageService::put;` (and get, remove).
  [[nodiscard]] absl::Status put(std::string_view key, std::string value) {
    return put(key, std::move(value), StorageOperationOptions{});
  }
  [[nodiscard]] absl::StatusOr<std::optional<std::string>> get(std::string_view key) {
    return get(key, StorageOperationOptions{});
  }
  [[nodiscard]] absl::Status remove(std::string_view key) { return remove(key, StorageOperationOptions{}); }
};

}  // namespace troupe
