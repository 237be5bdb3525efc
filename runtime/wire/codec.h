// Encoding and decoding values with msgpack: the one way bytes are made in Troupe.
//
// `encode(value)` packs any msgpack-serializable value into a byte string; `decode<T>(bytes)`
// unpacks it, returning InvalidArgument (never throwing) when the bytes are malformed or hold a
// different type. Malformed input from a peer is an expected failure, so it is a Status.
#pragma once

#include <cstdint>
#include <cstring>
#include <algorithm>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

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

// msgpack's parser sizes an array or map from its header before reading the elements, so a
// corrupt 5-byte header can ask for 2^32 elements (64 GiB of objects). No valid message of
// `bytes` bytes holds a container, string, binary or extension longer than `bytes` (every element
// takes at least one byte), so these limits refuse only input that could never parse.
inline msgpack::unpack_limit input_bounded_limit(size_t bytes) {
  const size_t bound = std::min<size_t>(bytes, std::numeric_limits<uint32_t>::max());
  return msgpack::unpack_limit(/*array=*/bound, /*map=*/bound, /*str=*/bound, /*bin=*/bound, /*ext=*/bound);
}

// Unpacks `bytes` into a handle that keeps the zone alive (objects point into it).
inline absl::StatusOr<msgpack::object_handle> unpack(std::string_view bytes) {
  try {
    return msgpack::unpack(bytes.data(), bytes.size(), nullptr, nullptr, input_bounded_limit(bytes.size()));
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

namespace internal {

// Reads the big-endian unsigned number of `bytes` bytes at `at`.
inline uint64_t load_big_endian(const uint8_t* at, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) value = (value << 8) | at[i];
  return value;
}

// Reads one scalar (nil, bool, integer, float, str, bin) at `at` into `out` as msgpack's
// unpacker (with strings and binaries referenced) would, advancing `at`; false for anything else
// (arrays, maps, ext, reserved bytes) or when the bytes run out.
inline bool unpack_scalar(const uint8_t*& at, const uint8_t* end, msgpack::object& out) {
  if (at == end) return false;
  const uint8_t tag = *at;
  const size_t left = static_cast<size_t>(end - at) - 1;
  auto integer_of_width = [&](size_t width) { return load_big_endian(at + 1, width); };
  if (tag < 0x80) {
    out.type = msgpack::type::POSITIVE_INTEGER;
    out.via.u64 = tag;
    at += 1;
  } else if (tag >= 0xe0) {
    out.type = msgpack::type::NEGATIVE_INTEGER;
    out.via.i64 = static_cast<int8_t>(tag);
    at += 1;
  } else if ((tag & 0xe0) == 0xa0 || tag == 0xd9 || tag == 0xda || tag == 0xdb || tag == 0xc4 || tag == 0xc5 ||
             tag == 0xc6) {
    size_t header = 0;
    uint64_t size = 0;
    if ((tag & 0xe0) == 0xa0) {
      size = tag & 0x1f;
    } else {
      header = tag == 0xd9 || tag == 0xc4 ? 1 : tag == 0xda || tag == 0xc5 ? 2 : 4;
      if (left < header) return false;
      size = integer_of_width(header);
    }
    if (left - header < size) return false;
    const char* data = reinterpret_cast<const char*>(at + 1 + header);
    if (tag >= 0xc4 && tag <= 0xc6) {
      out.type = msgpack::type::BIN;
      out.via.bin.ptr = data;
      out.via.bin.size = static_cast<uint32_t>(size);
    } else {
      out.type = msgpack::type::STR;
      out.via.str.ptr = data;
      out.via.str.size = static_cast<uint32_t>(size);
    }
    at += 1 + header + size;
  } else if (tag == 0xc0) {
    out.type = msgpack::type::NIL;
    at += 1;
  } else if (tag == 0xc2 || tag == 0xc3) {
    out.type = msgpack::type::BOOLEAN;
    out.via.boolean = tag == 0xc3;
    at += 1;
  } else if (tag >= 0xcc && tag <= 0xcf) {  // uint 8/16/32/64
    const size_t width = size_t{1} << (tag - 0xcc);
    if (left < width) return false;
    out.type = msgpack::type::POSITIVE_INTEGER;
    out.via.u64 = integer_of_width(width);
    at += 1 + width;
  } else if (tag >= 0xd0 && tag <= 0xd3) {  // int 8/16/32/64: non-negative values read as positive
    const size_t width = size_t{1} << (tag - 0xd0);
    if (left < width) return false;
    const uint64_t raw = integer_of_width(width);
    const unsigned shift = static_cast<unsigned>(64 - 8 * width);
    const int64_t value = static_cast<int64_t>(raw << shift) >> shift;
    if (value >= 0) {
      out.type = msgpack::type::POSITIVE_INTEGER;
      out.via.u64 = static_cast<uint64_t>(value);
    } else {
      out.type = msgpack::type::NEGATIVE_INTEGER;
      out.via.i64 = value;
    }
    at += 1 + width;
  } else if (tag == 0xca || tag == 0xcb) {  // float 32/64
    const size_t width = tag == 0xca ? 4 : 8;
    if (left < width) return false;
    const uint64_t raw = integer_of_width(width);
    if (tag == 0xca) {
      const uint32_t bits = static_cast<uint32_t>(raw);
      float value;
      std::memcpy(&value, &bits, sizeof value);
      out.type = msgpack::type::FLOAT32;
      out.via.f64 = value;
    } else {
      double value;
      std::memcpy(&value, &raw, sizeof value);
      out.type = msgpack::type::FLOAT64;
      out.via.f64 = value;
    }
    at += 1 + width;
  } else {
    return false;
  }
  return true;
}

// The common shape of call arguments and results, read without msgpack's parser (which
// allocates its stacks on every parse): one scalar, or a flat array of scalars, filling exactly
// `bytes`. Builds in `zone` exactly the objects msgpack::unpack would (strings and binaries
// referenced); false for any other shape, which the caller then hands to msgpack.
inline bool unpack_flat(msgpack::zone& zone, std::string_view bytes, msgpack::object& out) {
  const uint8_t* at = reinterpret_cast<const uint8_t*>(bytes.data());
  const uint8_t* end = at + bytes.size();
  if (at == end) return false;
  uint32_t size = 0;
  if ((*at & 0xf0) == 0x90) {
    size = *at & 0x0f;
    at += 1;
  } else if (*at == 0xdc && end - at >= 3) {
    size = static_cast<uint32_t>(load_big_endian(at + 1, 2));
    at += 3;
  } else {
    return unpack_scalar(at, end, out) && at == end;
  }
  if (static_cast<size_t>(end - at) < size) return false;  // each element takes a byte at least
  msgpack::object* elements = nullptr;
  if (size > 0) {
    elements = static_cast<msgpack::object*>(
        zone.allocate_align(size * sizeof(msgpack::object), MSGPACK_ZONE_ALIGNOF(msgpack::object)));
    for (uint32_t i = 0; i < size; ++i) {
      if (!unpack_scalar(at, end, elements[i])) return false;
    }
  }
  if (at != end) return false;
  out.type = msgpack::type::ARRAY;
  out.via.array.size = size;
  out.via.array.ptr = elements;
  return true;
}

// T as one of the integer types msgpack converts by value (not bool, not a character type).
template <typename T>
inline constexpr bool kPlainInteger =
    std::is_same_v<T, short> || std::is_same_v<T, unsigned short> || std::is_same_v<T, int> ||
    std::is_same_v<T, unsigned> || std::is_same_v<T, long> || std::is_same_v<T, unsigned long> ||
    std::is_same_v<T, long long> || std::is_same_v<T, unsigned long long>;

// `bytes` as one msgpack integer whose value T holds: what msgpack's converter gives for it.
// False for anything else (another type, a value out of T's range, extra bytes), which the
// caller then hands to msgpack (to get its value or its error).
template <typename T>
bool read_plain_integer(std::string_view bytes, T& out) {
  const uint8_t* at = reinterpret_cast<const uint8_t*>(bytes.data());
  const uint8_t* end = at + bytes.size();
  msgpack::object object;
  if (!unpack_scalar(at, end, object) || at != end) return false;
  if (object.type == msgpack::type::POSITIVE_INTEGER) {
    if (object.via.u64 > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
    out = static_cast<T>(object.via.u64);
    return true;
  }
  if (object.type == msgpack::type::NEGATIVE_INTEGER) {
    if constexpr (std::is_signed_v<T>) {
      if (object.via.i64 < static_cast<int64_t>(std::numeric_limits<T>::min())) return false;
      out = static_cast<T>(object.via.i64);
      return true;
    }
  }
  return false;
}

}  // namespace internal

// Unpacks `bytes` into objects allocated in `zone`. Strings and binaries are not copied: they
// point into `bytes`, which must outlive the objects (and the zone must too).
inline absl::StatusOr<msgpack::object> unpack_into(msgpack::zone& zone, std::string_view bytes) {
  if (msgpack::object flat; internal::unpack_flat(zone, bytes, flat)) return flat;
  try {
    size_t offset = 0;
    msgpack::object object =
        msgpack::unpack(zone, bytes.data(), bytes.size(), offset,
                        [](msgpack::type::object_type, size_t, void*) { return true; }, nullptr,
                        input_bounded_limit(bytes.size()));
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
  if constexpr (internal::kPlainInteger<T>) {
    if (T value; internal::read_plain_integer(bytes, value)) return value;  // a call's usual result
  }
  absl::StatusOr<msgpack::object_handle> handle = unpack(bytes);
  if (!handle.ok()) return handle.status();
  T value{};
  absl::Status status = convert(handle->get(), value, what);
  if (!status.ok()) return status;
  return value;
}

}  // namespace troupe::wire
