// ClusterPlatform: the parts every role shares (the local platform, sends, watches, the member's
// link and storage). The head's routing is in head_router.cc.
#include "runtime/cluster/cluster_platform.h"

#include <cassert>
#include <chrono>
#include <cstdlib>
#include <future>
#include <thread>

#include "fmt/format.h"
#include "runtime/cluster/cluster_platform_impl.h"

namespace troupe::cluster {

namespace {

std::vector<ThreadsNodeOptions> local_nodes(NodeId node, const NodeInfo& info) {
  // The local platform numbers nodes from 0; only this OS process's own node is ever used there.
  std::vector<ThreadsNodeOptions> nodes(node.value + 1, ThreadsNodeOptions{.name = "(remote)", .cpus = 0});
  nodes[node.value] = {.name = info.name, .cpus = info.cpus, .memory_bytes = info.memory_bytes, .gpus = info.gpus,
                       .gpu_memory_bytes = info.gpu_memory_bytes, .gpu_flops = info.gpu_flops,
                       .gpu_bandwidth_bytes_per_s = info.gpu_bandwidth_bytes_per_s};
  return nodes;
}

}  // namespace

// ---- The member's store: the head's, over the link ----------------------------------------------

class RemoteStore final : public StorageService {
 public:
  explicit RemoteStore(ClusterPlatform::Impl& impl) : impl_(impl) {}
  using StorageService::get;
  using StorageService::put;
  using StorageService::remove;

  absl::Status put(std::string_view key, std::string value, StorageOperationOptions options) override {
    if (absl::Status valid = validate_storage_key(key); !valid.ok()) return valid;
    if (absl::Status valid = validate_storage_value(key, value); !valid.ok()) return valid;
    return call({.op = Storage::kPut, .key = std::string(key), .value = std::move(value), .fence = options.fence})
        .status;
  }
  absl::StatusOr<std::optional<std::string>> get(std::string_view key, StorageOperationOptions options) override {
    if (absl::Status valid = validate_storage_key(key); !valid.ok()) return valid;
    Result result = call({.op = Storage::kGet, .key = std::string(key), .fence = options.fence});
    if (!result.status.ok()) return result.status;
    return result.value;
  }
  absl::Status remove(std::string_view key, StorageOperationOptions options) override {
    if (absl::Status valid = validate_storage_key(key); !valid.ok()) return valid;
    return call({.op = Storage::kRemove, .key = std::string(key), .fence = options.fence}).status;
  }

 private:
  struct Result {
    absl::Status status;
    std::optional<std::string> value;
  };
  // Blocks this pool thread (not the fiber: like the file store's I/O) until the head answers.
  Result call(Storage request) {
    std::future<StorageReply> reply = impl_.storage_request(std::move(request));
    if (reply.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      return {.status = absl::UnavailableError("the head did not answer a storage request within 30 s")};
    }
    StorageReply answer = reply.get();
    if (answer.code != 0) {
      return {.status = absl::Status(static_cast<absl::StatusCode>(answer.code), answer.message)};
    }
    return {.status = absl::OkStatus(), .value = answer.found ? std::optional<std::string>(std::move(answer.value))
                                                              : std::nullopt};
  }
  ClusterPlatform::Impl& impl_;
};

// ---- Impl: shared -------------------------------------------------------------------------------

ClusterPlatform::Impl::Impl(Role r) : role(r) {}

ClusterPlatform::Impl::~Impl() = default;

void ClusterPlatform::Impl::make_local(ThreadsPlatformOptions options) {
  assert(self != nullptr);
  options.context_platform = self;  // troupe::storage and the rest reach the cluster's services
  auto made = std::make_unique<ThreadsPlatform>(std::move(options));
  std::lock_guard lock(mutex);
  local = std::move(made);
}

bool ClusterPlatform::Impl::is_local(ProcessId process) {
  std::lock_guard lock(mutex);
  return local_processes.contains(process.value);
}

void ClusterPlatform::Impl::tell_exit(ProcessId watcher, ProcessId target, std::string why) {
  local->run_in(watcher, [this, watcher, target, why = std::move(why)] {
    if (ProcessHost* host = local->host_of(watcher)) host->on_process_exit(target, why);
  });
}

// ---- Impl: members ------------------------------------------------------------------------------

void ClusterPlatform::Impl::on_member_frame(std::string frame) {
  absl::StatusOr<Message> message = Message::parse(frame);
  if (!message.ok()) {
    std::fputs(fmt::format("troupe: dropping a frame from the head: {}\n", message.status().message()).c_str(), stderr);
    return;
  }
  switch (message->kind()) {
    case Kind::kAccepted: {
      absl::StatusOr<Accepted> accepted = message->body<Accepted>();
      if (!accepted.ok()) break;
      {
        std::lock_guard lock(mutex);
        node_snapshot.clear();
        for (const WireNode& node : accepted->nodes) node_snapshot.push_back(from_wire(node));
      }
      if (accepted_promise != nullptr) {
        accepted_promise->set_value(*accepted);
        accepted_promise.reset();
      }
      return;
    }
    case Kind::kDeliver: {
      absl::StatusOr<Deliver> deliver = message->body<Deliver>();
      if (!deliver.ok()) break;
      {
        std::lock_guard lock(mutex);
        if (!local_processes.contains(deliver->to)) {  // not started yet: the head routed it early
          early.push_back(std::move(*deliver));
          return;
        }
      }
      local->send(ProcessId{deliver->from}, ProcessId{deliver->to}, std::move(deliver->payload),
                  static_cast<Channel>(deliver->channel));
      return;
    }
    case Kind::kProcessExited: {
      absl::StatusOr<ProcessExited> exited = message->body<ProcessExited>();
      if (!exited.ok()) break;
      tell_exit(ProcessId{exited->watcher}, ProcessId{exited->target}, std::move(exited->why));
      return;
    }
    case Kind::kNodes: {
      absl::StatusOr<Nodes> nodes = message->body<Nodes>();
      if (!nodes.ok()) break;
      std::lock_guard lock(mutex);
      node_snapshot.clear();
      for (const WireNode& node : nodes->nodes) node_snapshot.push_back(from_wire(node));
      nodes_changed.notify_all();
      return;
    }
    case Kind::kStorageReply: {
      absl::StatusOr<StorageReply> reply = message->body<StorageReply>();
      if (!reply.ok()) break;
      answer(storage_waiters, std::move(*reply));
      return;
    }
    case Kind::kChaosKilled: {
      absl::StatusOr<ChaosKilled> killed = message->body<ChaosKilled>();
      if (!killed.ok()) break;
      answer(chaos_waiters, std::move(*killed));
      return;
    }
    case Kind::kLocated: {
      absl::StatusOr<Located> located = message->body<Located>();
      if (!located.ok()) break;
      on_located(*located);
      return;
    }
    case Kind::kDirectOpen: {
      absl::StatusOr<DirectOpen> open = message->body<DirectOpen>();
      if (!open.ok()) break;
      on_direct_open(*open);
      return;
    }
    default:
      std::fputs(fmt::format("troupe: the head sent an unexpected {} frame\n", kind_name(message->kind())).c_str(),
                 stderr);
      return;
  }
  std::fputs(fmt::format("troupe: dropping a {} frame from the head that does not decode\n",
                         kind_name(message->kind())).c_str(), stderr);
}

void ClusterPlatform::Impl::on_member_closed(const std::string& why) {
  ThreadsPlatform* platform = nullptr;  // null while a driver joins: it sees `disconnected` instead
  {
    std::lock_guard lock(mutex);
    platform = local.get();
    disconnected = true;
    disconnect_reason = why;
    for (auto& [request, waiter] : storage_waiters) {
      waiter->set_value({.request = request, .code = static_cast<int32_t>(absl::StatusCode::kUnavailable),
                         .message = fmt::format("lost the connection to the head: {}", why)});
    }
    storage_waiters.clear();
    nodes_changed.notify_all();
  }
  close_direct_links();  // nothing more flows once the head has let this member go
  if (accepted_promise != nullptr) {
    accepted_promise->set_exception(std::make_exception_ptr(std::runtime_error(why)));
    accepted_promise.reset();
  }
  if (platform != nullptr) platform->stop();
}

std::future<StorageReply> ClusterPlatform::Impl::storage_request(Storage body) {
  if (std::optional<std::future<StorageReply>> reply = request(Kind::kStorage, std::move(body), storage_waiters)) {
    return std::move(*reply);
  }
  std::promise<StorageReply> lost;
  {
    std::lock_guard lock(mutex);
    lost.set_value({.code = static_cast<int32_t>(absl::StatusCode::kUnavailable),
                    .message = fmt::format("lost the connection to the head: {}", disconnect_reason)});
  }
  return lost.get_future();
}

absl::StatusOr<Accepted> ClusterPlatform::Impl::join(const MemberOptions& options, const net::PeerIdentity& identity,
                                                     const std::function<std::string()>& registration) {
  token = options.token;
  direct_links = options.direct_links;
  io = std::make_unique<net::IoThread>();
  accepted_promise = std::make_shared<std::promise<Accepted>>();
  std::future<Accepted> accepted = accepted_promise->get_future();
  absl::StatusOr<net::LinkPtr> connected =
      net::connect_link(*io, options.host, options.port, options.token, identity,
                        {.on_frame = [this](const net::LinkPtr&, std::string frame) { on_member_frame(std::move(frame)); },
                         .on_close = [this](const net::LinkPtr&, const std::string& why) { on_member_closed(why); }});
  if (!connected.ok()) return connected.status();
  link = *connected;
  link->send(registration());
  if (accepted.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    return absl::DeadlineExceededError("the head did not accept this member within 10 s");
  }
  try {
    return accepted.get();
  } catch (const std::exception& e) {
    return absl::UnavailableError(fmt::format("the head closed the connection: {}", e.what()));
  }
}

// ---- Impl: direct links -------------------------------------------------------------------------

namespace {

using SteadyClock = std::chrono::steady_clock;

// How long a member waits before asking the head again where a worker listens: while it starts,
// and after a direct link to it failed or closed (its messages go through the head meanwhile).
constexpr auto kLocateAgainStarting = std::chrono::milliseconds(10);
constexpr auto kLocateAgainFailed = std::chrono::seconds(1);

// "p7 3": the initiator's process and its link counter, as a direct link's peer name.
std::optional<uint64_t> parse_direct_name(const std::string& name) {
  unsigned process = 0;
  unsigned counter = 0;
  char tail = 0;
  if (std::sscanf(name.c_str(), "p%u %u%c", &process, &counter, &tail) != 2) return std::nullopt;
  return (uint64_t{process} << 32) | counter;
}

}  // namespace

void ClusterPlatform::Impl::send_remote(ProcessId from, ProcessId to, std::string payload, Channel channel) {
  std::string frame = encode_frame_body(Kind::kDeliver, Deliver{.from = from.value, .to = to.value,
                                                                .channel = static_cast<uint8_t>(channel),
                                                                .payload = std::move(payload)});
  // Under the mutex: the switch to a direct link (a DirectOpen through the head, then frames on the
  // link) must not interleave with a send choosing its path.
  std::lock_guard lock(mutex);
  if (direct_links && to != kDirectoryProcess && !disconnected) {
    auto [entry, fresh] = direct_out.try_emplace(to.value);
    DirectOut& out = entry->second;
    if (out.state == DirectOut::State::kOpen) {
      out.link->send(std::move(frame));
      return;
    }
    if (fresh || (out.state == DirectOut::State::kRetry && SteadyClock::now() >= out.retry_at)) {
      out.state = DirectOut::State::kLocating;
      link->send(encode_frame_body(Kind::kLocate, Locate{.request = next_request++, .process = to.value}));
    }
  }
  link->send(std::move(frame));
}

void ClusterPlatform::Impl::deliver_locked(Deliver deliver) {
  if (!local_processes.contains(deliver.to)) {  // not started yet
    early.push_back(std::move(deliver));
    return;
  }
  local->send(ProcessId{deliver.from}, ProcessId{deliver.to}, std::move(deliver.payload),
              static_cast<Channel>(deliver.channel));
}

void ClusterPlatform::Impl::on_located(const Located& located) {
  uint64_t key = 0;
  {
    std::lock_guard lock(mutex);
    auto found = direct_out.find(located.process);
    if (found == direct_out.end() || found->second.state != DirectOut::State::kLocating || disconnected ||
        direct_stopped) {
      return;
    }
    DirectOut& out = found->second;
    if (located.port == 0) {
      out.state = located.later ? DirectOut::State::kRetry : DirectOut::State::kNever;
      out.retry_at = SteadyClock::now() + kLocateAgainStarting;
      return;
    }
    out.state = DirectOut::State::kConnecting;
    key = (uint64_t{assigned.value} << 32) | next_direct++;
    direct_in[key] = {.peer = located.process};
  }
  const uint32_t process = located.process;
  net::connect_link_async(*io, located.host, located.port, token,
                          {.role = "direct", .name = fmt::format("p{} {}", assigned.value, key & 0xffffffffu)},
                          direct_handlers(key), [this, process, key](absl::StatusOr<net::LinkPtr> connected) {
                            on_direct_connected(process, key, std::move(connected));
                          });
}

void ClusterPlatform::Impl::on_direct_connected(uint32_t process, uint64_t key, absl::StatusOr<net::LinkPtr> connected) {
  net::LinkPtr unused;
  {
    std::lock_guard lock(mutex);
    auto out = direct_out.find(process);
    const bool wanted = out != direct_out.end() && out->second.state == DirectOut::State::kConnecting &&
                        !disconnected && !direct_stopped;
    if (!connected.ok() || !wanted) {
      if (wanted) {
        out->second.state = DirectOut::State::kRetry;
        out->second.retry_at = SteadyClock::now() + kLocateAgainFailed;
      }
      direct_in.erase(key);
      if (connected.ok()) unused = *connected;
    } else {
      direct_in[key].link = *connected;
      // Through the head first: the worker holds what comes on the link until this arrives.
      link->send(encode_frame_body(Kind::kDirectOpen, DirectOpen{.from = assigned.value, .to = process, .link = key}));
      out->second.state = DirectOut::State::kOpen;
      out->second.link = *connected;
    }
  }
  if (unused != nullptr) unused->close();
}

void ClusterPlatform::Impl::on_direct_open(const DirectOpen& open) {
  std::lock_guard lock(mutex);
  if (direct_stopped) return;
  DirectIn& in = direct_in[open.link];  // made here if the link has not opened on this side yet
  in.peer = open.from;
  in.switched = true;
  for (Deliver& deliver : in.held) deliver_locked(std::move(deliver));
  in.held.clear();
  if (in.fence_held && in.link != nullptr) in.link->send(encode_frame_body(Kind::kFenced, Fence{}));
  in.fence_held = false;
  if (in.closed) {
    direct_in.erase(open.link);
    return;
  }
  if (in.link != nullptr) switch_back_locked(open.link);
}

void ClusterPlatform::Impl::switch_back_locked(uint64_t key) {
  if (key >> 32 == assigned.value || disconnected) return;  // this side initiated it: already switched
  DirectIn& in = direct_in[key];
  DirectOut& out = direct_out[in.peer];
  if (out.state == DirectOut::State::kOpen) return;  // it has a link of its own to the peer
  link->send(encode_frame_body(Kind::kDirectOpen, DirectOpen{.from = assigned.value, .to = in.peer, .link = key}));
  out.state = DirectOut::State::kOpen;
  out.link = in.link;
}

void ClusterPlatform::Impl::on_direct_frame(uint64_t key, const net::LinkPtr& from, std::string frame) {
  absl::StatusOr<Message> message = Message::parse(frame);
  if (message.ok() && message->kind() == Kind::kFenced) {
    std::lock_guard lock(mutex);
    fences.erase(from.get());
    fences_changed.notify_all();
    return;
  }
  if (message.ok() && message->kind() == Kind::kFence) {
    std::lock_guard lock(mutex);
    auto found = direct_in.find(key);
    if (found != direct_in.end() && !found->second.switched) {
      found->second.fence_held = true;  // answered once what the link holds is released
    } else {
      from->send(encode_frame_body(Kind::kFenced, Fence{}));
    }
    return;
  }
  std::optional<Deliver> deliver;
  if (message.ok() && message->kind() == Kind::kDeliver) {
    if (absl::StatusOr<Deliver> body = message->body<Deliver>(); body.ok()) deliver = std::move(*body);
  }
  if (!deliver.has_value()) {
    from->refuse(message.ok() ? fmt::format("a direct link carries Deliver frames, not {}", kind_name(message->kind()))
                              : std::string(message.status().message()));
    return;
  }
  std::lock_guard lock(mutex);
  auto found = direct_in.find(key);
  if (found == direct_in.end()) return;
  if (!found->second.switched) {
    found->second.held.push_back(std::move(*deliver));
    return;
  }
  deliver_locked(std::move(*deliver));
}

void ClusterPlatform::Impl::on_direct_closed(uint64_t key, const net::LinkPtr& closed) {
  std::lock_guard lock(mutex);
  if (fences.erase(closed.get()) > 0) fences_changed.notify_all();
  if (auto found = direct_in.find(key); found != direct_in.end()) {
    if (found->second.switched || found->second.held.empty()) {
      direct_in.erase(found);
    } else {  // what it held waits for the DirectOpen still on its way through the head
      found->second.closed = true;
      found->second.link = nullptr;
    }
  }
  for (auto& [process, out] : direct_out) {
    if (out.link == closed) {  // through the head again; ask again later (the worker may be gone)
      out.state = DirectOut::State::kRetry;
      out.retry_at = SteadyClock::now() + kLocateAgainFailed;
      out.link = nullptr;
    }
  }
}

net::LinkHandlers ClusterPlatform::Impl::direct_handlers(std::optional<uint64_t> key) {
  auto key_of = [key](const net::LinkPtr& link) {
    if (key.has_value()) return *key;
    return link->user_data != nullptr ? *std::static_pointer_cast<uint64_t>(link->user_data) : uint64_t{0};
  };
  net::LinkHandlers handlers{
      .on_frame = [this, key_of](const net::LinkPtr& link, std::string frame) {
        on_direct_frame(key_of(link), link, std::move(frame));
      },
      .on_close = [this, key_of](const net::LinkPtr& link, const std::string&) { on_direct_closed(key_of(link), link); },
  };
  if (!key.has_value()) {  // the acceptor's: the link's key is in its peer's name
    handlers.on_open = [this](const net::LinkPtr& link) {
      std::optional<uint64_t> parsed = parse_direct_name(link->peer().name);
      if (link->peer().role != "direct" || !parsed.has_value() || (*parsed >> 32) == 0) {
        link->refuse(fmt::format("a {} '{}' is not a direct link", link->peer().role, link->peer().name));
        return;
      }
      link->user_data = std::make_shared<uint64_t>(*parsed);
      std::lock_guard lock(mutex);
      if (direct_stopped || disconnected) {
        link->close();
        return;
      }
      DirectIn& in = direct_in[*parsed];
      in.link = link;
      in.peer = static_cast<uint32_t>(*parsed >> 32);
      if (in.switched) switch_back_locked(*parsed);
    };
  }
  return handlers;
}

absl::Status ClusterPlatform::Impl::listen_direct(const std::string& address) {
  absl::StatusOr<std::unique_ptr<net::LinkServer>> server = net::LinkServer::create(
      {.bind_address = address, .port = 0, .token = token,
       .on_log = [this](const std::string& line) {
         std::fputs(fmt::format("troupe worker {}: direct links: {}\n", assigned, line).c_str(), stderr);
       }},
      direct_handlers(std::nullopt));
  if (!server.ok()) return server.status();
  direct_server = std::move(*server);
  return absl::OkStatus();
}

std::vector<net::LinkPtr> ClusterPlatform::Impl::take_direct_links_locked() {
  std::vector<net::LinkPtr> links;
  for (auto& [process, out] : direct_out) {
    if (out.link != nullptr) links.push_back(std::move(out.link));
    out.state = DirectOut::State::kNever;
  }
  for (auto& [key, in] : direct_in) {
    if (in.link != nullptr) links.push_back(std::move(in.link));
  }
  direct_in.clear();
  return links;
}

void ClusterPlatform::Impl::fence_direct_links(std::chrono::milliseconds wait) {
  std::vector<net::LinkPtr> links;
  std::unique_lock lock(mutex);
  for (const auto& [process, out] : direct_out) {
    if (out.state == DirectOut::State::kOpen && fences.insert(out.link.get()).second) links.push_back(out.link);
  }
  for (const net::LinkPtr& direct : links) direct->send(encode_frame_body(Kind::kFence, Fence{}));
  fences_changed.wait_for(lock, wait, [&] { return fences.empty(); });
  fences.clear();
}

void ClusterPlatform::Impl::close_direct_links() {
  std::vector<net::LinkPtr> links;
  {
    std::lock_guard lock(mutex);
    links = take_direct_links_locked();
  }
  for (const net::LinkPtr& direct : links) direct->close();
}

// ---- Factories ----------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<ClusterPlatform>> ClusterPlatform::join_as_driver(MemberOptions options,
                                                                                 std::string binary, size_t min_nodes,
                                                                                 Nanos timeout) {
  std::unique_ptr<ClusterPlatform> platform(new ClusterPlatform(std::make_unique<Impl>(Role::kDriver)));
  Impl* impl = platform->impl_.get();
  // The link's handlers may run before make_local: they touch `local` for Deliver, which the head
  // sends only after its Accepted (handled without the local platform), and in on_member_closed,
  // which reads it under the mutex (the head may close the link at any time).
  absl::StatusOr<Accepted> accepted =
      impl->join(options, {.role = "driver", .name = fmt::format("pid {}", getpid())},
                 [&] { return encode_frame_body(Kind::kRegisterDriver, RegisterDriver{.binary = std::move(binary)}); });
  if (!accepted.ok()) return accepted.status();
  impl->assigned = ProcessId{accepted->process};
  NodeInfo head_node = accepted->nodes.empty() ? NodeInfo{.name = "head"} : from_wire(accepted->nodes.front());
  impl->make_local({.threads = options.threads, .nodes = local_nodes(NodeId{0}, head_node), .seed = options.seed,
                    .trace = options.trace, .chaos = options.chaos, .deadline = options.deadline});
  impl->store = std::make_unique<RemoteStore>(*impl);
  {
    std::unique_lock lock(impl->mutex);
    auto enough = [&] {
      size_t alive = 0;
      for (const NodeInfo& node : impl->node_snapshot) alive += node.alive ? 1 : 0;
      return alive >= min_nodes || impl->disconnected;
    };
    if (!impl->nodes_changed.wait_for(lock, std::chrono::nanoseconds(timeout), enough)) {
      return absl::DeadlineExceededError(fmt::format("the cluster has {} nodes, not the {} this run needs, after {:.1f} s",
                                                     impl->node_snapshot.size(), min_nodes, timeout / 1e9));
    }
    if (impl->disconnected) {
      return absl::UnavailableError(fmt::format("lost the connection to the head: {}", impl->disconnect_reason));
    }
  }
  return platform;
}

absl::StatusOr<std::unique_ptr<ClusterPlatform>> ClusterPlatform::join_as_worker(MemberOptions options,
                                                                                 ProcessId process, NodeId node,
                                                                                 const NodeInfo& node_info) {
  std::unique_ptr<ClusterPlatform> platform(new ClusterPlatform(std::make_unique<Impl>(Role::kWorker)));
  Impl* impl = platform->impl_.get();
  impl->assigned = process;
  impl->make_local({.threads = options.threads, .nodes = local_nodes(node, node_info), .seed = options.seed,
                    .trace = options.trace, .chaos = options.chaos, .deadline = options.deadline});
  impl->store = std::make_unique<RemoteStore>(*impl);
  absl::Status listening = absl::OkStatus();
  absl::StatusOr<Accepted> accepted =
      impl->join(options, {.role = "worker", .name = fmt::format("{}", process)}, [&] {
        WorkerReady ready{.process = process.value};
        // Direct links are accepted on the address this worker reaches the head from: a cluster
        // on loopback stays on loopback.
        if (options.direct_links) listening = impl->listen_direct(impl->link->local_address());
        if (listening.ok() && impl->direct_server != nullptr) {
          ready.direct_host = impl->link->local_address();
          ready.direct_port = impl->direct_server->port();
        }
        return encode_frame_body(Kind::kWorkerReady, ready);
      });
  if (!accepted.ok()) return accepted.status();
  if (!listening.ok()) {
    std::fputs(fmt::format("troupe worker {}: no direct links ({}); messages go through the head\n", process,
                           listening.message()).c_str(), stderr);
  }
  return platform;
}

ClusterPlatform::ClusterPlatform(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->self = this; }

ClusterPlatform::~ClusterPlatform() {
  if (impl_->role != Role::kHead) disconnect(kSecond);
  impl_->shutdown();
}

void ClusterPlatform::Impl::shutdown() {
  if (head != nullptr) head->stop();
  // The link threads go first (they deliver into the local platform), then the processes. A link
  // must not outlive its io thread's context: drop this side's reference first.
  {
    // No link may outlive its io thread's context: let go of every direct link first (and take
    // no new one), then stop the server that accepted some of them.
    std::lock_guard lock(mutex);
    direct_stopped = true;
    (void)take_direct_links_locked();
  }
  direct_server.reset();
  link.reset();
  io.reset();
  if (head != nullptr) head.reset();
  local.reset();
}

uint16_t ClusterPlatform::port() const { return impl_->head != nullptr ? impl_->head->port() : 0; }

ProcessId ClusterPlatform::assigned_process() const { return impl_->assigned; }

absl::Status ClusterPlatform::start_local_process(ProcessId process, std::string name,
                                                  std::unique_ptr<ProcessHost> host) {
  NodeId node = impl_->role == Role::kWorker ? NodeId{static_cast<uint32_t>(impl_->local->nodes().size() - 1)}
                                             : NodeId{0};
  absl::StatusOr<ProcessId> started = impl_->local->start_process_as(process, node, std::move(name), std::move(host));
  if (!started.ok()) return started.status();
  std::vector<Deliver> early;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->local_processes.insert(process.value);
    early.swap(impl_->early);
  }
  for (Deliver& deliver : early) {
    impl_->local->send(ProcessId{deliver.from}, ProcessId{deliver.to}, std::move(deliver.payload),
                       static_cast<Channel>(deliver.channel));
  }
  return absl::OkStatus();
}

std::vector<std::string> ClusterPlatform::refusals() const {
  return impl_->head != nullptr ? impl_->head->refusals() : std::vector<std::string>{};
}

size_t ClusterPlatform::live_workers() const { return impl_->head != nullptr ? impl_->head->live_workers() : 0; }

bool ClusterPlatform::disconnected() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->disconnected;
}

absl::StatusOr<std::string> ClusterPlatform::chaos_kill(uint64_t pick) {
  if (impl_->role != Role::kDriver) return absl::FailedPreconditionError("only a driver asks for chaos kills");
  std::optional<std::future<ChaosKilled>> reply =
      impl_->request(Kind::kChaosKill, ChaosKill{.pick = pick}, impl_->chaos_waiters);
  if (!reply.has_value()) return absl::UnavailableError("lost the connection to the head");
  if (reply->wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    return absl::UnavailableError("the head did not answer a chaos kill within 5 s");
  }
  ChaosKilled killed = reply->get();
  if (killed.process == 0) return std::string();
  return fmt::format("p{} ({})", killed.process, killed.name);
}

std::vector<ProcessId> ClusterPlatform::direct_peers() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<ProcessId> peers;
  for (const auto& [process, out] : impl_->direct_out) {
    if (out.state == Impl::DirectOut::State::kOpen) peers.push_back(ProcessId{process});
  }
  return peers;
}

void ClusterPlatform::disconnect(Nanos wait) {
  if (impl_->link == nullptr) return;
  impl_->close_direct_links();
  impl_->link->close();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(wait);
  while (!impl_->link->closed() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// ---- Platform -----------------------------------------------------------------------------------

Nanos ClusterPlatform::now() const { return impl_->local->now(); }

std::vector<NodeInfo> ClusterPlatform::nodes() const {
  if (impl_->head != nullptr) return impl_->head->nodes();
  std::lock_guard lock(impl_->mutex);
  return impl_->node_snapshot;
}

absl::StatusOr<ProcessId> ClusterPlatform::start_process(NodeId node, std::string name,
                                                         std::unique_ptr<ProcessHost> host) {
  if (impl_->head == nullptr) {
    return absl::FailedPreconditionError("only the head starts processes on a cluster");
  }
  return impl_->head->start_process(node, std::move(name), std::move(host));
}

void ClusterPlatform::kill_process(ProcessId process, std::string_view why) {
  if (impl_->head != nullptr) {
    impl_->head->kill(process, why);
    return;
  }
  if (impl_->is_local(process)) {
    // This OS process's own process ends: the head hears why (in order, before the link closes),
    // then the OS process exits once run() returns (a worker's main sees disconnected()).
    // What it sent on direct links reaches its peers before the head hears of its end.
    impl_->fence_direct_links(std::chrono::seconds(2));
    impl_->link->send(encode_frame_body(Kind::kProcessEnded, ProcessEnded{.process = process.value, .why = std::string(why)}));
    impl_->link->close();
    impl_->close_direct_links();
    impl_->local->stop();
    impl_->local->kill_process(process, why);  // from the process's own fiber: does not return
    return;
  }
  impl_->link->send(encode_frame_body(Kind::kKill, Kill{.process = process.value, .why = std::string(why)}));
}

void ClusterPlatform::watch_process(ProcessId watcher, ProcessId target) {
  if (impl_->head != nullptr) {
    impl_->head->watch(watcher, target);
    return;
  }
  if (impl_->is_local(target)) {
    impl_->local->watch_process(watcher, target);
    return;
  }
  impl_->link->send(encode_frame_body(Kind::kWatch, Watch{.watcher = watcher.value, .target = target.value}));
}

void ClusterPlatform::watch_nodes(ProcessId watcher) {
  if (impl_->head != nullptr) impl_->head->watch_nodes(watcher, /*failures=*/false);
}

void ClusterPlatform::watch_node_failures(ProcessId watcher) {
  if (impl_->head != nullptr) impl_->head->watch_nodes(watcher, /*failures=*/true);
}

void ClusterPlatform::spawn(ProcessId process, std::string name, absl::AnyInvocable<void()> body) {
  impl_->local->spawn(process, std::move(name), std::move(body));
}
void ClusterPlatform::park(const WaitReason& reason) { impl_->local->park(reason); }
void ClusterPlatform::unpark(FiberId fiber) { impl_->local->unpark(fiber); }
void ClusterPlatform::yield() { impl_->local->yield(); }
void ClusterPlatform::run_parallel(int pool, int lanes, absl::FunctionRef<void()> body) {
  impl_->local->run_parallel(pool, lanes, body);
}
void ClusterPlatform::enter_turn() { impl_->local->enter_turn(); }
void ClusterPlatform::leave_turn() { impl_->local->leave_turn(); }
TimerId ClusterPlatform::start_timer(ProcessId process, Nanos deadline, absl::AnyInvocable<void()> callback) {
  return impl_->local->start_timer(process, deadline, std::move(callback));
}
void ClusterPlatform::cancel_timer(TimerId timer) { impl_->local->cancel_timer(timer); }

void ClusterPlatform::send(ProcessId from, ProcessId to, std::string payload, Channel channel) {
  if (impl_->head != nullptr) {
    impl_->head->route(from, to, std::move(payload), channel);
    return;
  }
  if (impl_->is_local(to)) {
    impl_->local->send(from, to, std::move(payload), channel);
    return;
  }
  impl_->send_remote(from, to, std::move(payload), channel);
}

uint64_t ClusterPlatform::random_u64() { return impl_->local->random_u64(); }
absl::Status ClusterPlatform::run() { return impl_->local->run(); }
void ClusterPlatform::stop() { impl_->local->stop(); }
void ClusterPlatform::trace(TraceEvent event) { impl_->local->trace(std::move(event)); }
StorageService& ClusterPlatform::storage() {
  return impl_->store != nullptr ? *impl_->store : impl_->local->storage();
}
bool ClusterPlatform::buggify(std::string_view site) { return impl_->local->buggify(site); }
void ClusterPlatform::bind_gpus(ProcessId process, std::vector<uint32_t> devices, int32_t weight) {
  impl_->local->bind_gpus(process, std::move(devices), weight);
}
absl::Status ClusterPlatform::gpu_run(uint32_t device, const gpu::Work& work, absl::FunctionRef<void()>* kernel) {
  return impl_->local->gpu_run(device, work, kernel);
}
absl::StatusOr<uint64_t> ClusterPlatform::gpu_alloc(uint32_t device, int64_t bytes) {
  return impl_->local->gpu_alloc(device, bytes);
}
void ClusterPlatform::gpu_free(uint64_t allocation) { impl_->local->gpu_free(allocation); }

ThreadsPlatform& ClusterPlatform::local() { return *impl_->local; }

}  // namespace troupe::cluster
