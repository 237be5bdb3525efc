// Links: authenticated, message-oriented TCP connections of the cluster wire, both ways at once.
//
// A Link is one connection after its handshake (runtime/net/handshake.h): either end may send a
// frame at any time, from any thread, and every frame that arrives is handed whole to the
// handler on the link's io thread, in order. A LinkServer accepts links (it binds 127.0.0.1 unless
// told otherwise); connect_link opens one to a server. The server disconnects a peer that sends
// garbage, an oversized frame, a wrong token or nothing within the handshake timeout, logs why
// ("refused 127.0.0.1:52354: <why>"), and keeps serving everyone else.
//
//   LinkServer::create({.token = token}, {.on_frame = [](const LinkPtr& link, std::string frame) {
//     link->send("got " + frame);
//   }});
//   IoThread io;
//   absl::StatusOr<LinkPtr> link = connect_link(io, "127.0.0.1", port, token, {.role = "driver"}, handlers);
//   (*link)->send("hello");
//
// Threads: a LinkServer owns one io thread; client links run on an IoThread the caller owns
// (several links may share one). Handlers run on the io thread, one event at a time per thread,
// and must not block. send() and close() are thread-safe. Frames a link sends go out in the
// order of the send() calls; consecutive ones are written together (one syscall for a burst). A
// frame sent after a pause (30 us with nothing queued) is written by the sending thread itself,
// which spares a synchronous exchange the io thread's wake-up.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/net/frame.h"
#include "runtime/net/handshake.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace troupe::net {

class Link;
using LinkPtr = std::shared_ptr<Link>;

// What happens on links. Every member may be empty. Called on the link's io thread.
struct LinkHandlers {
  // A link completed its handshake (server side; a client's link is open when connect_link
  // returns).
  std::function<void(const LinkPtr& link)> on_open;
  // One frame's payload.
  std::function<void(const LinkPtr& link, std::string payload)> on_frame;
  // The link ended (the peer closed it, a read or write failed, a refusal, or close()); `why` in
  // words. Called once per link, and only for links that were open.
  std::function<void(const LinkPtr& link, const std::string& why)> on_close;
};

class Link : public std::enable_shared_from_this<Link> {
 public:
  virtual ~Link() = default;
  // Queues `payload` as one frame. Dropped once the link is closed. Any thread.
  virtual void send(std::string payload) = 0;
  // Ends the link once every frame sent before has been written (on_close follows, with "closed
  // by this side"). Any thread; idempotent.
  virtual void close() = 0;
  // Ends the link because the peer misbehaved: the server logs "refused ADDR:PORT: why". Any thread.
  virtual void refuse(std::string why) = 0;
  // Who the peer said it is in its Hello (client links: the server, with role "server").
  virtual const PeerIdentity& peer() const = 0;
  // "127.0.0.1:52354".
  virtual const std::string& remote() const = 0;
  // The address this side's end of the connection is bound to ("127.0.0.1"), once connected.
  virtual const std::string& local_address() const = 0;
  virtual bool closed() const = 0;
  // Opaque per-link data for the owner (set on the io thread, e.g. in on_open).
  std::shared_ptr<void> user_data;
};

// An io_context with its own thread, for client links. The destructor stops the thread; a link
// made on it must not be used or destroyed after that (drop every LinkPtr to it first).
class IoThread {
 public:
  explicit IoThread(std::string name = "troupe-io");
  ~IoThread();
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;
  boost::asio::io_context& context();
  // Runs `task` on the io thread.
  void post(std::function<void()> task);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

struct LinkServerOptions {
  std::string bind_address = "127.0.0.1";
  uint16_t port = 0;  // 0: an ephemeral port (port() says which)
  std::string token;  // REQUIRES: validate_token(token).ok()
  size_t max_frame_bytes = kFrameBytesDefault;
  std::chrono::milliseconds handshake_timeout{5000};
  // Also called with each line log() gains (on the io thread), e.g. to print it.
  std::function<void(const std::string& line)> on_log;
};

class LinkServer {
 public:
  // Binds and starts serving. InvalidArgument for a bad token or address, Unavailable naming the
  // address when it cannot listen there.
  static absl::StatusOr<std::unique_ptr<LinkServer>> create(LinkServerOptions options, LinkHandlers handlers);
  // Closes every link (without calling on_close) and joins the thread.
  ~LinkServer();
  LinkServer(const LinkServer&) = delete;
  LinkServer& operator=(const LinkServer&) = delete;

  uint16_t port() const;
  // One line per connection the server ended because of the peer: "refused 127.0.0.1:53122: <why>".
  std::vector<std::string> log() const;
  // Connections that completed the handshake so far.
  uint64_t authenticated() const;
  // Runs `task` on the server's io thread.
  void post(std::function<void()> task);

  struct Impl;

 private:
  explicit LinkServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Connects to host:port, runs the client side of the handshake (blocking the calling thread, at
// most `timeout`), and returns the open link, served on `io` from then on. Unavailable when the
// server cannot be reached or closes the connection (a server refuses a wrong token by closing);
// the handshake's own errors otherwise.
absl::StatusOr<LinkPtr> connect_link(IoThread& io, const std::string& host, uint16_t port, const std::string& token,
                                     const PeerIdentity& identity, LinkHandlers handlers,
                                     size_t max_frame_bytes = kFrameBytesDefault,
                                     std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

// The same without blocking: `done` hears the open link or why there is none, once, on `io`'s
// thread (or on the calling thread for a bad token). Never call connect_link from `io`'s own
// thread (it would wait for itself); this one may be.
void connect_link_async(IoThread& io, const std::string& host, uint16_t port, const std::string& token,
                        const PeerIdentity& identity, LinkHandlers handlers,
                        std::function<void(absl::StatusOr<LinkPtr>)> done,
                        size_t max_frame_bytes = kFrameBytesDefault,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

// "host:port" into its parts; InvalidArgument naming the text otherwise.
absl::Status parse_address(std::string_view address, std::string* host, uint16_t* port);

}  // namespace troupe::net
