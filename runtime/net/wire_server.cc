#include "runtime/net/wire_server.h"

#include <atomic>
#include <deque>
#include <set>

#include "boost/asio.hpp"
#include "fmt/format.h"

namespace troupe::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr size_t kReadChunkBytes = 64 << 10;
}  // namespace

// One accepted connection, on the server's thread only.
class ServerConnection : public std::enable_shared_from_this<ServerConnection> {
 public:
  ServerConnection(WireServer::Impl& server, tcp::socket socket);
  void start();

 private:
  void read();
  void handle(std::string payload);
  void send(std::string payload);
  void write_next();
  void refuse(std::string_view why);
  void close();

  WireServer::Impl& server_;
  tcp::socket socket_;
  asio::steady_timer handshake_timer_;
  FrameDecoder decoder_;
  Nonce server_nonce_{};
  bool authenticated_ = false;
  bool closed_ = false;
  PeerIdentity peer_;
  std::string remote_;
  std::vector<char> buffer_;
  std::deque<std::string> outbox_;
  bool writing_ = false;
};

struct WireServer::Impl {
  WireServerOptions options;
  FrameHandler handler;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::set<std::shared_ptr<ServerConnection>> connections;  // server thread only
  mutable std::mutex log_mutex;
  std::vector<std::string> log_lines;
  std::atomic<uint64_t> authenticated{0};
  uint16_t port = 0;  // set before the thread starts

  void note(std::string line) {
    std::lock_guard<std::mutex> lock(log_mutex);
    log_lines.push_back(std::move(line));
  }

  void accept() {
    acceptor.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
      if (error) {
        if (error != asio::error::operation_aborted) note(fmt::format("accept failed: {}", error.message()));
        if (!acceptor.is_open()) return;
      } else {
        auto connection = std::make_shared<ServerConnection>(*this, std::move(socket));
        connections.insert(connection);
        connection->start();
      }
      accept();
    });
  }

  void forget(const std::shared_ptr<ServerConnection>& connection) { connections.erase(connection); }
};

ServerConnection::ServerConnection(WireServer::Impl& server, tcp::socket socket)
    : server_(server),
      socket_(std::move(socket)),
      handshake_timer_(server.io),
      decoder_({.max_frame_bytes = server.options.max_frame_bytes}),
      buffer_(kReadChunkBytes) {
  boost::system::error_code ignored;
  const tcp::endpoint remote = socket_.remote_endpoint(ignored);
  remote_ = fmt::format("{}:{}", remote.address().to_string(), remote.port());
}

void ServerConnection::start() {
  absl::StatusOr<Nonce> nonce = random_nonce();
  if (!nonce.ok()) {
    refuse(std::string(nonce.status().message()));
    return;
  }
  server_nonce_ = *nonce;
  handshake_timer_.expires_after(server_.options.handshake_timeout);
  handshake_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
    if (error || self->authenticated_ || self->closed_) return;
    self->refuse(fmt::format("no handshake within {} ms", self->server_.options.handshake_timeout.count()));
  });
  send(make_challenge(server_nonce_));
  read();
}

void ServerConnection::read() {
  socket_.async_read_some(asio::buffer(buffer_), [self = shared_from_this()](const boost::system::error_code& error,
                                                                             size_t bytes) {
    if (self->closed_) return;
    if (error) {
      if (!self->authenticated_ && error == asio::error::eof) {
        self->refuse("closed the connection during the handshake");
      } else {
        self->close();
      }
      return;
    }
    if (absl::Status fed = self->decoder_.feed(std::string_view(self->buffer_.data(), bytes)); !fed.ok()) {
      self->refuse(std::string(fed.message()));
      return;
    }
    while (std::optional<std::string> payload = self->decoder_.next()) {
      self->handle(std::move(*payload));
      if (self->closed_) return;
    }
    self->read();
  });
}

void ServerConnection::handle(std::string payload) {
  if (!authenticated_) {
    absl::StatusOr<Hello> hello = verify_hello(payload, server_nonce_, server_.options.token);
    if (!hello.ok()) {
      refuse(std::string(hello.status().message()));
      return;
    }
    authenticated_ = true;
    peer_ = hello->peer;
    handshake_timer_.cancel();
    ++server_.authenticated;
    send(make_welcome(*hello, server_nonce_, server_.options.token));
    return;
  }
  std::string reply;
  try {
    reply = server_.handler(peer_, std::move(payload));
  } catch (const std::exception& e) {
    refuse(fmt::format("the frame handler threw: {}", e.what()));
    return;
  }
  if (reply.size() > server_.options.max_frame_bytes) {
    refuse(fmt::format("a reply of {} bytes exceeds the frame limit", reply.size()));
    return;
  }
  send(std::move(reply));
}

void ServerConnection::send(std::string payload) {
  outbox_.push_back(encode_frame(payload));
  if (!writing_) write_next();
}

void ServerConnection::write_next() {
  writing_ = true;
  asio::async_write(socket_, asio::buffer(outbox_.front()),
                    [self = shared_from_this()](const boost::system::error_code& error, size_t) {
                      if (self->closed_) return;
                      self->outbox_.pop_front();
                      if (error) {
                        self->close();
                        return;
                      }
                      if (self->outbox_.empty()) {
                        self->writing_ = false;
                      } else {
                        self->write_next();
                      }
                    });
}

void ServerConnection::refuse(std::string_view why) {
  server_.note(fmt::format("refused {}: {}", remote_, why));
  close();
}

void ServerConnection::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  handshake_timer_.cancel();
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  server_.forget(shared_from_this());
}

absl::StatusOr<std::unique_ptr<WireServer>> WireServer::create(WireServerOptions options, FrameHandler handler) {
  if (absl::Status token = validate_token(options.token); !token.ok()) return token;
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->handler = std::move(handler);
  boost::system::error_code error;
  const asio::ip::address address = asio::ip::make_address(impl->options.bind_address, error);
  if (error) {
    return absl::InvalidArgumentError(fmt::format("bind address '{}': {}", impl->options.bind_address, error.message()));
  }
  const tcp::endpoint endpoint(address, impl->options.port);
  impl->acceptor.open(endpoint.protocol(), error);
  if (!error) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), error);
  if (!error) impl->acceptor.bind(endpoint, error);
  if (!error) impl->acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    return absl::UnavailableError(
        fmt::format("cannot listen on {}:{}: {}", impl->options.bind_address, impl->options.port, error.message()));
  }
  impl->port = impl->acceptor.local_endpoint().port();
  impl->accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<WireServer>(new WireServer(std::move(impl)));
}

WireServer::WireServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WireServer::~WireServer() {
  asio::post(impl_->io, [impl = impl_.get()] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    impl->io.stop();
  });
  impl_->thread.join();
  impl_->connections.clear();
}

uint16_t WireServer::port() const { return impl_->port; }

std::vector<std::string> WireServer::log() const {
  std::lock_guard<std::mutex> lock(impl_->log_mutex);
  return impl_->log_lines;
}

uint64_t WireServer::authenticated() const { return impl_->authenticated.load(); }

// ---- The client ------------------------------------------------------------------------------

struct WireClient::Impl {
  asio::io_context io;
  tcp::socket socket{io};
  FrameDecoder decoder;

  explicit Impl(size_t max_frame_bytes) : decoder({.max_frame_bytes = max_frame_bytes}) {}

  absl::StatusOr<std::string> read_frame(std::string_view during) {
    std::vector<char> buffer(kReadChunkBytes);
    while (true) {
      if (std::optional<std::string> payload = decoder.next()) return std::move(*payload);
      boost::system::error_code error;
      const size_t bytes = socket.read_some(asio::buffer(buffer), error);
      if (error) {
        return absl::UnavailableError(fmt::format("the server closed the connection {} ({})", during, error.message()));
      }
      if (absl::Status fed = decoder.feed(std::string_view(buffer.data(), bytes)); !fed.ok()) return fed;
    }
  }

  absl::Status write_frame(std::string_view payload) {
    boost::system::error_code error;
    asio::write(socket, asio::buffer(encode_frame(payload)), error);
    if (error) return absl::UnavailableError(fmt::format("sending to the server failed: {}", error.message()));
    return absl::OkStatus();
  }
};

absl::StatusOr<WireClient> WireClient::connect(const std::string& host, uint16_t port, const std::string& token,
                                               const PeerIdentity& identity, size_t max_frame_bytes) {
  if (absl::Status valid = validate_token(token); !valid.ok()) return valid;
  auto impl = std::make_unique<Impl>(max_frame_bytes);
  boost::system::error_code error;
  tcp::resolver resolver(impl->io);
  const auto endpoints = resolver.resolve(host, std::to_string(port), error);
  if (!error) asio::connect(impl->socket, endpoints, error);
  if (error) return absl::UnavailableError(fmt::format("cannot connect to {}:{}: {}", host, port, error.message()));

  absl::StatusOr<std::string> first = impl->read_frame("before its challenge");
  if (!first.ok()) return first.status();
  absl::StatusOr<Challenge> challenge = parse_challenge(*first);
  if (!challenge.ok()) return challenge.status();
  absl::StatusOr<Nonce> client_nonce = random_nonce();
  if (!client_nonce.ok()) return client_nonce.status();
  if (absl::Status sent = impl->write_frame(make_hello(*challenge, *client_nonce, identity, token)); !sent.ok()) {
    return sent;
  }
  absl::StatusOr<std::string> welcome =
      impl->read_frame("during the handshake: it refused this client (a wrong token?)");
  if (!welcome.ok()) return welcome.status();
  if (absl::Status ok = verify_welcome(*welcome, *client_nonce, challenge->server_nonce, token); !ok.ok()) return ok;
  return WireClient(std::move(impl));
}

WireClient::WireClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WireClient::WireClient(WireClient&&) noexcept = default;
WireClient& WireClient::operator=(WireClient&&) noexcept = default;
WireClient::~WireClient() = default;

absl::StatusOr<std::string> WireClient::request(std::string_view payload) {
  if (absl::Status sent = impl_->write_frame(payload); !sent.ok()) return sent;
  return impl_->read_frame("before replying");
}

}  // namespace troupe::net
