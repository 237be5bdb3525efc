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
// Errors: a directory that cannot be created makes every operation fail with FailedPrecondition
// naming it; an I/O error is Internal naming the file and errno's text (a write may have been
// applied, as storage_write_may_have_applied says).
//
// Thread-safe: operations are serialized by one mutex. They block the calling pool thread for
// the duration of the I/O (the fiber does not park).
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

  absl::Status put(std::string_view key, std::string value) override;
  absl::StatusOr<std::optional<std::string>> get(std::string_view key) override;
  absl::Status remove(std::string_view key) override;

  // The file name `key` is stored under (no directory). REQUIRES: validate_storage_key(key).ok().
  static std::string file_name(std::string_view key);

 private:
  std::string path_of(std::string_view key) const;
  absl::Status sync_directory() const;

  FileStoreOptions options_;
  absl::Status opened_;  // why the directory is unusable, or OK
  std::mutex mutex_;
  uint64_t next_temp_ = 0;  // guarded by mutex_
};

}  // namespace troupe
