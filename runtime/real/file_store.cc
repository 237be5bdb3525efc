#include "runtime/real/file_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "fmt/format.h"

namespace troupe {
namespace {

absl::Status io_error(std::string_view what, const std::string& path, int error) {
  return absl::InternalError(fmt::format("{} {}: {}", what, path, std::strerror(error)));
}

bool kept_in_file_name(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// Writes all of `data` to `fd`, resuming after short writes and EINTR.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    data.remove_prefix(static_cast<size_t>(written));
  }
  return true;
}

}  // namespace

FileStore::FileStore(FileStoreOptions options) : options_(std::move(options)) {
  std::error_code error;
  if (options_.directory.empty()) {
    opened_ = absl::FailedPreconditionError("file store: no directory given (FileStoreOptions::directory)");
  } else if (std::filesystem::create_directories(options_.directory, error); error) {
    opened_ = absl::FailedPreconditionError(
        fmt::format("file store: cannot create directory {}: {}", options_.directory, error.message()));
  } else if (!std::filesystem::is_directory(options_.directory, error)) {
    opened_ = absl::FailedPreconditionError(fmt::format("file store: {} is not a directory", options_.directory));
  }
}

std::string FileStore::file_name(std::string_view key) {
  assert(validate_storage_key(key).ok());
  std::string name;
  name.reserve(key.size() * 3);
  for (char c : key) {
    if (kept_in_file_name(c)) {
      name.push_back(c);
    } else {
      fmt::format_to(std::back_inserter(name), "%{:02X}", static_cast<unsigned char>(c));
    }
  }
  assert(!name.empty() && name.front() != '.');
  return name;
}

std::string FileStore::path_of(std::string_view key) const { return options_.directory + "/" + file_name(key); }

absl::Status FileStore::sync_directory() const {
  int fd = ::open(options_.directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open directory", options_.directory, errno);
  int result = ::fsync(fd);
  int error = errno;
  ::close(fd);
  if (result != 0) return io_error("fsync directory", options_.directory, error);
  return absl::OkStatus();
}

std::string FileStore::fence_file_name(std::string_view key) { return file_name(key) + ".fence"; }

absl::Status FileStore::write_atomically(const std::string& path, std::string_view data) {
  const std::string temp = fmt::format("{}/.tmp-{}-{}", options_.directory, ::getpid(), next_temp_++);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("create", temp, errno);
  if (!write_all(fd, data) || ::fsync(fd) != 0) {
    int error = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return io_error("write", temp, error);
  }
  if (::close(fd) != 0) {
    int error = errno;
    ::unlink(temp.c_str());
    return io_error("close", temp, error);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int error = errno;
    ::unlink(temp.c_str());
    return io_error("rename onto", path, error);
  }
  return sync_directory();
}

absl::StatusOr<std::optional<std::string>> FileStore::read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return std::optional<std::string>();
  if (fd < 0) return io_error("open", path, errno);
  std::string value;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int error = errno;
      ::close(fd);
      return io_error("read", path, error);
    }
    if (got == 0) break;
    value.append(buffer, static_cast<size_t>(got));
    if (value.size() > kStorageValueBytesMax) {
      ::close(fd);
      return absl::InternalError(fmt::format("{} holds more than kStorageValueBytesMax ({}) bytes: not written by this store",
                                             path, kStorageValueBytesMax));
    }
  }
  ::close(fd);
  return std::optional<std::string>(std::move(value));
}

absl::StatusOr<uint64_t> FileStore::read_fence(std::string_view key) const {
  const std::string path = options_.directory + "/" + fence_file_name(key);
  absl::StatusOr<std::optional<std::string>> text = read_file(path);
  if (!text.ok()) return text.status();
  if (!text->has_value()) return uint64_t{0};
  const std::string& digits = **text;
  // "<decimal>\n", at most 20 digits, no leading zero: what write_atomically wrote.
  const bool well_formed = digits.size() >= 2 && digits.size() <= 21 && digits.back() == '\n' && digits[0] != '0' &&
                           std::all_of(digits.begin(), digits.end() - 1, [](char c) { return c >= '0' && c <= '9'; });
  uint64_t fence = 0;
  bool overflow = false;
  for (size_t at = 0; well_formed && !overflow && at + 1 < digits.size(); ++at) {
    const auto digit = static_cast<uint64_t>(digits[at] - '0');
    overflow = fence > (UINT64_MAX - digit) / 10;
    fence = fence * 10 + digit;
  }
  if (!well_formed || overflow) {
    return absl::InternalError(fmt::format("{} is not a fence written by this store", path));
  }
  assert(fence > 0);
  return fence;
}

absl::Status FileStore::admit_and_raise(std::string_view key, uint64_t token, bool check) {
  if (token == 0) return absl::OkStatus();
  absl::StatusOr<uint64_t> fence = read_fence(key);
  if (!fence.ok()) return fence.status();
  if (check && !storage_fence_admits(token, *fence)) return storage_fenced_error(token, *fence);
  if (token <= *fence) return absl::OkStatus();
  return write_atomically(options_.directory + "/" + fence_file_name(key), fmt::format("{}\n", token));
}

absl::Status FileStore::put(std::string_view key, std::string value, StorageOperationOptions options) {
  if (!opened_.ok()) return opened_;
  if (absl::Status valid = validate_storage_key(key); !valid.ok()) return valid;
  if (absl::Status valid = validate_storage_value(key, value); !valid.ok()) return valid;
  std::lock_guard lock(mutex_);
  // The fence first: a value written with a token never sits under a lower fence on disk.
  if (absl::Status admitted = admit_and_raise(key, options.fence, /*check=*/true); !admitted.ok()) return admitted;
  return write_atomically(path_of(key), value);
}

absl::StatusOr<std::optional<std::string>> FileStore::get(std::string_view key, StorageOperationOptions options) {
  if (!opened_.ok()) return opened_;
  if (absl::Status valid = validate_storage_key(key); !valid.ok()) return valid;
  std::lock_guard lock(mutex_);
  if (absl::Status raised = admit_and_raise(key, options.fence, /*check=*/false); !raised.ok()) return raised;
  return read_file(path_of(key));
}

absl::Status FileStore::remove(std::string_view key, StorageOperationOptions options) {
  if (!opened_.ok()) return opened_;
  if (absl::Status valid = validate_storage_key(key); !valid.ok()) return valid;
  std::lock_guard lock(mutex_);
  if (absl::Status admitted = admit_and_raise(key, options.fence, /*check=*/true); !admitted.ok()) return admitted;
  const std::string path = path_of(key);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return io_error("unlink", path, errno);
  }
  return sync_directory();
}

}  // namespace troupe
