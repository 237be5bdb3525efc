// The handshake (runtime/net/handshake.h): both sides prove they know the token, and everything
// else is refused with the reason a server logs.
#include "runtime/net/handshake.h"

#include <string>

#include "gtest/gtest.h"
#include "msgpack.hpp"
#include "runtime/wire/codec.h"

namespace troupe::net {
namespace {

const std::string kToken = "0123456789abcdef-cluster-token";
const std::string kWrongToken = "0123456789abcdef-another-token";

Nonce nonce(unsigned char fill) {
  Nonce n{};
  n.fill(fill);
  return n;
}

const PeerIdentity kDriver{.role = "driver", .name = "alice@laptop"};

TEST(Handshake, BothSidesAuthenticateWithTheSameToken) {
  const Nonce server_nonce = nonce(1);
  const Nonce client_nonce = nonce(2);
  absl::StatusOr<Challenge> challenge = parse_challenge(make_challenge(server_nonce));
  ASSERT_TRUE(challenge.ok()) << challenge.status();
  EXPECT_EQ(challenge->version, kProtocolVersion);
  EXPECT_EQ(challenge->server_nonce, server_nonce);

  absl::StatusOr<Hello> hello = verify_hello(make_hello(*challenge, client_nonce, kDriver, kToken), server_nonce, kToken);
  ASSERT_TRUE(hello.ok()) << hello.status();
  EXPECT_EQ(hello->peer.role, "driver");
  EXPECT_EQ(hello->peer.name, "alice@laptop");
  EXPECT_EQ(hello->client_nonce, client_nonce);

  EXPECT_TRUE(verify_welcome(make_welcome(*hello, server_nonce, kToken), client_nonce, server_nonce, kToken).ok());
}

TEST(Handshake, AClientWithAnotherTokenIsRefusedByName) {
  const Nonce server_nonce = nonce(1);
  const Challenge challenge{.server_nonce = server_nonce};
  const absl::StatusOr<Hello> hello =
      verify_hello(make_hello(challenge, nonce(2), kDriver, kWrongToken), server_nonce, kToken);
  EXPECT_EQ(hello.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(hello.status().message(), "authentication failed: driver 'alice@laptop' does not know the cluster token");
}

TEST(Handshake, AServerWithAnotherTokenIsRefusedByTheClient) {
  const Nonce server_nonce = nonce(1);
  const Nonce client_nonce = nonce(2);
  absl::StatusOr<Hello> hello =
      verify_hello(make_hello({.server_nonce = server_nonce}, client_nonce, kDriver, kToken), server_nonce, kToken);
  ASSERT_TRUE(hello.ok());
  const absl::Status status =
      verify_welcome(make_welcome(*hello, server_nonce, kWrongToken), client_nonce, server_nonce, kToken);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(status.message(), "authentication failed: the server does not know the cluster token");
}

TEST(Handshake, AHelloRecordedOnOneConnectionIsWorthlessOnAnother) {
  const std::string recorded = make_hello({.server_nonce = nonce(1)}, nonce(2), kDriver, kToken);
  EXPECT_TRUE(verify_hello(recorded, nonce(1), kToken).ok());
  EXPECT_EQ(verify_hello(recorded, nonce(3), kToken).status().code(), absl::StatusCode::kPermissionDenied);
}

// A Hello whose field `index` is replaced by `value`, MAC unchanged.
template <typename T>
std::string tampered_hello(size_t index, const T& value) {
  const std::string genuine = make_hello({.server_nonce = nonce(1)}, nonce(2), kDriver, kToken);
  msgpack::object_handle handle = msgpack::unpack(genuine.data(), genuine.size());
  msgpack::zone zone;
  msgpack::object copy(handle.get(), zone);
  copy.via.array.ptr[index] = msgpack::object(value, zone);
  return wire::encode(copy);
}

TEST(Handshake, ChangingAnyAuthenticatedFieldBreaksTheMac) {
  EXPECT_EQ(verify_hello(tampered_hello(3, std::string("node")), nonce(1), kToken).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(verify_hello(tampered_hello(4, std::string("mallory")), nonce(1), kToken).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(Handshake, AnotherProtocolVersionIsNamed) {
  const absl::StatusOr<Hello> hello = verify_hello(tampered_hello(1, 2u), nonce(1), kToken);
  EXPECT_EQ(hello.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(hello.status().message(), "the peer speaks protocol version 2; this side speaks 1");
}

TEST(Handshake, MalformedMessagesAreNotHandshakes) {
  struct Case {
    std::string payload;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"GET / HTTP/1.1\r\n\r\n", "not a Troupe hello: expected an array of 6 fields"},
      {"", "not a Troupe hello: malformed msgpack (0 bytes): insufficient bytes"},
      {std::string("\xdd\xff\xff\xff\xff", 5), "not a Troupe hello: malformed msgpack (5 bytes): array size overflow"},
      {wire::encode(std::make_tuple(std::string("troupe-welcome"), 1u, std::string("x"), std::string("r"),
                                    std::string("n"), std::string("m"))),
       "not a Troupe hello: the first field is not \"troupe-hello\""},
      {tampered_hello(2, std::string("short")), "not a Troupe hello: the client nonce is not 32 bytes of binary"},
      {tampered_hello(3, std::string("")), "not a Troupe hello: the role is not a string of 1 to 32 bytes"},
      {tampered_hello(4, 7), "not a Troupe hello: the name is not a string of 0 to 256 bytes"},
      {tampered_hello(1, std::string("1")), "not a Troupe hello: the version is not a 32-bit unsigned integer"},
  };
  for (const Case& c : cases) {
    const absl::StatusOr<Hello> hello = verify_hello(c.payload, nonce(1), kToken);
    EXPECT_EQ(hello.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_EQ(hello.status().message(), c.message);
  }
  EXPECT_EQ(parse_challenge("junk").status().message(), "not a Troupe challenge: expected an array of 3 fields");
  EXPECT_EQ(verify_welcome(make_challenge(nonce(1)), nonce(2), nonce(1), kToken).message(),
            "not a Troupe welcome: the first field is not \"troupe-welcome\"");
}

TEST(Handshake, TokensHaveLimits) {
  EXPECT_TRUE(validate_token(kToken).ok());
  EXPECT_EQ(validate_token("short").message(), "the cluster token is 5 bytes; it must be 16 to 4096 bytes");
  EXPECT_FALSE(validate_token(std::string(4097, 'x')).ok());
}

TEST(Handshake, NoncesAreFreshEachTime) {
  absl::StatusOr<Nonce> a = random_nonce();
  absl::StatusOr<Nonce> b = random_nonce();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace troupe::net
