// Encoding and decoding values with msgpack: the one way bytes are made in Troupe.
//
// `encode(value)` packs any msgpack-serializable value into a byte string; `decode<T>(bytes)`
// unpacks it, returning InvalidArgument (never throwing) when the bytes are malformed or hold a
// different type. Malformed input from a peer is an expected failure, so it is a Status.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "fmt/format.h"
#include "msgpack.hpp"

namespace troupe::wire {

// A msgpack buffer that writes straight into a std::string.
class StringWriter {
 public:
  void write(const char* data, size_t size) { out_.append(data, size); }
  std::string take() { return std::move(out_); }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

template <typename T>
std::string encode(const T& value) {
  StringWriter writer;
  msgpack::pack(writer, value);
  return writer.take();
}

// Unpacks `bytes` into a handle that keeps the zone alive (objects point into it).
inline absl::StatusOr<msgpack::object_handle> unpack(std::string_view bytes) {
  try {
    return msgpack::unpack(bytes.data(), bytes.size());
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(fmt::format("malformed msgpack ({} bytes): {}", bytes.size(), e.what()));
  }
}

// Converts an unpacked object to T; InvalidArgument naming `what` on a type mismatch.
template <typename T>
absl::Status convert(const msgpack::object& object, T& out, std::string_view what) {
  try {
    object.convert(out);
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(fmt::format("cannot decode {}: {}", what, e.what()));
  }
}

// Unpacks `bytes` into objects allocated in `zone`. Strings and binaries are not copied: they
// point into `bytes`, which must outlive the objects (and the zone must too).
inline absl::StatusOr<msgpack::object> unpack_into(msgpack::zone& zone, std::string_view bytes) {
  try {
    size_t offset = 0;
    msgpack::object object = msgpack::unpack(
        zone, bytes.data(), bytes.size(), offset, [](msgpack::type::object_type, size_t, void*) { return true; });
    if (offset != bytes.size()) {
      return absl::InvalidArgumentError(
          fmt::format("malformed msgpack: {} bytes after the value", bytes.size() - offset));
    }
    return object;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(fmt::format("malformed msgpack ({} bytes): {}", bytes.size(), e.what()));
  }
}

// The size of the first chunk of the zones the runtime reuses (msgpack's default is 8 KiB, which
// a fresh zone per message would allocate every time).
inline constexpr size_t kZoneChunkBytes = 2048;

template <typename T>
absl::StatusOr<T> decode(std::string_view bytes, std::string_view what = "value") {
  absl::StatusOr<msgpack::object_handle> handle = unpack(bytes);
  if (!handle.ok()) return handle.status();
  T value{};
  absl::Status status = convert(handle->get(), value, what);
  if (!status.ok()) return status;
  return value;
}

}  // namespace troupe::wire
