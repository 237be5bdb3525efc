// Links over real loopback TCP: frames flow both ways at any time and in order, both ends hear
// when a link closes, and a client with the wrong token is refused.
#include "runtime/net/link.h"

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "fmt/format.h"
#include "gtest/gtest.h"

namespace troupe::net {
namespace {

const std::string kToken = "link-test-token-0123456789";

// Frames and close reasons a side received, waited for with a deadline.
class Inbox {
 public:
  void add(std::string frame) {
    std::lock_guard lock(mutex_);
    frames_.push_back(std::move(frame));
    changed_.notify_all();
  }
  void closed(std::string why) {
    std::lock_guard lock(mutex_);
    close_reasons_.push_back(std::move(why));
    changed_.notify_all();
  }
  std::vector<std::string> wait_frames(size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(10), [&] { return frames_.size() >= count; });
    return frames_;
  }
  std::vector<std::string> wait_closed() {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(10), [&] { return !close_reasons_.empty(); });
    return close_reasons_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> frames_;
  std::vector<std::string> close_reasons_;
};

TEST(Link, FramesFlowBothWaysInOrderAndTheServerMaySpeakFirst) {
  Inbox server_inbox;
  Inbox client_inbox;
  absl::StatusOr<std::unique_ptr<LinkServer>> server = LinkServer::create(
      {.token = kToken},
      {.on_open = [](const LinkPtr& link) { link->send("welcome " + link->peer().name); },
       .on_frame = [&](const LinkPtr& link, std::string frame) {
         server_inbox.add(frame);
         link->send("echo " + frame);
       }});
  ASSERT_TRUE(server.ok()) << server.status();
  IoThread io;
  absl::StatusOr<LinkPtr> link =
      connect_link(io, "127.0.0.1", (*server)->port(), kToken, {.role = "driver", .name = "alice"},
                   {.on_frame = [&](const LinkPtr&, std::string frame) { client_inbox.add(std::move(frame)); }});
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_EQ((*link)->peer().role, "server");
  constexpr int kFrames = 2000;
  // From two threads at once: each thread's frames stay in its order.
  std::thread other([&] {
    for (int i = 0; i < kFrames / 2; ++i) (*link)->send(fmt::format("b{}", i));
  });
  for (int i = 0; i < kFrames / 2; ++i) (*link)->send(fmt::format("a{}", i));
  other.join();
  const std::vector<std::string> received = server_inbox.wait_frames(kFrames);
  ASSERT_EQ(received.size(), static_cast<size_t>(kFrames));
  int next_a = 0;
  int next_b = 0;
  for (const std::string& frame : received) {
    if (frame[0] == 'a') {
      EXPECT_EQ(frame, fmt::format("a{}", next_a++));
    } else {
      EXPECT_EQ(frame, fmt::format("b{}", next_b++));
    }
  }
  EXPECT_EQ(next_a, kFrames / 2);
  EXPECT_EQ(next_b, kFrames / 2);
  const std::vector<std::string> echoes = client_inbox.wait_frames(kFrames + 1);
  ASSERT_EQ(echoes.size(), static_cast<size_t>(kFrames + 1));
  EXPECT_EQ(echoes[0], "welcome alice");
  for (int i = 0; i < kFrames; ++i) EXPECT_EQ(echoes[i + 1], "echo " + received[i]);
  EXPECT_TRUE((*server)->log().empty());
}

TEST(Link, ConnectLinkAsyncMayRunOnItsOwnIoThreadAndQuietAndBusyFramesStayInOrder) {
  Inbox server_inbox;
  Inbox client_inbox;
  absl::StatusOr<std::unique_ptr<LinkServer>> server = LinkServer::create(
      {.token = kToken}, {.on_frame = [&](const LinkPtr& link, std::string frame) {
                            server_inbox.add(frame);
                            link->send("echo " + frame);
                          }});
  ASSERT_TRUE(server.ok()) << server.status();
  IoThread io;
  // Called from the io thread itself (connect_link would wait for itself there): both outcomes
  // are reported on that thread.
  std::promise<std::pair<absl::StatusOr<LinkPtr>, bool>> opened;
  std::promise<std::pair<absl::Status, bool>> refused;
  io.post([&] {
    const std::thread::id io_thread = std::this_thread::get_id();
    connect_link_async(io, "127.0.0.1", (*server)->port(), kToken, {.role = "direct", .name = "p7 1"},
                       {.on_frame = [&](const LinkPtr&, std::string frame) { client_inbox.add(std::move(frame)); }},
                       [&, io_thread](absl::StatusOr<LinkPtr> link) {
                         opened.set_value({std::move(link), std::this_thread::get_id() == io_thread});
                       });
    connect_link_async(io, "127.0.0.1", 1, kToken, {.role = "direct", .name = "p7 2"}, {},
                       [&, io_thread](absl::StatusOr<LinkPtr> link) {
                         refused.set_value({link.status(), std::this_thread::get_id() == io_thread});
                       });
  });
  auto [link, link_on_io] = opened.get_future().get();
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_TRUE(link_on_io);
  EXPECT_EQ((*link)->local_address(), "127.0.0.1");
  auto [refusal, refusal_on_io] = refused.get_future().get();
  EXPECT_EQ(refusal.message(), "127.0.0.1:1: cannot connect: Connection refused");
  EXPECT_TRUE(refusal_on_io);
  // Frames after a pause are written by the sending thread, those of a burst by the io thread:
  // one order either way.
  std::vector<std::string> sent;
  for (int i = 0; i < 300; ++i) {
    sent.push_back(fmt::format("f{}", i));
    (*link)->send(sent.back());
    if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(server_inbox.wait_frames(sent.size()), sent);
  const std::vector<std::string> echoes = client_inbox.wait_frames(sent.size());
  ASSERT_EQ(echoes.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(echoes[i], "echo " + sent[i]);
}

TEST(Link, BothEndsHearWhenALinkCloses) {
  Inbox server_inbox;
  Inbox client_inbox;
  absl::StatusOr<std::unique_ptr<LinkServer>> server = LinkServer::create(
      {.token = kToken}, {.on_frame = [](const LinkPtr& link, std::string frame) {
                            if (std::string_view(frame) == "bye") link->close();
                          },
                          .on_close = [&](const LinkPtr&, const std::string& why) { server_inbox.closed(why); }});
  ASSERT_TRUE(server.ok()) << server.status();
  IoThread io;
  absl::StatusOr<LinkPtr> link = connect_link(
      io, "127.0.0.1", (*server)->port(), kToken, {.role = "node", .name = "n1"},
      {.on_close = [&](const LinkPtr&, const std::string& why) { client_inbox.closed(why); }});
  ASSERT_TRUE(link.ok()) << link.status();
  (*link)->send("bye");
  EXPECT_EQ(server_inbox.wait_closed(), std::vector<std::string>{"closed by this side"});
  EXPECT_EQ(client_inbox.wait_closed(), std::vector<std::string>{"the peer closed the connection"});
  EXPECT_TRUE((*link)->closed());
  (*link)->send("dropped after the close");  // a no-op, not a crash
}

TEST(Link, AWrongTokenIsRefusedOnBothSidesAndAGoodAddressParses) {
  absl::StatusOr<std::unique_ptr<LinkServer>> server = LinkServer::create({.token = kToken}, {});
  ASSERT_TRUE(server.ok()) << server.status();
  IoThread io;
  absl::StatusOr<LinkPtr> link = connect_link(io, "127.0.0.1", (*server)->port(), "a-token-the-cluster-lacks",
                                              {.role = "driver", .name = "mallory"}, {});
  ASSERT_FALSE(link.ok());
  EXPECT_EQ(link.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(link.status().message(), "it refused this client (a wrong token?)")) << link.status();
  ASSERT_EQ((*server)->log().size(), 1u);
  EXPECT_TRUE((*server)->log()[0].ends_with(": authentication failed: driver 'mallory' does not know the cluster token"))
      << (*server)->log()[0];

  absl::StatusOr<LinkPtr> nobody =
      connect_link(io, "127.0.0.1", 1, kToken, {.role = "driver", .name = "x"}, {});
  ASSERT_FALSE(nobody.ok());
  EXPECT_EQ(nobody.status().message(), "127.0.0.1:1: cannot connect: Connection refused");

  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(parse_address("10.0.0.7:6379", &host, &port).ok());
  EXPECT_EQ(host, "10.0.0.7");
  EXPECT_EQ(port, 6379);
  EXPECT_EQ(parse_address("localhost", &host, &port).message(), "address 'localhost' is not HOST:PORT");
  EXPECT_EQ(parse_address("h:70000", &host, &port).message(), "address 'h:70000': '70000' is not a port (1-65535)");
}

}  // namespace
}  // namespace troupe::net
