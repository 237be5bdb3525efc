#include "runtime/net/wire_server.h"

#include "boost/asio.hpp"
#include "fmt/format.h"
#include "runtime/net/link.h"

namespace troupe::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr size_t kReadChunkBytes = 64 << 10;
}  // namespace

struct WireServer::Impl {
  std::unique_ptr<LinkServer> links;
};

absl::StatusOr<std::unique_ptr<WireServer>> WireServer::create(WireServerOptions options, FrameHandler handler) {
  const size_t max_frame_bytes = options.max_frame_bytes;
  LinkHandlers handlers{
      .on_frame = [handler = std::move(handler), max_frame_bytes](const LinkPtr& link, std::string payload) {
        std::string reply;
        try {
          reply = handler(link->peer(), std::move(payload));
        } catch (const std::exception& e) {
          link->refuse(fmt::format("the frame handler threw: {}", e.what()));
          return;
        }
        if (reply.size() > max_frame_bytes) {
          link->refuse(fmt::format("a reply of {} bytes exceeds the frame limit", reply.size()));
          return;
        }
        link->send(std::move(reply));
      }};
  absl::StatusOr<std::unique_ptr<LinkServer>> server = LinkServer::create(std::move(options), std::move(handlers));
  if (!server.ok()) return server.status();
  auto impl = std::make_unique<Impl>();
  impl->links = std::move(*server);
  return std::unique_ptr<WireServer>(new WireServer(std::move(impl)));
}

WireServer::WireServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WireServer::~WireServer() = default;

uint16_t WireServer::port() const { return impl_->links->port(); }

std::vector<std::string> WireServer::log() const { return impl_->links->log(); }

uint64_t WireServer::authenticated() const { return impl_->links->authenticated(); }

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
