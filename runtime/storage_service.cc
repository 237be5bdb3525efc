#include "runtime/storage_service.h"

#include <cassert>
#include <iterator>

#include "fmt/format.h"

namespace troupe {

absl::Status validate_storage_key(std::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError("storage key is empty (keys are 1 to 80 bytes)");
  if (key.size() > kStorageKeyBytesMax) {
    return absl::InvalidArgumentError(
        fmt::format("storage key is {} bytes, more than kStorageKeyBytesMax ({})", key.size(), kStorageKeyBytesMax));
  }
  for (size_t at = 0; at < key.size(); ++at) {
    const auto byte = static_cast<unsigned char>(key[at]);
    if (byte < 0x20 || byte > 0x7e) {
      return absl::InvalidArgumentError(
          fmt::format("storage key has byte 0x{:02x} at offset {}: keys are printable ASCII (0x20 to 0x7e)", byte, at));
    }
  }
  return absl::OkStatus();
}

absl::Status validate_storage_value(std::string_view key, std::string_view value) {
  if (value.size() > kStorageValueBytesMax) {
    return absl::InvalidArgumentError(fmt::format("storage value for '{}' is {} bytes, more than kStorageValueBytesMax ({})",
                                                  describe_storage_key(key), value.size(), kStorageValueBytesMax));
  }
  return absl::OkStatus();
}

std::string describe_storage_key(std::string_view key) {
  const bool cut = key.size() > kStorageKeyBytesMax;
  if (cut) key = key.substr(0, 32);
  std::string text;
  text.reserve(key.size() + 3);
  for (char c : key) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7e || c == '\\') {
      fmt::format_to(std::back_inserter(text), "\\x{:02x}", byte);
    } else {
      text.push_back(c);
    }
  }
  if (cut) text += "...";
  return text;
}

bool storage_write_may_have_applied(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsInternal(status);
}

bool storage_fence_admits(uint64_t token, uint64_t fence) { return token == 0 || token >= fence; }

absl::Status storage_fenced_error(uint64_t token, uint64_t fence) {
  assert(token > 0);
  assert(token < fence);
  return absl::PermissionDeniedError(fmt::format("fenced: token {} is below the key's fence {}", token, fence));
}

bool storage_fenced(const absl::Status& status) { return absl::IsPermissionDenied(status); }

}  // namespace troupe
