#include "runtime/cluster/cluster_main.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include "fmt/format.h"
#include "runtime/cluster/node_agent.h"
#include "runtime/core/cluster.h"
#include "runtime/core/process_runtime.h"
#include "runtime/detail/args.h"
#include "runtime/net/link.h"
#include "runtime/wire/codec.h"

namespace troupe::cluster {

namespace {

// SIGINT and SIGTERM ask the role to stop; a poller turns the flag into a stop (a handler may
// only touch lock-free atomics).
std::atomic<bool> stop_signalled{false};
extern "C" void on_stop_signal(int) { stop_signalled.store(true); }

void install_stop_handlers() {
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

std::string read_stdin() {
  std::string bytes((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  return bytes;
}

void log(const std::string& line) {
  std::fputs((line + "\n").c_str(), stderr);
  std::fflush(stderr);
}

// Writes `text` to `path` through a temporary file and a rename, so a reader never sees half.
bool write_atomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    if (!out) return false;
  }
  return std::rename(temporary.c_str(), path.c_str()) == 0;
}

ThreadsNodeOptions threads_node(const WireNode& node) {
  return {.name = node.name, .cpus = node.cpus, .memory_bytes = node.memory_bytes, .gpus = node.gpus,
          .gpu_memory_bytes = node.gpu_memory_bytes, .gpu_flops = node.gpu_flops,
          .gpu_bandwidth_bytes_per_s = node.gpu_bandwidth_bytes_per_s};
}

}  // namespace

std::string self_executable() {
  char path[4096];
  const ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (length <= 0) return "";
  return std::string(path, static_cast<size_t>(length));
}

std::optional<int> run_cluster_role_if_asked() {
  const char* role = std::getenv("TROUPE_CLUSTER_ROLE");
  if (role == nullptr) return std::nullopt;
  const std::string which = role;
  unsetenv("TROUPE_CLUSTER_ROLE");  // not inherited by what this process starts
  if (which == "worker") return worker_main();
  if (which != "head" && which != "node") {
    log(fmt::format("troupe: TROUPE_CLUSTER_ROLE is '{}'; expected head, node or worker", which));
    return 2;
  }
  absl::StatusOr<LaunchSettings> settings = decode_limited<LaunchSettings>(read_stdin(), "the launch settings");
  if (!settings.ok()) {
    log(fmt::format("troupe {}: {}", which, std::string(settings.status().message())));
    return 2;
  }
  if (which == "head") {
    return head_main({.bind_address = settings->bind_address, .port = settings->port, .token = settings->token,
                      .node = threads_node(settings->node), .storage_directory = settings->storage_directory},
                     settings->ready_path);
  }
  return node_main({.head_host = settings->head_host, .head_port = settings->head_port, .token = settings->token,
                    .node = settings->node, .worker_output = settings->worker_output,
                    .ready_path = settings->ready_path});
}

int head_main(const HeadOptions& options, const std::string& ready_path) {
  install_stop_handlers();
  absl::StatusOr<std::unique_ptr<ClusterPlatform>> head = ClusterPlatform::start_head(options);
  if (!head.ok()) {
    log(fmt::format("troupe head: {}", std::string(head.status().message())));
    return 1;
  }
  ClusterPlatform& platform = **head;
  log(fmt::format("troupe head: listening on {}:{} (node 0 '{}': {} CPUs, {} GPUs)", options.bind_address,
                  platform.port(), options.node.name, options.node.cpus, options.node.gpus));
  if (!ready_path.empty() && !write_atomically(ready_path, fmt::format("{}\n", platform.port()))) {
    log(fmt::format("troupe head: cannot write {}", ready_path));
    return 1;
  }
  std::atomic<bool> done{false};
  std::thread poller([&] {
    while (!done.load()) {
      if (stop_signalled.load()) {
        platform.stop();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  absl::Status status = platform.run();
  done = true;
  poller.join();
  log("troupe head: stopping");
  head->reset();
  return status.ok() ? 0 : 1;
}

int node_main(const NodeDaemonOptions& options) {
  install_stop_handlers();
  std::atomic<bool> closed{false};
  std::string close_reason;
  std::mutex mutex;
  std::unique_ptr<NodeAgent> agent;  // reset before returning; outlives the io thread's handlers
  net::IoThread io;
  net::LinkPtr link;                 // dropped before the io thread ends
  std::atomic<uint32_t> node_id{0};
  auto on_frame = [&](const net::LinkPtr& from, std::string frame) {
    absl::StatusOr<Message> message = Message::parse(frame);
    if (!message.ok()) {
      log(fmt::format("troupe node: dropping a frame from the head: {}", std::string(message.status().message())));
      return;
    }
    switch (message->kind()) {
      case Kind::kAccepted: {
        absl::StatusOr<Accepted> accepted = message->body<Accepted>();
        if (accepted.ok()) {
          node_id = accepted->node;
          log(fmt::format("troupe node: joined the cluster at {}:{} as node {}", options.head_host, options.head_port,
                          accepted->node));
          if (!options.ready_path.empty() && !write_atomically(options.ready_path, fmt::format("{}\n", accepted->node))) {
            log(fmt::format("troupe node: cannot write {}", options.ready_path));
          }
        }
        return;
      }
      case Kind::kStartWorker: {
        absl::StatusOr<StartWorker> request = message->body<StartWorker>();
        if (!request.ok()) return;
        std::lock_guard lock(mutex);
        if (agent != nullptr) agent->start(std::move(*request));
        return;
      }
      case Kind::kKillWorker: {
        absl::StatusOr<KillWorker> request = message->body<KillWorker>();
        if (!request.ok()) return;
        std::lock_guard lock(mutex);
        if (agent != nullptr) agent->kill(request->process);
        return;
      }
      default:
        log(fmt::format("troupe node: the head sent an unexpected {} frame", kind_name(message->kind())));
    }
  };
  absl::StatusOr<net::LinkPtr> connected = net::connect_link(
      io, options.head_host, options.head_port, options.token, {.role = "node", .name = options.node.name},
      {.on_frame = on_frame, .on_close = [&](const net::LinkPtr&, const std::string& why) {
         std::lock_guard lock(mutex);
         close_reason = why;
         closed = true;
       }});
  if (!connected.ok()) {
    log(fmt::format("troupe node: cannot join the head: {}", std::string(connected.status().message())));
    return 1;
  }
  link = *connected;
  {
    std::lock_guard lock(mutex);
    agent = std::make_unique<NodeAgent>(
        NodeAgentOptions{.head_host = options.head_host, .head_port = options.head_port, .token = options.token,
                         .node = options.node, .worker_binary = options.worker_binary,
                         .worker_output = options.worker_output},
        [link](uint32_t process, const std::string& why) {
          link->send(encode_frame_body(Kind::kWorkerExited, WorkerExited{.process = process, .why = why}));
        });
  }
  link->send(encode_frame_body(Kind::kRegisterNode, RegisterNode{.node = options.node}));
  uint64_t beat = 0;
  while (!closed.load() && !stop_signalled.load()) {
    link->send(encode_frame_body(Kind::kHeartbeat, Heartbeat{.sequence = beat++}));
    for (Nanos waited = 0; waited < options.heartbeat_interval && !closed.load() && !stop_signalled.load();
         waited += 20 * kMillisecond) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  {
    std::lock_guard lock(mutex);
    log(closed.load() ? fmt::format("troupe node: the head's link closed ({}); stopping", close_reason)
                      : std::string("troupe node: stopping"));
    agent.reset();  // kills and reaps the workers
  }
  link->close();
  for (int i = 0; i < 1000 && !link->closed(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  link.reset();
  connected = absl::UnavailableError("closed");
  return 0;
}

int worker_main() {
  absl::StatusOr<WorkerBoot> boot = decode_limited<WorkerBoot>(read_stdin(), "the worker boot");
  if (!boot.ok()) {
    log(fmt::format("troupe worker: {}", std::string(boot.status().message())));
    return 2;
  }
  NodeInfo node = from_wire(boot->node);
  absl::StatusOr<std::unique_ptr<ClusterPlatform>> platform = ClusterPlatform::join_as_worker(
      {.host = boot->host, .port = boot->port, .token = boot->token}, ProcessId{boot->process}, node.id, node);
  if (!platform.ok()) {
    log(fmt::format("troupe worker p{}: {}", boot->process, std::string(platform.status().message())));
    return 1;
  }
  ClusterPlatform& cluster = **platform;
  auto host = std::make_unique<core::ProcessRuntime>(cluster, core::ClusterConfig{.directory = ProcessId{boot->directory}},
                                                     std::move(boot->boot));
  if (absl::Status started = cluster.start_local_process(ProcessId{boot->process}, boot->name, std::move(host));
      !started.ok()) {
    log(fmt::format("troupe worker p{}: {}", boot->process, std::string(started.message())));
    return 1;
  }
  (void)cluster.run();  // until its process ends (it tells the head) or the head's link closes
  cluster.disconnect();
  std::fflush(stdout);
  std::fflush(stderr);
  // A worker's end is a process death: no destructors (an actor's threads may still run).
  std::_Exit(0);
}

absl::Status run_cluster_driver(ClusterPlatform& platform, absl::AnyInvocable<void(System&)> driver) {
  const ProcessId self = platform.assigned_process();
  auto host = std::make_unique<core::ProcessRuntime>(platform, core::ClusterConfig{.directory = platform.directory()}, "");
  core::ProcessRuntime* runtime = host.get();
  if (absl::Status started = platform.start_local_process(self, "driver", std::move(host)); !started.ok()) {
    return started;
  }
  absl::Status status = core::drive(platform, self, runtime->system(), std::move(driver));
  if (!status.ok() && platform.disconnected()) {
    return absl::UnavailableError(fmt::format("the driver lost its connection to the head ({})", std::string(status.message())));
  }
  return status;
}

}  // namespace troupe::cluster
