#include "runtime/net/handshake.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cassert>
#include <cstring>

#include "fmt/format.h"
#include "msgpack.hpp"
#include "runtime/wire/codec.h"

namespace troupe::net {
namespace {

constexpr std::string_view kChallengeTag = "troupe-challenge";
constexpr std::string_view kHelloTag = "troupe-hello";
constexpr std::string_view kWelcomeTag = "troupe-welcome";

using Packer = msgpack::packer<wire::StringWriter>;

void pack_bytes(Packer& packer, const unsigned char* data, size_t size) {
  packer.pack_bin(static_cast<uint32_t>(size));
  packer.pack_bin_body(reinterpret_cast<const char*>(data), static_cast<uint32_t>(size));
}

void pack_str(Packer& packer, std::string_view text) {
  packer.pack_str(static_cast<uint32_t>(text.size()));
  packer.pack_str_body(text.data(), static_cast<uint32_t>(text.size()));
}

// [tag, version, bytes]: the shape of a Challenge (the server nonce) and a Welcome (its MAC).
template <size_t N>
std::string tagged_bytes(std::string_view tag, const std::array<unsigned char, N>& bytes) {
  wire::StringWriter writer;
  Packer packer(writer);
  packer.pack_array(3);
  pack_str(packer, tag);
  packer.pack(kProtocolVersion);
  pack_bytes(packer, bytes.data(), bytes.size());
  return writer.take();
}

absl::Status not_handshake(std::string_view message, std::string_view why) {
  return absl::InvalidArgumentError(fmt::format("not a Troupe {}: {}", message, why));
}

// The array of a handshake message: `fields` elements, the first one `tag`, the second the
// version (checked against kProtocolVersion).
absl::StatusOr<msgpack::object_handle> open_message(std::string_view payload, std::string_view tag, uint32_t fields,
                                                    std::string_view what) {
  // Limits before anything is allocated: a peer's 5-byte "array of 2^32 elements" must not make
  // the unpacker reserve 64 GiB.
  const msgpack::unpack_limit limits(/*array=*/8, /*map=*/0, /*str=*/kPeerNameBytesMax + 64, /*bin=*/kNonceBytes,
                                     /*ext=*/0, /*depth=*/2);
  msgpack::object_handle handle;
  try {
    handle = msgpack::unpack(payload.data(), payload.size(), nullptr, nullptr, limits);
  } catch (const std::exception& e) {
    return not_handshake(what, fmt::format("malformed msgpack ({} bytes): {}", payload.size(), e.what()));
  }
  const msgpack::object& object = handle.get();
  if (object.type != msgpack::type::ARRAY || object.via.array.size != fields) {
    return not_handshake(what, fmt::format("expected an array of {} fields", fields));
  }
  const msgpack::object& first = object.via.array.ptr[0];
  if (first.type != msgpack::type::STR || std::string_view(first.via.str.ptr, first.via.str.size) != tag) {
    return not_handshake(what, fmt::format("the first field is not \"{}\"", tag));
  }
  const msgpack::object& version = object.via.array.ptr[1];
  if (version.type != msgpack::type::POSITIVE_INTEGER || version.via.u64 > UINT32_MAX) {
    return not_handshake(what, "the version is not a 32-bit unsigned integer");
  }
  if (version.via.u64 != kProtocolVersion) {
    return absl::FailedPreconditionError(fmt::format("the peer speaks protocol version {}; this side speaks {}",
                                                     version.via.u64, kProtocolVersion));
  }
  return handle;
}

template <size_t N>
absl::Status read_bytes(const msgpack::object& object, std::array<unsigned char, N>& out, std::string_view what,
                        std::string_view field) {
  if (object.type != msgpack::type::BIN || object.via.bin.size != N) {
    return not_handshake(what, fmt::format("{} is not {} bytes of binary", field, N));
  }
  std::memcpy(out.data(), object.via.bin.ptr, N);
  return absl::OkStatus();
}

absl::Status read_text(const msgpack::object& object, std::string& out, size_t min, size_t max, std::string_view what,
                       std::string_view field) {
  if (object.type != msgpack::type::STR || object.via.str.size < min || object.via.str.size > max) {
    return not_handshake(what, fmt::format("{} is not a string of {} to {} bytes", field, min, max));
  }
  out.assign(object.via.str.ptr, object.via.str.size);
  return absl::OkStatus();
}

void append_u32(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

void append_sized(std::string& out, std::string_view text) {
  append_u32(out, static_cast<uint32_t>(text.size()));
  out.append(text);
}

template <size_t N>
void append_array(std::string& out, const std::array<unsigned char, N>& bytes) {
  out.append(reinterpret_cast<const char*>(bytes.data()), N);
}

Mac hmac(std::string_view token, std::string_view data) {
  Mac mac{};
  unsigned int size = 0;
  const unsigned char* result =
      HMAC(EVP_sha256(), token.data(), static_cast<int>(token.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), mac.data(), &size);
  assert(result != nullptr && size == kMacBytes);
  (void)result;
  return mac;
}

// What a Hello's MAC covers: a domain tag, the version, both nonces, the role and the name, each
// with its length so no two inputs serialise alike.
Mac hello_mac(std::string_view token, uint32_t version, const Nonce& server_nonce, const Nonce& client_nonce,
              const PeerIdentity& peer) {
  std::string data(kHelloTag);
  data.push_back('\0');
  append_u32(data, version);
  append_array(data, server_nonce);
  append_array(data, client_nonce);
  append_sized(data, peer.role);
  append_sized(data, peer.name);
  return hmac(token, data);
}

Mac welcome_mac(std::string_view token, uint32_t version, const Nonce& server_nonce, const Nonce& client_nonce) {
  std::string data(kWelcomeTag);
  data.push_back('\0');
  append_u32(data, version);
  append_array(data, client_nonce);
  append_array(data, server_nonce);
  return hmac(token, data);
}

bool same_mac(const Mac& a, const Mac& b) { return CRYPTO_memcmp(a.data(), b.data(), kMacBytes) == 0; }

}  // namespace

absl::StatusOr<Nonce> random_nonce() {
  Nonce nonce{};
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) {
    return absl::InternalError("the system's cryptographic random generator failed (RAND_bytes)");
  }
  return nonce;
}

absl::StatusOr<std::string> random_token() {
  absl::StatusOr<Nonce> bytes = random_nonce();
  if (!bytes.ok()) return bytes.status();
  std::string token;
  for (unsigned char byte : *bytes) token += fmt::format("{:02x}", byte);
  return token;
}

absl::Status validate_token(std::string_view token) {
  if (token.size() < kTokenBytesMin || token.size() > kTokenBytesMax) {
    return absl::InvalidArgumentError(fmt::format("the cluster token is {} bytes; it must be {} to {} bytes",
                                                  token.size(), kTokenBytesMin, kTokenBytesMax));
  }
  return absl::OkStatus();
}

std::string make_challenge(const Nonce& server_nonce) { return tagged_bytes(kChallengeTag, server_nonce); }

absl::StatusOr<Challenge> parse_challenge(std::string_view payload) {
  absl::StatusOr<msgpack::object_handle> handle = open_message(payload, kChallengeTag, 3, "challenge");
  if (!handle.ok()) return handle.status();
  const msgpack::object* fields = handle->get().via.array.ptr;
  Challenge challenge;
  if (absl::Status s = read_bytes(fields[2], challenge.server_nonce, "challenge", "the server nonce"); !s.ok()) return s;
  return challenge;
}

std::string make_hello(const Challenge& challenge, const Nonce& client_nonce, const PeerIdentity& peer,
                       std::string_view token) {
  assert(validate_token(token).ok());
  const Mac mac = hello_mac(token, kProtocolVersion, challenge.server_nonce, client_nonce, peer);
  wire::StringWriter writer;
  Packer packer(writer);
  packer.pack_array(6);
  pack_str(packer, kHelloTag);
  packer.pack(kProtocolVersion);
  pack_bytes(packer, client_nonce.data(), client_nonce.size());
  pack_str(packer, peer.role);
  pack_str(packer, peer.name);
  pack_bytes(packer, mac.data(), mac.size());
  return writer.take();
}

absl::StatusOr<Hello> verify_hello(std::string_view payload, const Nonce& server_nonce, std::string_view token) {
  absl::StatusOr<msgpack::object_handle> handle = open_message(payload, kHelloTag, 6, "hello");
  if (!handle.ok()) return handle.status();
  const msgpack::object* fields = handle->get().via.array.ptr;
  Hello hello;
  for (absl::Status s : {read_bytes(fields[2], hello.client_nonce, "hello", "the client nonce"),
                         read_text(fields[3], hello.peer.role, 1, kPeerRoleBytesMax, "hello", "the role"),
                         read_text(fields[4], hello.peer.name, 0, kPeerNameBytesMax, "hello", "the name"),
                         read_bytes(fields[5], hello.mac, "hello", "the MAC")}) {
    if (!s.ok()) return s;
  }
  if (!same_mac(hello.mac, hello_mac(token, kProtocolVersion, server_nonce, hello.client_nonce, hello.peer))) {
    return absl::PermissionDeniedError(
        fmt::format("authentication failed: {} '{}' does not know the cluster token", hello.peer.role, hello.peer.name));
  }
  return hello;
}

std::string make_welcome(const Hello& hello, const Nonce& server_nonce, std::string_view token) {
  return tagged_bytes(kWelcomeTag, welcome_mac(token, kProtocolVersion, server_nonce, hello.client_nonce));
}

absl::Status verify_welcome(std::string_view payload, const Nonce& client_nonce, const Nonce& server_nonce,
                            std::string_view token) {
  absl::StatusOr<msgpack::object_handle> handle = open_message(payload, kWelcomeTag, 3, "welcome");
  if (!handle.ok()) return handle.status();
  Mac mac{};
  if (absl::Status s = read_bytes(handle->get().via.array.ptr[2], mac, "welcome", "the MAC"); !s.ok()) return s;
  if (!same_mac(mac, welcome_mac(token, kProtocolVersion, server_nonce, client_nonce))) {
    return absl::PermissionDeniedError("authentication failed: the server does not know the cluster token");
  }
  return absl::OkStatus();
}

}  // namespace troupe::net
