// WireServer and WireClient: TCP connections that speak the cluster wire (frames and the
// authenticated handshake of runtime/net), on Boost.Asio.
//
// The server accepts on `bind_address` (127.0.0.1 unless told otherwise: a cluster is not
// exposed by default), runs the handshake on each connection, and then hands every frame to its
// handler, sending back what the handler returns. A peer that sends garbage, an oversized frame,
// a wrong token or nothing at all within the handshake timeout is disconnected; the reason goes
// to the server's log, and every other connection carries on.
//
//   WireServer server({.token = token}, [](const PeerIdentity& peer, std::string payload) { return payload; });
//   absl::StatusOr<WireClient> client = WireClient::connect("127.0.0.1", server.port(), token, {.role = "driver"});
//   absl::StatusOr<std::string> reply = client->request("ping");
//
// The server is a LinkServer (runtime/net/link.h) answering each frame; it owns one thread, and
// the handler runs there, one frame at a time.
// WireClient is blocking and thread-compatible (one per thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/net/frame.h"
#include "runtime/net/handshake.h"
#include "runtime/net/link.h"

namespace troupe::net {

// The same settings as a LinkServer's (runtime/net/link.h).
using WireServerOptions = LinkServerOptions;

// What the server does with an authenticated peer's frame: the reply's payload.
using FrameHandler = std::function<std::string(const PeerIdentity& peer, std::string payload)>;

class WireServer {
 public:
  // Binds and starts serving. InvalidArgument for a bad token or address, Unavailable naming the
  // address when it cannot listen there.
  static absl::StatusOr<std::unique_ptr<WireServer>> create(WireServerOptions options, FrameHandler handler);
  ~WireServer();  // closes every connection and joins the thread
  WireServer(const WireServer&) = delete;
  WireServer& operator=(const WireServer&) = delete;

  uint16_t port() const;
  // One line per connection the server ended because of the peer: "refused 127.0.0.1:53122: <why>".
  std::vector<std::string> log() const;
  // Connections that completed the handshake so far.
  uint64_t authenticated() const;

  struct Impl;

 private:
  explicit WireServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class WireClient {
 public:
  // Connects and runs the client side of the handshake; the server's refusal or a server that
  // does not know the token is the error.
  static absl::StatusOr<WireClient> connect(const std::string& host, uint16_t port, const std::string& token,
                                            const PeerIdentity& identity,
                                            size_t max_frame_bytes = kFrameBytesDefault);
  WireClient(WireClient&&) noexcept;
  WireClient& operator=(WireClient&&) noexcept;
  ~WireClient();

  // Sends one frame and waits for the reply frame.
  absl::StatusOr<std::string> request(std::string_view payload);

  struct Impl;

 private:
  explicit WireClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace troupe::net
