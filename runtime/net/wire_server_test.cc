// WireServer and WireClient over real loopback TCP: authenticated peers are served, and a raw
// TCP client that sends garbage, a huge length prefix, a wrong token or nothing is disconnected
// with its reason logged, while a well-behaved client alongside sees no error.
#include "runtime/net/wire_server.h"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "boost/asio.hpp"
#include "fmt/format.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace troupe::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

const std::string kToken = "loopback-test-token-0123456789";

std::unique_ptr<WireServer> echo_server(std::chrono::milliseconds handshake_timeout = std::chrono::milliseconds(5000)) {
  absl::StatusOr<std::unique_ptr<WireServer>> server = WireServer::create(
      {.token = kToken, .max_frame_bytes = 1 << 20, .handshake_timeout = handshake_timeout},
      [](const PeerIdentity& peer, std::string payload) { return peer.name + ":" + payload; });
  EXPECT_TRUE(server.ok()) << server.status();
  return std::move(*server);
}

// A raw TCP peer: reads the server's challenge frame, sends `bytes`, then reads until the server
// closes. Returns the local port (the log names it) and whether the server closed the connection.
struct RawResult {
  uint16_t port = 0;
  bool closed_by_server = false;
};
RawResult raw_peer(uint16_t server_port, const std::string& bytes) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_port));
  RawResult result{.port = socket.local_endpoint().port()};
  if (!bytes.empty()) asio::write(socket, asio::buffer(bytes));
  std::vector<char> buffer(4096);
  boost::system::error_code error;
  while (!error) socket.read_some(asio::buffer(buffer), error);
  result.closed_by_server = error == asio::error::eof || error == asio::error::connection_reset;
  return result;
}

bool log_has(const WireServer& server, const std::string& line) {
  for (int i = 0; i < 200; ++i) {  // the server logs on its own thread: up to 2 s
    for (const std::string& entry : server.log()) {
      if (entry == line) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(WireServer, AnAuthenticatedClientIsServed) {
  std::unique_ptr<WireServer> server = echo_server();
  absl::StatusOr<WireClient> client =
      WireClient::connect("127.0.0.1", server->port(), kToken, {.role = "driver", .name = "alice"});
  ASSERT_TRUE(client.ok()) << client.status();
  for (int i = 0; i < 50; ++i) {
    absl::StatusOr<std::string> reply = client->request(fmt::format("ping {}", i));
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(*reply, fmt::format("alice:ping {}", i));
  }
  EXPECT_EQ(server->authenticated(), 1u);
  EXPECT_TRUE(server->log().empty());
}

TEST(WireServer, AClientWithTheWrongTokenIsRefusedAndLogged) {
  std::unique_ptr<WireServer> server = echo_server();
  absl::StatusOr<WireClient> client =
      WireClient::connect("127.0.0.1", server->port(), "not-the-cluster-token!", {.role = "driver", .name = "mallory"});
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(client.status().message(), "it refused this client (a wrong token?)"))
      << client.status();
  ASSERT_EQ(server->log().size(), 1u);
  EXPECT_TRUE(server->log()[0].ends_with(": authentication failed: driver 'mallory' does not know the cluster token"))
      << server->log()[0];
  EXPECT_EQ(server->authenticated(), 0u);
}

// Issue 8's acceptance 4: garbage, a huge length prefix, a wrong token and silence are each
// disconnected with the reason logged, while a well-behaved client makes 300 requests alongside.
TEST(WireServer, BadPeersAreDisconnectedWhileAGoodOneCarriesOn) {
  std::unique_ptr<WireServer> server = echo_server(std::chrono::milliseconds(300));
  std::atomic<bool> good_done{false};
  std::string good_error;
  std::thread good([&] {
    absl::StatusOr<WireClient> client =
        WireClient::connect("127.0.0.1", server->port(), kToken, {.role = "driver", .name = "bob"});
    if (!client.ok()) {
      good_error = std::string(client.status().message());
    } else {
      for (int i = 0; i < 300 && good_error.empty(); ++i) {
        absl::StatusOr<std::string> reply = client->request(std::to_string(i));
        if (!reply.ok()) good_error = std::string(reply.status().message());
        else if (*reply != "bob:" + std::to_string(i)) good_error = "wrong reply " + *reply;
      }
    }
    good_done = true;
  });

  const RawResult garbage = raw_peer(server->port(), "GET / HTTP/1.1\r\nHost: troupe\r\n\r\n");
  const RawResult huge = raw_peer(server->port(), std::string("\xff\xff\xff\xff", 4));
  const RawResult silent = raw_peer(server->port(), "");
  // A Hello in a well-formed frame, with a MAC made from another token.
  const RawResult forged = [&] {
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server->port()));
    RawResult result{.port = socket.local_endpoint().port()};
    FrameDecoder decoder;
    std::vector<char> buffer(4096);
    std::optional<std::string> challenge;
    while (!challenge) {
      const size_t n = socket.read_some(asio::buffer(buffer));
      EXPECT_TRUE(decoder.feed(std::string_view(buffer.data(), n)).ok());
      challenge = decoder.next();
    }
    absl::StatusOr<Challenge> parsed = parse_challenge(*challenge);
    EXPECT_TRUE(parsed.ok());
    Nonce nonce{};
    asio::write(socket, asio::buffer(encode_frame(
                            make_hello(*parsed, nonce, {.role = "node", .name = "eve"}, "a-token-of-another-cluster"))));
    boost::system::error_code error;
    while (!error) socket.read_some(asio::buffer(buffer), error);
    result.closed_by_server = error == asio::error::eof || error == asio::error::connection_reset;
    return result;
  }();

  good.join();
  EXPECT_TRUE(good_done);
  EXPECT_EQ(good_error, "") << "the well-behaved client saw an error";
  for (const RawResult& peer : {garbage, huge, silent, forged}) EXPECT_TRUE(peer.closed_by_server) << peer.port;
  EXPECT_TRUE(log_has(*server, fmt::format("refused 127.0.0.1:{}: frame of 1195725856 bytes exceeds the limit of "
                                           "1048576 bytes", garbage.port)));
  EXPECT_TRUE(log_has(*server, fmt::format("refused 127.0.0.1:{}: frame of 4294967295 bytes exceeds the limit of "
                                           "1048576 bytes", huge.port)));
  EXPECT_TRUE(log_has(*server, fmt::format("refused 127.0.0.1:{}: no handshake within 300 ms", silent.port)));
  EXPECT_TRUE(log_has(*server, fmt::format("refused 127.0.0.1:{}: authentication failed: node 'eve' does not know "
                                           "the cluster token", forged.port)));
  EXPECT_EQ(server->authenticated(), 1u);  // bob only
  for (const std::string& line : server->log()) std::cout << line << "\n";
}

TEST(WireServer, ItListensOnLoopbackByDefaultAndRefusesBadSettings) {
  EXPECT_EQ(WireServerOptions{}.bind_address, "127.0.0.1");
  EXPECT_EQ(WireServer::create({.token = "short"}, nullptr).status().message(),
            "the cluster token is 5 bytes; it must be 16 to 4096 bytes");
  EXPECT_EQ(WireServer::create({.bind_address = "not-an-address", .token = kToken}, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace troupe::net
