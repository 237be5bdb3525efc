// The head: registrations, routing, watches, kills, node failures and the served store.
//
// Every route change happens under one mutex; what it sets off (telling a watcher, killing a
// worker, sending frames) is collected as effects and run after the mutex is released, so no
// callback into the local platform or a link runs under it.
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <thread>

#include "fmt/format.h"
#include "runtime/cluster/cluster_platform_impl.h"
#include "runtime/cluster/node_agent.h"
#include "runtime/core/directory.h"
#include "runtime/wire/codec.h"
#include "runtime/wire/messages.h"

namespace troupe::cluster {

namespace {

using SteadyClock = std::chrono::steady_clock;
using Effects = std::vector<std::function<void()>>;

void run_all(Effects& effects) {
  for (auto& effect : effects) effect();
  effects.clear();
}

// The body of `message`, or nullopt after refusing the link that sent a frame that does not decode.
template <typename Body>
std::optional<Body> body_or_refuse(const Message& message, const net::LinkPtr& link) {
  absl::StatusOr<Body> body = message.body<Body>();
  if (body.ok()) return std::move(*body);
  link->refuse(fmt::format("a {} frame does not decode", kind_name(message.kind())));
  return std::nullopt;
}

// What a link has registered as, kept in Link::user_data.
struct LinkTag {
  enum class Kind { kUnregistered, kNode, kDriver, kWorker };
  Kind kind = Kind::kUnregistered;
  uint32_t id = 0;  // the node's id, or the process's
};

LinkTag& tag_of(const net::LinkPtr& link) {
  if (link->user_data == nullptr) link->user_data = std::make_shared<LinkTag>();
  return *std::static_pointer_cast<LinkTag>(link->user_data);
}

struct Route {
  enum class State { kStarting, kLive, kDead };
  State state = State::kStarting;
  bool local = false;   // in the head's OS process (the directory)
  bool worker = false;
  uint32_t node = 0;
  std::string name;
  std::string binary;   // what its workers' children run (a driver's own binary)
  net::LinkPtr link;
  std::vector<std::string> pending;  // Deliver frames waiting for the worker to connect
  std::string direct_host;  // a worker: where it accepts direct links (port 0: it does not)
  uint16_t direct_port = 0;
  std::vector<uint32_t> watchers;
  std::string why;      // once dead
};

struct NodeEntry {
  NodeInfo info;
  net::LinkPtr link;  // null for node 0 (the head's own agent)
  SteadyClock::time_point heard;
};

}  // namespace

struct Head::State {
  State(ClusterPlatform::Impl& i, HeadOptions o) : impl(i), options(std::move(o)) {}

  ClusterPlatform::Impl& impl;
  Head* head = nullptr;
  const HeadOptions options;
  std::unique_ptr<net::LinkServer> server;
  std::unique_ptr<NodeAgent> agent;  // node 0's workers

  mutable std::mutex mutex;
  std::vector<NodeEntry> nodes;          // index = node id
  std::map<uint32_t, Route> routes;      // by process id
  uint32_t next_process = kDirectoryProcess.value + 1;
  std::vector<ProcessId> node_watchers;     // on_node_up
  std::vector<ProcessId> failure_watchers;  // on_node_down
  bool stopping = false;
  std::condition_variable stop_changed;
  std::thread heartbeat_thread;

  // All under `mutex`; effects run after it is released.
  std::vector<NodeInfo> node_infos() const {
    std::vector<NodeInfo> infos;
    for (const NodeEntry& node : nodes) infos.push_back(node.info);
    return infos;
  }
  std::vector<WireNode> wire_nodes() const {
    std::vector<WireNode> out;
    for (const NodeEntry& node : nodes) out.push_back(to_wire(node.info));
    return out;
  }
  void broadcast_nodes(Effects& effects) {
    std::string frame = encode_frame_body(Kind::kNodes, Nodes{.nodes = wire_nodes()});
    for (auto& [id, route] : routes) {
      if (route.state == Route::State::kLive && !route.worker && route.link != nullptr) {
        effects.push_back([link = route.link, frame] { link->send(frame); });
      }
    }
  }
  void tell(uint32_t watcher, uint32_t target, const std::string& why, Effects& effects) {
    auto found = routes.find(watcher);
    if (found == routes.end() || found->second.state == Route::State::kDead) return;
    if (found->second.local) {
      effects.push_back([this, watcher, target, why] { impl.tell_exit(ProcessId{watcher}, ProcessId{target}, why); });
    } else if (found->second.link != nullptr) {
      std::string frame = encode_frame_body(Kind::kProcessExited, ProcessExited{.watcher = watcher, .target = target, .why = why});
      effects.push_back([link = found->second.link, frame = std::move(frame)] { link->send(frame); });
    }
  }
  void mark_dead(uint32_t process, const std::string& why, Effects& effects) {
    auto found = routes.find(process);
    if (found == routes.end() || found->second.state == Route::State::kDead) return;
    Route& route = found->second;
    route.state = Route::State::kDead;
    route.why = why;
    route.pending.clear();
    std::vector<uint32_t> watchers = std::move(route.watchers);
    for (uint32_t watcher : watchers) tell(watcher, process, why, effects);
  }
  void kill_worker_process(const Route& route, uint32_t process, Effects& effects) {
    if (route.node == 0) {
      effects.push_back([this, process] { agent->kill(process); });
    } else if (route.node < nodes.size() && nodes[route.node].link != nullptr) {
      std::string frame = encode_frame_body(Kind::kKillWorker, KillWorker{.process = process});
      effects.push_back([link = nodes[route.node].link, frame = std::move(frame)] { link->send(frame); });
    }
  }
  void node_dead(uint32_t node, const std::string& why, Effects& effects) {
    if (node >= nodes.size() || !nodes[node].info.alive) return;
    nodes[node].info.alive = false;
    std::fputs(fmt::format("troupe head: node {} ({}) is dead: {}\n", node, nodes[node].info.name, why).c_str(), stderr);
    for (auto& [id, route] : routes) {
      if (route.worker && route.node == node && route.state != Route::State::kDead) {
        mark_dead(id, fmt::format("its node n{} died: {}", node, why), effects);
      }
    }
    for (ProcessId watcher : failure_watchers) {
      effects.push_back([this, watcher, node] {
        impl.local->run_in(watcher, [this, watcher, node] {
          if (ProcessHost* host = impl.local->host_of(watcher)) host->on_node_down(NodeId{node});
        });
      });
    }
    if (nodes[node].link != nullptr) effects.push_back([link = nodes[node].link] { link->close(); });
    broadcast_nodes(effects);
  }

  // Sends `frame` (a DirectOpen) to `to`'s OS process as route() sends a Deliver, in the same
  // order: held while the worker starts, dropped for a dead sender or target or a local target.
  void forward(uint32_t from, uint32_t to, std::string frame) {
    net::LinkPtr target_link;
    {
      std::lock_guard lock(mutex);
      auto sender = routes.find(from);
      if (sender != routes.end() && sender->second.state == Route::State::kDead) return;
      auto found = routes.find(to);
      if (found == routes.end() || found->second.state == Route::State::kDead || found->second.local) return;
      if (found->second.state == Route::State::kStarting) {
        found->second.pending.push_back(std::move(frame));
        return;
      }
      target_link = found->second.link;
    }
    if (target_link != nullptr) target_link->send(std::move(frame));
  }

  // Frames from members, on the server's io thread.
  void on_frame(const net::LinkPtr& link, std::string frame);
  void on_close(const net::LinkPtr& link, const std::string& why);
  void serve_storage(const net::LinkPtr& link, const Storage& request);
  void heartbeat_loop();
};

// ---- Creation and teardown ----------------------------------------------------------------------

Head::Head(ClusterPlatform::Impl& /*impl*/) {}

absl::StatusOr<std::unique_ptr<Head>> Head::create(ClusterPlatform::Impl& impl, const HeadOptions& options) {
  std::unique_ptr<Head> head(new Head(impl));
  head->state_ = std::make_unique<State>(impl, options);
  State& state = *head->state_;
  state.head = head.get();
  NodeInfo head_node{.id = NodeId{0}, .name = options.node.name, .cpus = options.node.cpus,
                     .memory_bytes = options.node.memory_bytes, .gpus = options.node.gpus};
  head_node.gpu_memory_bytes = options.node.gpu_memory_bytes;
  head_node.gpu_flops = options.node.gpu_flops;
  head_node.gpu_bandwidth_bytes_per_s = options.node.gpu_bandwidth_bytes_per_s;
  head_node.gpu_lost.assign(static_cast<size_t>(std::max(options.node.gpus, 0)), false);
  state.nodes.push_back({.info = head_node, .link = nullptr, .heard = SteadyClock::now()});
  state.routes[kDirectoryProcess.value] = {.state = Route::State::kLive, .local = true, .name = "directory"};
  absl::StatusOr<std::unique_ptr<net::LinkServer>> server = net::LinkServer::create(
      {.bind_address = options.bind_address, .port = options.port, .token = options.token,
       .on_log = [](const std::string& line) { std::fputs(fmt::format("troupe head: {}\n", line).c_str(), stderr); }},
      {.on_frame = [&state](const net::LinkPtr& link, std::string frame) { state.on_frame(link, std::move(frame)); },
       .on_close = [&state](const net::LinkPtr& link, const std::string& why) { state.on_close(link, why); }});
  if (!server.ok()) return server.status();
  state.server = std::move(*server);
  state.agent = std::make_unique<NodeAgent>(
      NodeAgentOptions{.head_host = options.bind_address == "0.0.0.0" ? "127.0.0.1" : options.bind_address,
                       .head_port = state.server->port(), .token = options.token, .node = to_wire(head_node)},
      [&state](uint32_t process, const std::string& why) {
        Effects effects;
        {
          std::lock_guard lock(state.mutex);
          state.mark_dead(process, fmt::format("its worker process {}", why), effects);
        }
        run_all(effects);
      });
  state.heartbeat_thread = std::thread([&state] { state.heartbeat_loop(); });
  return head;
}

Head::~Head() { stop(); }

void Head::stop() {
  State& state = *state_;
  {
    std::lock_guard lock(state.mutex);
    if (state.stopping) return;
    state.stopping = true;
  }
  state.stop_changed.notify_all();
  if (state.heartbeat_thread.joinable()) state.heartbeat_thread.join();
  {
    // Links must not outlive the server's io context: the routes let go of theirs first.
    std::lock_guard lock(state.mutex);
    for (auto& [id, route] : state.routes) route.link.reset();
    for (NodeEntry& node : state.nodes) node.link.reset();
  }
  state.server.reset();  // closes every link: node daemons end and take their workers along
  state.agent.reset();   // node 0's workers
}

uint16_t Head::port() const { return state_->server != nullptr ? state_->server->port() : 0; }

std::vector<std::string> Head::refusals() const {
  return state_->server != nullptr ? state_->server->log() : std::vector<std::string>{};
}

size_t Head::live_workers() const {
  std::lock_guard lock(state_->mutex);
  size_t live = 0;
  for (const auto& [id, route] : state_->routes) live += route.worker && route.state != Route::State::kDead ? 1 : 0;
  return live;
}

std::vector<NodeInfo> Head::nodes() const {
  std::lock_guard lock(state_->mutex);
  return state_->node_infos();
}

// ---- The Platform side (the directory's calls) --------------------------------------------------

absl::StatusOr<ProcessId> Head::start_process(NodeId node, std::string name, std::unique_ptr<ProcessHost> host) {
  State& state = *state_;
  std::optional<std::string> boot = host->boot_image();
  if (!boot.has_value()) {
    return absl::FailedPreconditionError(fmt::format("'{}' cannot run in a worker process of its own", name));
  }
  absl::StatusOr<wire::ActorSpec> spec = wire::decode<wire::ActorSpec>(*boot, "the actor spec");
  if (!spec.ok()) return spec.status();
  StartWorker request{.node = node.value, .directory = kDirectoryProcess.value, .name = std::move(name),
                      .boot = std::move(*boot)};
  std::string devices;
  for (uint32_t device : spec->gpu_ids) devices += fmt::format("{}{}", devices.empty() ? "" : ",", device);
  request.env.emplace_back("CUDA_VISIBLE_DEVICES", devices);
  for (const auto& [key, value] : spec->env_vars) request.env.emplace_back(key, value);
  Effects effects;
  {
    std::lock_guard lock(state.mutex);
    if (node.value >= state.nodes.size()) return absl::NotFoundError(fmt::format("no node {}", node));
    NodeEntry& entry = state.nodes[node.value];
    if (!entry.info.alive) return absl::UnavailableError(fmt::format("node {} is dead", node));
    auto owner = state.routes.find(spec->owner);
    request.binary = owner != state.routes.end() ? owner->second.binary : std::string();
    if (request.binary.empty()) {
      return absl::FailedPreconditionError(
          fmt::format("no binary to run the worker of '{}' in: its owner p{} is not known to the head", request.name,
                      spec->owner));
    }
    request.process = state.next_process++;
    state.routes[request.process] = {.state = Route::State::kStarting, .worker = true, .node = node.value,
                                     .name = request.name, .binary = request.binary};
    if (node.value == 0) {
      effects.push_back([&state, request] { state.agent->start(request); });
    } else {
      std::string frame = encode_frame_body(Kind::kStartWorker, request);
      effects.push_back([link = entry.link, frame = std::move(frame)] { link->send(frame); });
    }
  }
  const ProcessId id{request.process};
  run_all(effects);
  return id;
}

void Head::kill(ProcessId process, std::string_view why) {
  State& state = *state_;
  Effects effects;
  {
    std::lock_guard lock(state.mutex);
    auto found = state.routes.find(process.value);
    if (found == state.routes.end() || found->second.state == Route::State::kDead) return;
    Route& route = found->second;
    if (route.local) {
      effects.push_back([&state, process, why = std::string(why)] { state.impl.local->kill_process(process, why); });
    } else if (route.worker) {
      state.kill_worker_process(route, process.value, effects);
    } else if (route.link != nullptr) {
      effects.push_back([link = route.link] { link->close(); });
    }
    state.mark_dead(process.value, std::string(why), effects);
  }
  run_all(effects);
}

void Head::watch(ProcessId watcher, ProcessId target) {
  State& state = *state_;
  Effects effects;
  {
    std::lock_guard lock(state.mutex);
    auto found = state.routes.find(target.value);
    if (found == state.routes.end()) {
      state.tell(watcher.value, target.value, "no such process", effects);
    } else if (found->second.state == Route::State::kDead) {
      state.tell(watcher.value, target.value, found->second.why, effects);
    } else {
      found->second.watchers.push_back(watcher.value);
    }
  }
  run_all(effects);
}

void Head::watch_nodes(ProcessId watcher, bool failures) {
  std::lock_guard lock(state_->mutex);
  (failures ? state_->failure_watchers : state_->node_watchers).push_back(watcher);
}

void Head::route(ProcessId from, ProcessId to, std::string payload, Channel channel) {
  State& state = *state_;
  net::LinkPtr link;
  std::string frame;
  {
    std::lock_guard lock(state.mutex);
    auto sender = state.routes.find(from.value);
    if (sender != state.routes.end() && sender->second.state == Route::State::kDead) return;  // a dead sender
    auto found = state.routes.find(to.value);
    if (found == state.routes.end() || found->second.state == Route::State::kDead) return;
    Route& target = found->second;
    if (!target.local) {
      frame = encode_frame_body(Kind::kDeliver, Deliver{.from = from.value, .to = to.value,
                                                        .channel = static_cast<uint8_t>(channel),
                                                        .payload = std::move(payload)});
      if (target.state == Route::State::kStarting) {
        target.pending.push_back(std::move(frame));
        return;
      }
      link = target.link;
    }
  }
  if (link != nullptr) {
    link->send(std::move(frame));
  } else {
    state.impl.local->send(from, to, std::move(payload), channel);
  }
}

// ---- Frames from members ------------------------------------------------------------------------

void Head::State::on_frame(const net::LinkPtr& link, std::string frame) {
  absl::StatusOr<Message> message = Message::parse(frame);
  if (!message.ok()) {
    link->refuse(std::string(message.status().message()));
    return;
  }
  LinkTag& tag = tag_of(link);
  const Kind kind = message->kind();
  const bool registered = tag.kind != LinkTag::Kind::kUnregistered;
  const bool registration = kind == Kind::kRegisterNode || kind == Kind::kRegisterDriver || kind == Kind::kWorkerReady;
  if (registered == registration) {
    link->refuse(registered ? fmt::format("sent {} twice", kind_name(kind))
                            : fmt::format("sent {} before registering", kind_name(kind)));
    return;
  }
  Effects effects;
  switch (kind) {
    case Kind::kRegisterNode: {
      std::optional<RegisterNode> request = body_or_refuse<RegisterNode>(*message, link);
      if (!request) return;
      if (request->node.cpus < 0 || request->node.gpus < 0 || request->node.gpus > 1024) {
        link->refuse(fmt::format("a {} frame does not decode", kind_name(kind)));
        return;
      }
      std::lock_guard lock(mutex);
      const uint32_t id = static_cast<uint32_t>(nodes.size());
      NodeInfo info = from_wire(request->node);
      info.id = NodeId{id};
      if (info.name.empty()) info.name = fmt::format("node{}", id);
      nodes.push_back({.info = info, .link = link, .heard = SteadyClock::now()});
      tag = {.kind = LinkTag::Kind::kNode, .id = id};
      std::fputs(fmt::format("troupe head: node {} ({}) joined from {}: {} CPUs, {} GPUs\n", id, info.name,
                             link->remote(), info.cpus, info.gpus).c_str(), stderr);
      link->send(encode_frame_body(Kind::kAccepted, Accepted{.node = id, .directory = kDirectoryProcess.value,
                                                             .nodes = wire_nodes()}));
      broadcast_nodes(effects);
      for (ProcessId watcher : node_watchers) {
        effects.push_back([this, watcher, id] {
          impl.local->run_in(watcher, [this, watcher, id] {
            if (ProcessHost* host = impl.local->host_of(watcher)) host->on_node_up(NodeId{id});
          });
        });
      }
      break;
    }
    case Kind::kRegisterDriver: {
      std::optional<RegisterDriver> request = body_or_refuse<RegisterDriver>(*message, link);
      if (!request) return;
      if (request->binary.empty()) {
        link->refuse(fmt::format("a {} frame does not decode", kind_name(kind)));
        return;
      }
      std::lock_guard lock(mutex);
      const uint32_t id = next_process++;
      routes[id] = {.state = Route::State::kLive, .name = "driver", .binary = request->binary, .link = link};
      tag = {.kind = LinkTag::Kind::kDriver, .id = id};
      std::fputs(fmt::format("troupe head: driver p{} connected from {} ({})\n", id, link->remote(),
                             request->binary).c_str(), stderr);
      link->send(encode_frame_body(Kind::kAccepted, Accepted{.process = id, .directory = kDirectoryProcess.value,
                                                             .nodes = wire_nodes()}));
      break;
    }
    case Kind::kWorkerReady: {
      std::optional<WorkerReady> request = body_or_refuse<WorkerReady>(*message, link);
      if (!request) return;
      // The refusal and the close are effects, run once the lock is released: on this io thread
      // they end the link at once, and its on_close takes the lock.
      std::lock_guard lock(mutex);
      auto found = routes.find(request->process);
      if (found == routes.end() || !found->second.worker || found->second.link != nullptr) {
        effects.push_back([link, why = fmt::format("p{} is not a worker the head is starting", request->process)] {
          link->refuse(why);
        });
        break;
      }
      Route& route = found->second;
      tag = {.kind = LinkTag::Kind::kWorker, .id = request->process};
      if (route.state == Route::State::kDead) {  // killed before it connected
        effects.push_back([link] { link->close(); });
        break;
      }
      route.state = Route::State::kLive;
      route.link = link;
      route.direct_host = request->direct_host;
      route.direct_port = request->direct_port;
      link->send(encode_frame_body(Kind::kAccepted, Accepted{.node = route.node, .process = request->process,
                                                             .directory = kDirectoryProcess.value,
                                                             .nodes = wire_nodes()}));
      for (std::string& pending : route.pending) link->send(std::move(pending));
      route.pending.clear();
      break;
    }
    case Kind::kDeliver: {
      std::optional<Deliver> deliver = body_or_refuse<Deliver>(*message, link);
      if (!deliver) return;
      head->route(ProcessId{deliver->from}, ProcessId{deliver->to}, std::move(deliver->payload),
                       static_cast<Channel>(deliver->channel));
      break;
    }
    case Kind::kLocate: {
      std::optional<Locate> locate = body_or_refuse<Locate>(*message, link);
      if (!locate) return;
      Located reply{.request = locate->request, .process = locate->process};
      {
        std::lock_guard lock(mutex);
        auto found = routes.find(locate->process);
        if (found != routes.end() && found->second.worker) {
          const Route& route = found->second;
          if (route.state == Route::State::kStarting) {
            reply.later = true;
          } else if (route.state == Route::State::kLive) {
            reply.host = route.direct_host;
            reply.port = route.direct_port;
          }
        }
      }
      link->send(encode_frame_body(Kind::kLocated, reply));
      break;
    }
    case Kind::kDirectOpen: {
      std::optional<DirectOpen> open = body_or_refuse<DirectOpen>(*message, link);
      if (!open) return;
      forward(open->from, open->to, std::move(frame));
      break;
    }
    case Kind::kWatch: {
      std::optional<Watch> watch = body_or_refuse<Watch>(*message, link);
      if (!watch) return;
      head->watch(ProcessId{watch->watcher}, ProcessId{watch->target});
      break;
    }
    case Kind::kKill: {
      std::optional<Kill> request = body_or_refuse<Kill>(*message, link);
      if (!request) return;
      head->kill(ProcessId{request->process}, request->why);
      break;
    }
    case Kind::kProcessEnded: {
      std::optional<ProcessEnded> ended = body_or_refuse<ProcessEnded>(*message, link);
      if (!ended) return;
      std::lock_guard lock(mutex);
      mark_dead(ended->process, ended->why, effects);
      break;
    }
    case Kind::kWorkerExited: {
      std::optional<WorkerExited> exited = body_or_refuse<WorkerExited>(*message, link);
      if (!exited) return;
      if (tag.kind != LinkTag::Kind::kNode) {
        link->refuse(fmt::format("a {} frame does not decode", kind_name(kind)));
        return;
      }
      std::lock_guard lock(mutex);
      mark_dead(exited->process, fmt::format("its worker process {}", exited->why), effects);
      break;
    }
    case Kind::kHeartbeat: {
      if (tag.kind != LinkTag::Kind::kNode) {
        link->refuse("only a node sends heartbeats");
        return;
      }
      std::lock_guard lock(mutex);
      if (tag.id < nodes.size()) nodes[tag.id].heard = SteadyClock::now();
      break;
    }
    case Kind::kStorage: {
      std::optional<Storage> request = body_or_refuse<Storage>(*message, link);
      if (!request) return;
      serve_storage(link, *request);
      break;
    }
    case Kind::kChaosKill: {
      std::optional<ChaosKill> request = body_or_refuse<ChaosKill>(*message, link);
      if (!request) return;
      if (tag.kind != LinkTag::Kind::kDriver) {
        link->refuse(fmt::format("a {} frame does not decode", kind_name(kind)));
        return;
      }
      ChaosKilled reply{.request = request->request};
      {
        std::lock_guard lock(mutex);
        std::vector<uint32_t> live;
        for (const auto& [id, route] : routes) {
          if (route.worker && route.state == Route::State::kLive) live.push_back(id);
        }
        if (!live.empty()) {
          reply.process = live[request->pick % live.size()];
          const Route& route = routes.at(reply.process);
          reply.name = route.name;
          // A real crash: the worker's end is found as any other (its link, its daemon's report).
          kill_worker_process(route, reply.process, effects);
          std::fputs(fmt::format("troupe head: chaos: SIGKILL of worker p{} ({})\n", reply.process, route.name).c_str(),
                     stderr);
        }
      }
      link->send(encode_frame_body(Kind::kChaosKilled, reply));
      break;
    }
    default:
      link->refuse(fmt::format("a member may not send {}", kind_name(kind)));
      return;
  }
  run_all(effects);
}

void Head::State::serve_storage(const net::LinkPtr& link, const Storage& request) {
  StorageService& store = impl.local->storage();
  StorageReply reply{.request = request.request};
  absl::Status status;
  const StorageOperationOptions options{.fence = request.fence};
  switch (request.op) {
    case Storage::kPut: status = store.put(request.key, request.value, options); break;
    case Storage::kGet: {
      absl::StatusOr<std::optional<std::string>> value = store.get(request.key, options);
      status = value.status();
      if (value.ok() && value->has_value()) {
        reply.found = true;
        reply.value = std::move(**value);
      }
      break;
    }
    case Storage::kRemove: status = store.remove(request.key, options); break;
    default: status = absl::InvalidArgumentError(fmt::format("unknown storage operation {}", request.op));
  }
  reply.code = static_cast<int32_t>(status.code());
  reply.message = std::string(status.message());
  link->send(encode_frame_body(Kind::kStorageReply, reply));
}

void Head::State::on_close(const net::LinkPtr& link, const std::string& why) {
  const LinkTag tag = tag_of(link);
  Effects effects;
  {
    std::lock_guard lock(mutex);
    switch (tag.kind) {
      case LinkTag::Kind::kNode: node_dead(tag.id, fmt::format("its daemon's connection closed ({})", why), effects); break;
      case LinkTag::Kind::kDriver:
        std::fputs(fmt::format("troupe head: driver p{} disconnected ({})\n", tag.id, why).c_str(), stderr);
        mark_dead(tag.id, fmt::format("its driver disconnected ({})", why), effects);
        break;
      case LinkTag::Kind::kWorker:
        mark_dead(tag.id, fmt::format("its worker process's connection closed ({})", why), effects);
        break;
      case LinkTag::Kind::kUnregistered: break;
    }
  }
  run_all(effects);
}

void Head::State::heartbeat_loop() {
  std::unique_lock lock(mutex);
  while (!stopping) {
    stop_changed.wait_for(lock, std::chrono::milliseconds(100));
    if (stopping) break;
    const SteadyClock::time_point now = SteadyClock::now();
    Effects effects;
    for (size_t id = 1; id < nodes.size(); ++id) {
      if (nodes[id].info.alive && now - nodes[id].heard > std::chrono::nanoseconds(options.heartbeat_timeout)) {
        node_dead(static_cast<uint32_t>(id),
                  fmt::format("no heartbeat for {} ms", options.heartbeat_timeout / kMillisecond), effects);
      }
    }
    if (!effects.empty()) {
      lock.unlock();
      run_all(effects);
      lock.lock();
    }
  }
}

// ---- The head's factory -------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<ClusterPlatform>> ClusterPlatform::start_head(HeadOptions options) {
  std::unique_ptr<ClusterPlatform> platform(new ClusterPlatform(std::make_unique<Impl>(Role::kHead)));
  Impl* impl = platform->impl_.get();
  impl->make_local({.threads = options.threads, .nodes = {options.node}, .seed = options.seed,
                    .storage = {.directory = options.storage_directory}});
  absl::StatusOr<std::unique_ptr<Head>> head = Head::create(*impl, options);
  if (!head.ok()) return head.status();
  impl->head = std::move(*head);
  // The directory (Ray's GCS) is process 1 on node 0, in the head's own OS process.
  auto directory = std::make_unique<core::Directory>(*platform);
  directory->set_config({.directory = kDirectoryProcess});
  if (absl::Status started = platform->start_local_process(kDirectoryProcess, "directory", std::move(directory));
      !started.ok()) {
    return started;
  }
  return platform;
}

}  // namespace troupe::cluster
