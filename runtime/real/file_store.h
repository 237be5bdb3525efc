// FileStore: an object store in a directory, one file per key, for the threads platform.
//
// Survives the OS process: a put writes the value to a temporary file in the directory, fsyncs
// it, renames it over the key's file and fsyncs the directory, so after a crash (of the process
// or the machine) a key holds either its old value or its new one, never a torn mix. A put or
// remove that returned OK is on disk.
//
// File names: each key (printable ASCII, runtime/storage_service.h) is escaped into one file
// name: the bytes A-Z a-z 0-9 '_' '-' stay, every other byte becomes %XX (uppercase hex), so '/'
// never makes a subdirectory, '.' and ".." cannot occur, and no name starts with '.'. Temporary
// files are named ".tmp-<pid>-<n>" and are never read as keys.
//
// Fences (runtime/storage_service.h, "Fencing") are kept in a sidecar file per fenced key,
// "<file name>.fence" (a '.' never occurs in an escaped key, so it cannot collide with a key's
// file), holding the token in decimal and a newline; a key never fenced has none, and values
// stay raw bytes. The sidecar is written like a value (temporary file, fsync, rename, directory
// fsync), and always BEFORE the value it guards: after any crash, every value on disk that was
// written with token t sits under a fence of at least t. A crash between the two leaves the
// fence raised and the old value: a write that failed (Internal: it may have been applied)
// may have raised the fence, which only refuses writers older than the one that crashed.
// remove() deletes the value and keeps the sidecar (fences never go down).
//
// Errors: a directory that cannot be created makes every operation fail with FailedPrecondition
// naming it; an I/O error is Internal naming the file and errno's text (a write may have been
// applied, as storage_write_may_have_applied says).
//
// Thread-safe: operations are serialized by one mutex, which also makes each fence check and
// update atomic; that holds among the users of one FileStore object, so one directory must be
// used by one FileStore (one platform) at a time. They block the calling pool thread for the
// duration of the I/O (the fiber does not park).
//
//   FileStore store({.directory = "/var/lib/troupe/ckpt"});
//   absl::Status status = store.put("ckpt/a2.1", bytes);  // writes ckpt%2Fa2%2E1
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/storage_service.h"

namespace troupe {

struct FileStoreOptions {
  // Created (with its parents) if missing.
  std::string directory;
};

class FileStore final : public StorageService {
 public:
  explicit FileStore(FileStoreOptions options);

  using StorageService::get;
  using StorageService::put;
  using StorageService::remove;
  absl::Status put(std::string_view key, std::string value, StorageOperationOptions options) override;
  absl::StatusOr<std::optional<std::string>> get(std::string_view key, StorageOperationOptions options) override;
  absl::Status remove(std::string_view key, StorageOperationOptions options) override;

  // The file name `key` is stored under (no directory). REQUIRES: validate_storage_key(key).ok().
  static std::string file_name(std::string_view key);
  // The file name of `key`'s fence: file_name(key) + ".fence".
  static std::string fence_file_name(std::string_view key);

 private:
  std::string path_of(std::string_view key) const;
  absl::Status sync_directory() const;
  // Writes `data` to `path` atomically: a temporary file, fsync, rename, directory fsync.
  // REQUIRES: mutex_ held.
  absl::Status write_atomically(const std::string& path, std::string_view data);
  // The whole file at `path`, nullopt if it does not exist.
  static absl::StatusOr<std::optional<std::string>> read_file(const std::string& path);
  // The fence of `key` from its sidecar (0 if none). REQUIRES: mutex_ held.
  absl::StatusOr<uint64_t> read_fence(std::string_view key) const;
  // Checks a write's token against the fence and, when the token is higher, persists it first.
  // OK, the fenced error, or an I/O error. REQUIRES: mutex_ held.
  absl::Status admit_and_raise(std::string_view key, uint64_t token, bool check);

  FileStoreOptions options_;
  absl::Status opened_;  // why the directory is unusable, or OK
  std::mutex mutex_;
  uint64_t next_temp_ = 0;  // guarded by mutex_
};

}  // namespace troupe
