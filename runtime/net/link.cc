#include "runtime/net/link.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <future>
#include <mutex>
#include <set>

#include "boost/asio.hpp"
#include "fmt/format.h"

namespace troupe::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr size_t kReadChunkBytes = 64 << 10;

// A frame sent after the link has been quiet this long is written by the sending thread itself
// (Link::send). A synchronous call's frames are far apart and skip the hand-off to the io thread
// (a wake-up of that thread and a context switch each way); frames closer together than this are
// a burst and go through the io thread, which writes whatever queued meanwhile in one syscall.
constexpr auto kQuietGap = std::chrono::microseconds(30);

// Appends `payload` as one frame (the 4-byte big-endian length, then the bytes).
void append_frame(std::string& out, std::string_view payload) {
  const auto size = static_cast<uint32_t>(payload.size());
  const char header[4] = {static_cast<char>(size >> 24), static_cast<char>(size >> 16), static_cast<char>(size >> 8),
                          static_cast<char>(size)};
  out.append(header, 4);
  out.append(payload);
}

}  // namespace

// Who owns a server-side link: the server, which logs refusals and forgets closed links.
class LinkOwner {
 public:
  virtual ~LinkOwner() = default;
  virtual void note(std::string line) = 0;
  virtual void forget(const LinkPtr& link) = 0;
  virtual void authenticated() = 0;
};

// One connection, server or client side. Everything but send/close/refuse runs on the io thread.
class SocketLink final : public Link {
 public:
  enum class Side { kServer, kClient };

  SocketLink(asio::io_context& io, tcp::socket socket, Side side, std::shared_ptr<const LinkHandlers> handlers,
             size_t max_frame_bytes, std::string token, LinkOwner* owner)
      : io_(io),
        socket_(std::move(socket)),
        side_(side),
        handlers_(std::move(handlers)),
        token_(std::move(token)),
        owner_(owner),
        timer_(io),
        decoder_({.max_frame_bytes = max_frame_bytes}),
        buffer_(kReadChunkBytes) {}

  // Server side: sends the challenge and reads the Hello, refusing the peer after `timeout`.
  void start_server(std::chrono::milliseconds timeout) {
    set_remote();
    absl::StatusOr<Nonce> nonce = random_nonce();
    if (!nonce.ok()) {
      fail(std::string(nonce.status().message()), true);
      return;
    }
    server_nonce_ = *nonce;
    arm_timer(timeout, fmt::format("no handshake within {} ms", timeout.count()));
    send_now(make_challenge(server_nonce_));
    read();
  }

  // Client side: connects, then answers the challenge; `done` hears the outcome once.
  void start_client(const tcp::resolver::results_type& endpoints, std::chrono::milliseconds timeout,
                    PeerIdentity identity, std::function<void(absl::Status)> done) {
    identity_ = std::move(identity);
    done_ = std::move(done);
    arm_timer(timeout, fmt::format("no handshake within {} ms", timeout.count()));
    asio::async_connect(socket_, endpoints, [self = self()](const boost::system::error_code& error, const tcp::endpoint&) {
      if (self->closed_) return;
      if (error) {
        self->fail(fmt::format("cannot connect: {}", error.message()), false);
        return;
      }
      self->set_remote();
      boost::system::error_code ignored;
      self->socket_.set_option(tcp::no_delay(true), ignored);
      self->read();
    });
  }

  void send(std::string payload) override {
    std::lock_guard lock(out_mutex_);
    if (closed_.load(std::memory_order_acquire)) return;
    const auto now = std::chrono::steady_clock::now();
    const bool quiet = now - last_send_ > kQuietGap;
    last_send_ = now;
    size_t written = 0;
    if (quiet && !write_scheduled_ && open_.load(std::memory_order_acquire)) {
      written = write_directly(payload);
      if (written == payload.size() + 4) return;
    }
    if (written == 0) {
      append_frame(pending_, payload);
    } else {  // a partial write: the rest goes through the io thread, in order
      std::string framed;
      append_frame(framed, payload);
      pending_.append(framed, written);
    }
    if (!write_scheduled_) {
      write_scheduled_ = true;
      asio::post(io_, [self = self()] { self->flush(); });
    }
  }

  // Writes the frame of `payload` on the calling thread without blocking; returns the bytes
  // written (0 when the socket would block or failed: the io thread then writes them, and meets
  // the failure itself). REQUIRES: out_mutex_ held, nothing pending or in flight.
  size_t write_directly(std::string_view payload) {
    const auto size = static_cast<uint32_t>(payload.size());
    char header[4] = {static_cast<char>(size >> 24), static_cast<char>(size >> 16), static_cast<char>(size >> 8),
                      static_cast<char>(size)};
    iovec parts[2] = {{.iov_base = header, .iov_len = 4},
                      {.iov_base = const_cast<char*>(payload.data()), .iov_len = payload.size()}};
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = 2;
    ssize_t written;
    do {
      written = ::sendmsg(socket_.native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (written < 0 && errno == EINTR);
    return written > 0 ? static_cast<size_t>(written) : 0;
  }

  // Graceful: what was sent before goes out first.
  void close() override {
    asio::dispatch(io_, [self = self()] {
      {
        std::lock_guard lock(self->out_mutex_);
        if (self->write_scheduled_) {
          self->close_when_flushed_ = true;
          return;
        }
      }
      self->finish("closed by this side");
    });
  }

  void refuse(std::string why) override {
    asio::dispatch(io_, [self = self(), why = std::move(why)] { self->fail(why, true); });
  }

  const PeerIdentity& peer() const override { return peer_; }
  const std::string& remote() const override { return remote_; }
  const std::string& local_address() const override { return local_; }
  bool closed() const override { return closed_.load(std::memory_order_acquire); }

 private:
  enum class Stage { kAwaitingHello, kAwaitingChallenge, kAwaitingWelcome, kOpen };

  std::shared_ptr<SocketLink> self() { return std::static_pointer_cast<SocketLink>(shared_from_this()); }

  void set_remote() {
    boost::system::error_code ignored;
    const tcp::endpoint remote = socket_.remote_endpoint(ignored);
    remote_ = fmt::format("{}:{}", remote.address().to_string(), remote.port());
    const tcp::endpoint local = socket_.local_endpoint(ignored);
    local_ = local.address().to_string();
  }

  void arm_timer(std::chrono::milliseconds timeout, std::string why) {
    timer_.expires_after(timeout);
    timer_.async_wait([self = self(), why = std::move(why)](const boost::system::error_code& error) {
      if (error || self->stage_ == Stage::kOpen || self->closed_) return;
      self->fail(why, true);
    });
  }

  void read() {
    socket_.async_read_some(asio::buffer(buffer_), [self = self()](const boost::system::error_code& error,
                                                                   size_t bytes) {
      if (self->closed_) return;
      if (error) {
        if (self->stage_ != Stage::kOpen) {
          self->fail(self->side_ == Side::kServer ? std::string("closed the connection during the handshake")
                                                  : std::string("the server closed the connection during the handshake: "
                                                                "it refused this client (a wrong token?)"),
                     true);
        } else {
          self->finish(error == asio::error::eof ? std::string("the peer closed the connection") : error.message());
        }
        return;
      }
      if (absl::Status fed = self->decoder_.feed(std::string_view(self->buffer_.data(), bytes)); !fed.ok()) {
        self->fail(std::string(fed.message()), true);
        return;
      }
      while (std::optional<std::string> payload = self->decoder_.next()) {
        self->handle(std::move(*payload));
        if (self->closed_) return;
      }
      self->read();
    });
  }

  void handle(std::string payload) {
    switch (stage_) {
      case Stage::kAwaitingHello: {
        absl::StatusOr<Hello> hello = verify_hello(payload, server_nonce_, token_);
        if (!hello.ok()) {
          fail(std::string(hello.status().message()), true);
          return;
        }
        peer_ = hello->peer;
        send_now(make_welcome(*hello, server_nonce_, token_));
        open();
        return;
      }
      case Stage::kAwaitingChallenge: {
        absl::StatusOr<Challenge> challenge = parse_challenge(payload);
        absl::StatusOr<Nonce> nonce = challenge.ok() ? random_nonce() : challenge.status();
        if (!nonce.ok()) {
          fail_with(nonce.status());
          return;
        }
        client_nonce_ = *nonce;
        server_nonce_ = challenge->server_nonce;
        send_now(make_hello(*challenge, client_nonce_, identity_, token_));
        stage_ = Stage::kAwaitingWelcome;
        return;
      }
      case Stage::kAwaitingWelcome: {
        if (absl::Status ok = verify_welcome(payload, client_nonce_, server_nonce_, token_); !ok.ok()) {
          fail_with(ok);
          return;
        }
        peer_ = {.role = "server", .name = remote_};
        open();
        return;
      }
      case Stage::kOpen:
        if (handlers_->on_frame) handlers_->on_frame(self(), std::move(payload));
        return;
    }
  }

  void open() {
    stage_ = Stage::kOpen;
    open_.store(true, std::memory_order_release);
    timer_.cancel();
    if (owner_ != nullptr) owner_->authenticated();
    if (side_ == Side::kServer) {
      if (handlers_->on_open) handlers_->on_open(self());
    } else {
      report(absl::OkStatus());
    }
  }

  void send_now(std::string_view payload) {
    std::lock_guard lock(out_mutex_);
    append_frame(pending_, payload);
    if (!write_scheduled_) {
      write_scheduled_ = true;
      asio::post(io_, [self = self()] { self->flush(); });
    }
  }

  // Writes everything pending as one buffer, then whatever queued meanwhile.
  void flush() {
    {
      std::lock_guard lock(out_mutex_);
      if (closed_ || pending_.empty()) {
        write_scheduled_ = false;
        if (close_when_flushed_ && !closed_) {
          asio::post(io_, [self = self()] { self->finish("closed by this side"); });
        }
        return;
      }
      writing_.swap(pending_);
      pending_.clear();
    }
    asio::async_write(socket_, asio::buffer(writing_), [self = self()](const boost::system::error_code& error, size_t) {
      if (self->closed_) return;
      if (error) {
        self->finish(fmt::format("writing failed: {}", error.message()));
        return;
      }
      self->writing_.clear();
      self->flush();
    });
  }

  // Tells the client's caller how the handshake ended (once).
  void report(const absl::Status& status) {
    if (done_ == nullptr) return;
    std::function<void(absl::Status)> done = std::move(done_);
    done_ = nullptr;
    done(status);
  }

  // The handshake failed with `status` (client side).
  void fail_with(const absl::Status& status) {
    report(status);
    finish(std::string(status.message()));
  }

  // Ends the link because of the peer (logged by a server) or a failure before it opened.
  void fail(const std::string& why, bool peer_at_fault) {
    if (closed_) return;
    if (peer_at_fault && owner_ != nullptr) owner_->note(fmt::format("refused {}: {}", remote_, why));
    report(absl::UnavailableError(why));
    finish(why);
  }

  void finish(const std::string& why) {
    if (closed_.exchange(true)) return;
    boost::system::error_code ignored;
    {
      // Under the lock: a sender writing directly (send) must not meet a closed or reused fd.
      std::lock_guard lock(out_mutex_);
      pending_.clear();
      socket_.shutdown(tcp::socket::shutdown_both, ignored);
      socket_.close(ignored);
    }
    timer_.cancel();
    report(absl::UnavailableError(why));
    if (stage_ == Stage::kOpen && handlers_->on_close) handlers_->on_close(self(), why);
    if (owner_ != nullptr) owner_->forget(self());
  }

  asio::io_context& io_;
  tcp::socket socket_;
  const Side side_;
  const std::shared_ptr<const LinkHandlers> handlers_;
  const std::string token_;
  LinkOwner* const owner_;
  asio::steady_timer timer_;
  FrameDecoder decoder_;
  std::vector<char> buffer_;
  Stage stage_ = Stage::kAwaitingHello;
  std::atomic<bool> closed_{false};
  Nonce server_nonce_{};
  Nonce client_nonce_{};
  PeerIdentity identity_;  // client side: who this side says it is
  PeerIdentity peer_;
  std::string remote_ = "(not connected)";
  std::string local_;
  std::function<void(absl::Status)> done_;  // client side, until the handshake ends

  std::mutex out_mutex_;
  std::string pending_;           // guarded by out_mutex_: framed bytes not yet handed to a write
  bool write_scheduled_ = false;  // guarded by out_mutex_: a flush is posted or a write in flight
  bool close_when_flushed_ = false;  // guarded by out_mutex_: close() came while writing
  std::string writing_;           // io thread: the bytes of the write in flight
  std::chrono::steady_clock::time_point last_send_{};  // guarded by out_mutex_: the last send()
  std::atomic<bool> open_{false};  // the handshake is done: send() may write directly

  friend void connect_link_async(IoThread&, const std::string&, uint16_t, const std::string&, const PeerIdentity&,
                                 LinkHandlers, std::function<void(absl::StatusOr<LinkPtr>)>, size_t,
                                 std::chrono::milliseconds);
  void set_client_stage() { stage_ = Stage::kAwaitingChallenge; }
};

// ---- IoThread ---------------------------------------------------------------------------------

struct IoThread::Impl {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::thread thread;
};

IoThread::IoThread(std::string name) : impl_(std::make_unique<Impl>()) {
  (void)name;
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

IoThread::~IoThread() {
  impl_->work.reset();
  impl_->io.stop();
  impl_->thread.join();
}

asio::io_context& IoThread::context() { return impl_->io; }

void IoThread::post(std::function<void()> task) { asio::post(impl_->io, std::move(task)); }

// ---- LinkServer -------------------------------------------------------------------------------

struct LinkServer::Impl final : LinkOwner {
  LinkServerOptions options;
  std::shared_ptr<const LinkHandlers> handlers;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::set<LinkPtr> links;  // server thread only
  mutable std::mutex log_mutex;
  std::vector<std::string> log_lines;
  std::atomic<uint64_t> authenticated_count{0};
  uint16_t port = 0;  // set before the thread starts

  void note(std::string line) override {
    if (options.on_log) options.on_log(line);
    std::lock_guard<std::mutex> lock(log_mutex);
    log_lines.push_back(std::move(line));
  }
  void forget(const LinkPtr& link) override { links.erase(link); }
  void authenticated() override { ++authenticated_count; }

  void accept() {
    acceptor.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
      if (error) {
        if (error != asio::error::operation_aborted) note(fmt::format("accept failed: {}", error.message()));
        if (!acceptor.is_open()) return;
      } else {
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        auto link = std::make_shared<SocketLink>(io, std::move(socket), SocketLink::Side::kServer, handlers,
                                                 options.max_frame_bytes, options.token, this);
        links.insert(link);
        link->start_server(options.handshake_timeout);
      }
      accept();
    });
  }
};

absl::StatusOr<std::unique_ptr<LinkServer>> LinkServer::create(LinkServerOptions options, LinkHandlers handlers) {
  if (absl::Status token = validate_token(options.token); !token.ok()) return token;
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->handlers = std::make_shared<const LinkHandlers>(std::move(handlers));
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
  return std::unique_ptr<LinkServer>(new LinkServer(std::move(impl)));
}

LinkServer::LinkServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LinkServer::~LinkServer() {
  asio::post(impl_->io, [impl = impl_.get()] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    impl->io.stop();
  });
  impl_->thread.join();
  impl_->links.clear();
}

uint16_t LinkServer::port() const { return impl_->port; }

std::vector<std::string> LinkServer::log() const {
  std::lock_guard<std::mutex> lock(impl_->log_mutex);
  return impl_->log_lines;
}

uint64_t LinkServer::authenticated() const { return impl_->authenticated_count.load(); }

void LinkServer::post(std::function<void()> task) { asio::post(impl_->io, std::move(task)); }

// ---- Clients ----------------------------------------------------------------------------------

void connect_link_async(IoThread& io, const std::string& host, uint16_t port, const std::string& token,
                        const PeerIdentity& identity, LinkHandlers handlers,
                        std::function<void(absl::StatusOr<LinkPtr>)> done, size_t max_frame_bytes,
                        std::chrono::milliseconds timeout) {
  if (absl::Status valid = validate_token(token); !valid.ok()) {
    done(valid);
    return;
  }
  auto link = std::make_shared<SocketLink>(io.context(), tcp::socket(io.context()), SocketLink::Side::kClient,
                                           std::make_shared<const LinkHandlers>(std::move(handlers)), max_frame_bytes,
                                           token, nullptr);
  link->set_client_stage();
  io.post([&io, link, host, port, timeout, identity, done = std::move(done)]() mutable {
    boost::system::error_code error;
    tcp::resolver resolver(io.context());
    const tcp::resolver::results_type endpoints = resolver.resolve(host, std::to_string(port), error);
    if (error) {
      done(absl::UnavailableError(fmt::format("cannot resolve {}:{}: {}", host, port, error.message())));
      return;
    }
    // The link reports once; it holds itself (its handlers keep it alive) until then.
    std::weak_ptr<SocketLink> weak = link;
    link->start_client(endpoints, timeout, identity,
                       [weak, host, port, done = std::move(done)](absl::Status status) {
                         if (!status.ok()) {
                           done(absl::Status(status.code(),
                                             fmt::format("{}:{}: {}", host, port, std::string(status.message()))));
                           return;
                         }
                         std::shared_ptr<SocketLink> open = weak.lock();
                         if (open == nullptr) {
                           done(absl::UnavailableError(fmt::format("{}:{}: the link ended", host, port)));
                           return;
                         }
                         done(LinkPtr(std::move(open)));
                       });
  });
}

absl::StatusOr<LinkPtr> connect_link(IoThread& io, const std::string& host, uint16_t port, const std::string& token,
                                     const PeerIdentity& identity, LinkHandlers handlers, size_t max_frame_bytes,
                                     std::chrono::milliseconds timeout) {
  auto done = std::make_shared<std::promise<absl::StatusOr<LinkPtr>>>();
  std::future<absl::StatusOr<LinkPtr>> outcome = done->get_future();
  connect_link_async(
      io, host, port, token, identity, std::move(handlers),
      [done](absl::StatusOr<LinkPtr> link) { done->set_value(std::move(link)); }, max_frame_bytes, timeout);
  return outcome.get();
}

absl::Status parse_address(std::string_view address, std::string* host, uint16_t* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == address.size()) {
    return absl::InvalidArgumentError(fmt::format("address '{}' is not HOST:PORT", address));
  }
  const std::string_view digits = address.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || value == 0 || value > 65535) {
    return absl::InvalidArgumentError(fmt::format("address '{}': '{}' is not a port (1-65535)", address, digits));
  }
  *host = std::string(address.substr(0, colon));
  *port = static_cast<uint16_t>(value);
  return absl::OkStatus();
}

}  // namespace troupe::net
