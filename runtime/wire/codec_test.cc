// unpack_into's and decode's fast paths (flat arrays and scalars, plain integers) against
// msgpack's own parser and converters: where msgpack succeeds they must give identical objects
// and values, and where it fails they must fail too.
#include "runtime/wire/codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "runtime/core/random.h"

namespace troupe::wire {
namespace {

// Integers at every boundary of msgpack's integer forms, and strings at every boundary of its
// string forms.
const std::vector<uint64_t> kNumbers = {0, 1, 127, 128, 255, 256, 65'535, 65'536, 4'294'967'295u, 4'294'967'296u,
                                        UINT64_MAX};
const std::vector<size_t> kLengths = {0, 1, 31, 32, 255, 256, 65'535, 65'536};

// msgpack's own parse of `bytes` (what unpack_into did before its fast path), or nullopt.
std::optional<msgpack::object> msgpack_parse(msgpack::zone& zone, std::string_view bytes) {
  try {
    size_t offset = 0;
    msgpack::object object = msgpack::unpack(zone, bytes.data(), bytes.size(), offset,
                                             [](msgpack::type::object_type, size_t, void*) { return true; },
                                             nullptr, input_bounded_limit(bytes.size()));
    if (offset != bytes.size()) return std::nullopt;
    return object;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Same type and same value, bit for bit (floats by their bits, strings by place and size).
bool identical(const msgpack::object& a, const msgpack::object& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case msgpack::type::NIL: return true;
    case msgpack::type::BOOLEAN: return a.via.boolean == b.via.boolean;
    case msgpack::type::POSITIVE_INTEGER: return a.via.u64 == b.via.u64;
    case msgpack::type::NEGATIVE_INTEGER: return a.via.i64 == b.via.i64;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return std::memcmp(&a.via.f64, &b.via.f64, sizeof(double)) == 0;
    // Strings point into the same bytes (msgpack's pointer for an empty one is a leftover that
    // nothing may read, so only non-empty ones are compared by place).
    case msgpack::type::STR:
      return a.via.str.size == b.via.str.size && (a.via.str.size == 0 || a.via.str.ptr == b.via.str.ptr);
    case msgpack::type::BIN:
      return a.via.bin.size == b.via.bin.size && (a.via.bin.size == 0 || a.via.bin.ptr == b.via.bin.ptr);
    case msgpack::type::ARRAY:
      if (a.via.array.size != b.via.array.size) return false;
      for (uint32_t i = 0; i < a.via.array.size; ++i) {
        if (!identical(a.via.array.ptr[i], b.via.array.ptr[i])) return false;
      }
      return true;
    default: return a == b;  // maps and ext: only msgpack's parser makes them (deep equality)
  }
}

// For a failure message: the bytes in hex and both objects' types and, for strings, offsets.
std::string describe(std::string_view bytes, const msgpack::object& fast, const msgpack::object& slow) {
  std::string text;
  for (unsigned char c : bytes) text += fmt::format("{:02x}", c);
  auto one = [&](const msgpack::object& o) {
    std::string line = fmt::format(" type {}", static_cast<int>(o.type));
    if (o.type == msgpack::type::ARRAY) {
      for (uint32_t i = 0; i < o.via.array.size; ++i) {
        const msgpack::object& e = o.via.array.ptr[i];
        line += fmt::format(" [{}:{}", static_cast<int>(e.type), e.via.u64);
        if (e.type == msgpack::type::STR) line += fmt::format(" @{}+{}", e.via.str.ptr - bytes.data(), e.via.str.size);
        line += "]";
      }
    }
    return line;
  };
  return text + " fast" + one(fast) + " slow" + one(slow);
}

// On packed values of every scalar form and on mangled copies of them.
TEST(FastUnpack, FlatArraysAndScalarsReadAsMsgpackReadsThem) {
  Rng rng(3);
  std::vector<std::string> samples;
  for (int i = 0; i < 200; ++i) {
    StringWriter writer;
    msgpack::packer<StringWriter> packer(writer);
    const uint32_t size = static_cast<uint32_t>(rng.below(4) == 0 ? 17 + rng.below(3) : rng.below(5));
    const bool array = rng.below(5) != 0;
    if (array) packer.pack_array(size);
    for (uint32_t e = 0; e < (array ? size : 1); ++e) {
      switch (rng.below(9)) {
        case 0: packer.pack_nil(); break;
        case 1: packer.pack(rng.below(2) == 0); break;
        case 2: packer.pack(kNumbers[rng.below(kNumbers.size())]); break;
        case 3: packer.pack(-static_cast<int64_t>(kNumbers[rng.below(kNumbers.size() - 1)])); break;
        case 4: packer.pack_int8(static_cast<int8_t>(rng.below(256))); break;
        case 5: packer.pack(static_cast<float>(rng.uniform_double() * 1e6)); break;
        case 6: packer.pack(rng.uniform_double() * -1e300); break;
        case 7: packer.pack(std::string(kLengths[rng.below(6)], 's')); break;
        default: packer.pack(std::vector<char>(kLengths[rng.below(6)], 'b')); break;  // bin
      }
    }
    samples.push_back(writer.take());
  }
  int matched = 0;
  for (const std::string& original : samples) {
    std::vector<std::string> variants = {original, original + '\x01', original.substr(0, original.size() / 2)};
    for (size_t at = 0; at < std::min<size_t>(original.size(), 12); ++at) {
      for (uint8_t value : {0x00, 0x91, 0xa1, 0xc0, 0xc4, 0xca, 0xcb, 0xcc, 0xd0, 0xd3, 0xdc, 0xdd, 0xde, 0xff}) {
        std::string mangled = original;
        mangled[at] = static_cast<char>(value);
        variants.push_back(mangled);
      }
    }
    for (const std::string& bytes : variants) {
      msgpack::zone fast_zone;
      msgpack::zone slow_zone;
      absl::StatusOr<msgpack::object> fast = unpack_into(fast_zone, bytes);
      std::optional<msgpack::object> slow = msgpack_parse(slow_zone, bytes);
      ASSERT_EQ(fast.ok(), slow.has_value()) << "bytes of size " << bytes.size();
      if (slow) {
        ASSERT_TRUE(identical(*fast, *slow)) << "bytes of size " << bytes.size() << ": " << describe(bytes, *fast, *slow);
        ++matched;
      }
    }
  }
  EXPECT_GT(matched, 400);
}

// A corrupt header that claims 2^32 - 1 elements (or bytes) is refused at once: msgpack's parser
// would otherwise allocate the elements before reading them (64 GiB; ASan aborted on it). Found
// by the test above under ASan; every form of oversized header, through both entry points.
TEST(FastUnpack, OversizedHeadersAreRefusedWithoutAllocatingForThem) {
  for (const std::string& bytes :
       {std::string("\xdd\xff\xff\xff\xff\x01", 6), std::string("\xdf\xff\xff\xff\xff\x01\x02", 7),
        std::string("\xdb\xff\xff\xff\xff" "abc", 8), std::string("\xc6\xff\xff\xff\xff" "abc", 8),
        std::string("\xc9\xff\xff\xff\xff\x01" "abc", 9), std::string("\x92\xdd\x00\x01\x00\x00\x01", 7)}) {
    msgpack::zone zone;
    absl::StatusOr<msgpack::object> unpacked = unpack_into(zone, bytes);
    ASSERT_FALSE(unpacked.ok()) << bytes.size();
    EXPECT_EQ(unpacked.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(unpacked.status().message(), "malformed msgpack")) << unpacked.status();
    EXPECT_FALSE(unpack(bytes).ok()) << bytes.size();
  }
  // The limits refuse nothing that parses: the largest container a message of n bytes can hold.
  std::string full = encode(std::vector<int>(1000, 1));
  msgpack::zone zone;
  absl::StatusOr<msgpack::object> unpacked = unpack_into(zone, full);
  ASSERT_TRUE(unpacked.ok()) << unpacked.status();
  EXPECT_EQ(unpacked->via.array.size, 1000u);
}

TEST(FastUnpack, IntegersDecodeAsMsgpackConvertsThem) {
  const std::vector<int64_t> values = {0, 1, 127, 128, 255, 256, 32'767, 32'768, 65'535, 65'536, 2'147'483'647,
                                       2'147'483'648, -1, -32, -33, -128, -129, -32'768, -32'769, -2'147'483'648,
                                       -2'147'483'649, INT64_MIN, INT64_MAX};
  for (int64_t value : values) {
    std::string bytes = encode(value);
    absl::StatusOr<int> as_int = decode<int>(bytes);
    if (value >= INT32_MIN && value <= INT32_MAX) {
      ASSERT_TRUE(as_int.ok()) << value;
      EXPECT_EQ(*as_int, value);
    } else {
      EXPECT_FALSE(as_int.ok()) << value;  // msgpack's range check, through the general path
    }
    absl::StatusOr<uint32_t> as_unsigned = decode<uint32_t>(bytes);
    EXPECT_EQ(as_unsigned.ok(), value >= 0 && value <= UINT32_MAX) << value;
    if (as_unsigned.ok()) {
      EXPECT_EQ(*as_unsigned, static_cast<uint32_t>(value));
    }
    absl::StatusOr<int64_t> as_long = decode<int64_t>(bytes);
    ASSERT_TRUE(as_long.ok());
    EXPECT_EQ(*as_long, value);
  }
  EXPECT_EQ(*decode<uint64_t>(encode(UINT64_MAX)), UINT64_MAX);
  EXPECT_FALSE(decode<int>(encode(std::string("7"))).ok());
  // Extra bytes, or a truncated integer: the general path decides, as before.
  for (const std::string& bytes : {encode(7) + '\x01', std::string("\xcd\x01"), std::string()}) {
    std::optional<int> general;
    try {
      general = msgpack::unpack(bytes.data(), bytes.size()).get().as<int>();
    } catch (const std::exception&) {
    }
    absl::StatusOr<int> decoded = decode<int>(bytes);
    ASSERT_EQ(decoded.ok(), general.has_value()) << bytes.size();
    if (general) {
      EXPECT_EQ(*decoded, *general);
    }
  }
}

}  // namespace
}  // namespace troupe::wire
