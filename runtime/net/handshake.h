// The handshake that opens every cluster connection: a version check and mutual authentication
// with the cluster's shared token (HMAC-SHA256), before any other frame is accepted.
//
//   server                                   client
//   ------ Challenge{version, server_nonce} ----->
//   <----- Hello{version, client_nonce, role, name, mac(token, both nonces, role, name)}
//   ------ Welcome{version, mac(token, both nonces)} ----->
//
// The server proves nothing until the client has proved it knows the token; then the Welcome
// proves the server knows it too (a client must not hand its calls to an impostor). Fresh random
// nonces on both sides bind each MAC to this connection, so a recorded Hello is worthless on
// another. Each message is one frame (runtime/net/frame.h) holding a msgpack array; anything else
// is refused with a reason the server logs:
//   * not a Troupe handshake (wrong shape, wrong tag, wrong field type or size): InvalidArgument;
//   * another protocol version: FailedPrecondition ("speaks protocol version 2; this side speaks 1");
//   * a MAC that does not match (a wrong token): PermissionDenied.
// MACs are compared in constant time. The functions are pure: the caller draws the nonces (with
// a cryptographic generator, random_nonce()) and owns the sockets.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace troupe::net {

inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr size_t kNonceBytes = 32;
inline constexpr size_t kMacBytes = 32;          // HMAC-SHA256
inline constexpr size_t kTokenBytesMin = 16;     // a shorter shared secret is refused
inline constexpr size_t kTokenBytesMax = 4096;
inline constexpr size_t kPeerNameBytesMax = 256;
inline constexpr size_t kPeerRoleBytesMax = 32;

using Nonce = std::array<unsigned char, kNonceBytes>;
using Mac = std::array<unsigned char, kMacBytes>;

// kNonceBytes from the operating system's cryptographic generator (OpenSSL's RAND_bytes).
// Internal when the generator fails.
absl::StatusOr<Nonce> random_nonce();

// A fresh cluster token: kNonceBytes from random_nonce(), in lowercase hex (64 characters).
absl::StatusOr<std::string> random_token();

// OK for a token of kTokenBytesMin to kTokenBytesMax bytes; InvalidArgument naming the length
// otherwise.
absl::Status validate_token(std::string_view token);

struct Challenge {
  uint32_t version = kProtocolVersion;
  Nonce server_nonce{};
};

// Who is connecting: its role ("driver", "node", "worker") and a name for the logs.
struct PeerIdentity {
  std::string role;  // 1 to kPeerRoleBytesMax bytes
  std::string name;  // 0 to kPeerNameBytesMax bytes
};

struct Hello {
  uint32_t version = kProtocolVersion;
  Nonce client_nonce{};
  PeerIdentity peer;
  Mac mac{};
};

// Server: the first frame's payload.
std::string make_challenge(const Nonce& server_nonce);
// Client: reads it (and refuses another version).
absl::StatusOr<Challenge> parse_challenge(std::string_view payload);

// Client: the answer to `challenge`, proving knowledge of `token`. REQUIRES: validate_token(token).
std::string make_hello(const Challenge& challenge, const Nonce& client_nonce, const PeerIdentity& peer,
                       std::string_view token);
// Server: reads a Hello and checks its MAC against this connection's `server_nonce`.
absl::StatusOr<Hello> verify_hello(std::string_view payload, const Nonce& server_nonce, std::string_view token);

// Server: after verify_hello, proves the server knows `token` too.
std::string make_welcome(const Hello& hello, const Nonce& server_nonce, std::string_view token);
// Client: checks the Welcome.
absl::Status verify_welcome(std::string_view payload, const Nonce& client_nonce, const Nonce& server_nonce,
                            std::string_view token);

}  // namespace troupe::net
