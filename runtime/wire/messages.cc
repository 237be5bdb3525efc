#include "runtime/wire/messages.h"

#include <cstring>
#include <limits>

#include "absl/status/status.h"

namespace troupe::wire {

std::string_view message_kind_name(MessageKind kind) {
  switch (kind) {
    case MessageKind::kCreateActor: return "create_actor";
    case MessageKind::kCreateActorReply: return "create_actor_reply";
    case MessageKind::kActorStarted: return "actor_started";
    case MessageKind::kActorState: return "actor_state";
    case MessageKind::kSubscribeActor: return "subscribe_actor";
    case MessageKind::kCall: return "call";
    case MessageKind::kCallReply: return "call_reply";
    case MessageKind::kGetObject: return "get_object";
    case MessageKind::kObjectReply: return "object_reply";
    case MessageKind::kKillActor: return "kill_actor";
    case MessageKind::kLookupName: return "lookup_name";
    case MessageKind::kLookupNameReply: return "lookup_name_reply";
    case MessageKind::kActorExited: return "actor_exited";
    case MessageKind::kFenceWorker: return "fence_worker";
    case MessageKind::kCreatePlacementGroup: return "create_placement_group";
    case MessageKind::kRemovePlacementGroup: return "remove_placement_group";
    case MessageKind::kDescribe: return "describe";
    case MessageKind::kDescribeReply: return "describe_reply";
  }
  return "unknown";
}

absl::StatusOr<Envelope> open_envelope(std::string_view bytes, msgpack::zone& zone) {
  absl::StatusOr<msgpack::object> unpacked = unpack_into(zone, bytes);
  if (!unpacked.ok()) return unpacked.status();
  const msgpack::object& root = *unpacked;
  if (root.type != msgpack::type::ARRAY || root.via.array.size != 2 ||
      root.via.array.ptr[0].type != msgpack::type::POSITIVE_INTEGER) {
    return absl::InvalidArgumentError("malformed message: expected [kind, body]");
  }
  uint64_t kind = root.via.array.ptr[0].via.u64;
  if (kind < 1 || kind > static_cast<uint64_t>(MessageKind::kDescribeReply)) {
    return absl::InvalidArgumentError(fmt::format("malformed message: unknown kind {}", kind));
  }
  return Envelope{static_cast<MessageKind>(kind), root.via.array.ptr[1]};
}

namespace {

// Reads msgpack values one at a time from a byte range; every read returns false (and reads
// nothing useful) when the next value is not of the kind asked for or the bytes run out.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : at_(reinterpret_cast<const uint8_t*>(bytes.data())), end_(at_ + bytes.size()) {}

  bool at_end() const { return at_ == end_; }

  // An array header: fixarray, array 16, array 32.
  bool array(uint32_t& size) {
    if (at_ == end_) return false;
    const uint8_t tag = *at_;
    if ((tag & 0xf0) == 0x90) {
      ++at_;
      size = tag & 0x0f;
      return true;
    }
    if (tag == 0xdc) return big_endian(1, 2, size);
    if (tag == 0xdd) return big_endian(1, 4, size);
    return false;
  }

  // An unsigned integer no larger than T's maximum: positive fixint, uint 8/16/32/64 (what
  // msgpack's converters accept for T as a positive integer; signed formats are left to them).
  template <typename T>
  bool uint(T& out) {
    if (at_ == end_) return false;
    const uint8_t tag = *at_;
    uint64_t value = 0;
    if (tag < 0x80) {
      ++at_;
      value = tag;
    } else if (tag >= 0xcc && tag <= 0xcf) {
      if (!big_endian(1, size_t{1} << (tag - 0xcc), value)) return false;
    } else {
      return false;
    }
    if (value > std::numeric_limits<T>::max()) return false;
    out = static_cast<T>(value);
    return true;
  }

  // A string or a binary (msgpack's std::string converter takes either): fixstr, str 8/16/32,
  // bin 8/16/32.
  bool string(std::string& out) {
    if (at_ == end_) return false;
    const uint8_t tag = *at_;
    uint32_t size = 0;
    if ((tag & 0xe0) == 0xa0) {
      ++at_;
      size = tag & 0x1f;
    } else if (tag == 0xd9 || tag == 0xc4) {
      if (!big_endian(1, 1, size)) return false;
    } else if (tag == 0xda || tag == 0xc5) {
      if (!big_endian(1, 2, size)) return false;
    } else if (tag == 0xdb || tag == 0xc6) {
      if (!big_endian(1, 4, size)) return false;
    } else {
      return false;
    }
    if (static_cast<size_t>(end_ - at_) < size) return false;
    out.assign(reinterpret_cast<const char*>(at_), size);
    at_ += size;
    return true;
  }

 private:
  // Skips `skip` bytes, then reads a `bytes`-byte big-endian number.
  template <typename T>
  bool big_endian(size_t skip, size_t bytes, T& out) {
    if (static_cast<size_t>(end_ - at_) < skip + bytes) return false;
    out = static_cast<T>(internal::load_big_endian(at_ + skip, bytes));
    at_ += skip + bytes;
    return true;
  }

  const uint8_t* at_;
  const uint8_t* end_;
};

// The envelope [kind, body] with the body an array of `fields` elements.
bool read_header(Reader& reader, MessageKind kind, uint32_t fields) {
  uint32_t size = 0;
  uint8_t read_kind = 0;
  uint32_t body_size = 0;
  return reader.array(size) && size == 2 && reader.uint(read_kind) && read_kind == static_cast<uint8_t>(kind) &&
         reader.array(body_size) && body_size == fields;
}

}  // namespace

namespace {

// Writes msgpack into a buffer sized beforehand, choosing the forms msgpack's packer chooses:
// the smallest for each unsigned integer, array size and string length (str, never bin, for a
// std::string).
class Writer {
 public:
  explicit Writer(char* at) : at_(at) {}
  char* at() const { return at_; }

  void array(uint32_t size) {
    if (size < 16) {
      byte(0x90 | size);
    } else if (size < 65'536) {
      byte(0xdc);
      big_endian(size, 2);
    } else {
      byte(0xdd);
      big_endian(size, 4);
    }
  }
  void uint(uint64_t value) {
    if (value < 128) {
      byte(static_cast<uint8_t>(value));
    } else if (value < 256) {
      byte(0xcc);
      byte(static_cast<uint8_t>(value));
    } else if (value < 65'536) {
      byte(0xcd);
      big_endian(value, 2);
    } else if (value < (uint64_t{1} << 32)) {
      byte(0xce);
      big_endian(value, 4);
    } else {
      byte(0xcf);
      big_endian(value, 8);
    }
  }
  void string(const std::string& text) {
    const size_t size = text.size();
    if (size < 32) {
      byte(static_cast<uint8_t>(0xa0 | size));
    } else if (size < 256) {
      byte(0xd9);
      byte(static_cast<uint8_t>(size));
    } else if (size < 65'536) {
      byte(0xda);
      big_endian(size, 2);
    } else {
      byte(0xdb);
      big_endian(size, 4);
    }
    if (size > 0) std::memcpy(at_, text.data(), size);
    at_ += size;
  }

  // The most bytes a header or an integer takes (uint 64: a tag and 8 bytes).
  static constexpr size_t kMaxScalar = 9;

 private:
  void byte(uint32_t value) { *at_++ = static_cast<char>(value); }
  void big_endian(uint64_t value, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) *at_++ = static_cast<char>(value >> (8 * i));
  }

  char* at_;
};

// Sizes `out` for `scalars` headers and integers plus `text` bytes of strings, runs `write`, and
// cuts `out` to what was written.
template <typename Write>
std::string write_message(size_t scalars, size_t text, Write&& write) {
  std::string out;
  out.resize(scalars * Writer::kMaxScalar + text);
  Writer writer(out.data());
  write(writer);
  out.resize(static_cast<size_t>(writer.at() - out.data()));
  return out;
}

}  // namespace

std::string encode_message(MessageKind kind, const Call& call) {
  const size_t text = call.method_name.size() + call.args.size() + call.concurrency_group.size();
  return write_message(14, text, [&](Writer& out) {
    out.array(2);
    out.uint(static_cast<uint8_t>(kind));
    out.array(11);
    out.uint(call.actor);
    out.uint(call.caller);
    out.uint(call.sequence);
    out.uint(call.incarnation);
    out.uint(call.object);
    out.uint(call.method);
    out.string(call.method_name);
    out.string(call.args);
    out.uint(call.attempt);
    out.uint(call.floor);
    out.string(call.concurrency_group);
  });
}

std::string encode_message(MessageKind kind, const CallReply& reply) {
  const size_t text = reply.result.bytes.size() + reply.result.error_type.size() + reply.result.error_message.size();
  return write_message(13, text, [&](Writer& out) {
    out.array(2);
    out.uint(static_cast<uint8_t>(kind));
    out.array(5);
    out.uint(reply.actor);
    out.uint(reply.sequence);
    out.uint(reply.incarnation);
    out.uint(reply.object);
    out.array(4);
    out.uint(reply.result.status);
    out.string(reply.result.bytes);
    out.string(reply.result.error_type);
    out.string(reply.result.error_message);
  });
}

bool read_call(std::string_view bytes, Call& out) {
  Reader reader(bytes);
  return read_header(reader, MessageKind::kCall, 11) && reader.uint(out.actor) && reader.uint(out.caller) &&
         reader.uint(out.sequence) && reader.uint(out.incarnation) && reader.uint(out.object) &&
         reader.uint(out.method) && reader.string(out.method_name) && reader.string(out.args) &&
         reader.uint(out.attempt) && reader.uint(out.floor) && reader.string(out.concurrency_group) &&
         reader.at_end();
}

bool read_call_reply(std::string_view bytes, CallReply& out) {
  Reader reader(bytes);
  uint32_t payload_fields = 0;
  return read_header(reader, MessageKind::kCallReply, 5) && reader.uint(out.actor) && reader.uint(out.sequence) &&
         reader.uint(out.incarnation) && reader.uint(out.object) && reader.array(payload_fields) &&
         payload_fields == 4 && reader.uint(out.result.status) && reader.string(out.result.bytes) &&
         reader.string(out.result.error_type) && reader.string(out.result.error_message) && reader.at_end();
}

}  // namespace troupe::wire
