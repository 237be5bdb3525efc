#include "runtime/cluster/local_cluster.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "fmt/format.h"
#include "runtime/cluster/child_process.h"
#include "runtime/cluster/cluster_main.h"
#include "runtime/net/handshake.h"
#include "runtime/wire/codec.h"

namespace troupe::cluster {

struct LocalCluster::Impl {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string token;
  std::string directory;  // for the ready file
  mutable std::mutex mutex;
  std::map<uint32_t, pid_t> daemons;  // node -> pid, guarded by mutex (erased when it ends)
  std::unique_ptr<ChildWatcher> watcher;

  absl::StatusOr<pid_t> launch(const LocalClusterOptions& options, const LaunchSettings& settings) {
    return watcher->spawn({.executable = options.binary.empty() ? self_executable() : options.binary,
                           .args = {fmt::format("troupe-{}", settings.role)},
                           .env = {{"TROUPE_CLUSTER_ROLE", settings.role}},
                           .stdin_bytes = wire::encode(settings),
                           .output_path = options.log_path});
  }
};

absl::StatusOr<std::unique_ptr<LocalCluster>> LocalCluster::start(LocalClusterOptions options) {
  if (options.nodes.empty()) return absl::InvalidArgumentError("a cluster needs at least the head's node");
  auto impl = std::make_unique<Impl>();
  absl::StatusOr<std::string> token = net::random_token();
  if (!token.ok()) return token.status();
  impl->token = *token;
  char directory[] = "/tmp/troupe-cluster-XXXXXX";
  if (mkdtemp(directory) == nullptr) return absl::InternalError("cannot create a temporary directory");
  impl->directory = directory;
  Impl* raw = impl.get();
  impl->watcher = std::make_unique<ChildWatcher>([raw](pid_t pid, const std::string&) {
    std::lock_guard lock(raw->mutex);
    for (auto it = raw->daemons.begin(); it != raw->daemons.end(); ++it) {
      if (it->second == pid) {
        raw->daemons.erase(it);
        return;
      }
    }
  });
  std::unique_ptr<LocalCluster> cluster(new LocalCluster(std::move(impl)));
  Impl& state = *cluster->impl_;

  const std::string ready_path = state.directory + "/head.port";
  LaunchSettings head{.role = "head", .token = state.token, .ready_path = ready_path, .node = options.nodes[0],
                      .worker_output = options.log_path};
  absl::StatusOr<pid_t> head_pid = state.launch(options, head);
  if (!head_pid.ok()) return head_pid.status();
  {
    std::lock_guard lock(state.mutex);
    state.daemons[0] = *head_pid;
  }
  // Each daemon is ready once its file holds a number: the head's port, a node's id. Nodes join one
  // at a time, so node i of the options is node i of the cluster.
  auto wait_ready = [&](const std::string& path, std::string_view what) -> absl::StatusOr<unsigned> {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(options.start_timeout);
    while (true) {
      std::ifstream in(path);
      unsigned value = 0;
      if (in >> value) return value;
      if (cluster->live_daemons() == 0) return absl::UnavailableError(fmt::format("the {} exited before it was ready", what));
      if (std::chrono::steady_clock::now() > deadline) {
        return absl::DeadlineExceededError(fmt::format("the {} was not ready within {:.1f} s", what,
                                                       options.start_timeout / 1e9));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  absl::StatusOr<unsigned> port = wait_ready(ready_path, "head");
  if (!port.ok()) return port.status();
  if (*port == 0 || *port > 65535) return absl::InternalError(fmt::format("the head reported port {}", *port));
  state.port = static_cast<uint16_t>(*port);
  for (size_t i = 1; i < options.nodes.size(); ++i) {
    const std::string node_ready = fmt::format("{}/node{}.ready", state.directory, i);
    LaunchSettings node{.role = "node", .token = state.token, .ready_path = node_ready, .head_host = state.host,
                        .head_port = state.port, .node = options.nodes[i], .worker_output = options.log_path};
    absl::StatusOr<pid_t> pid = state.launch(options, node);
    if (!pid.ok()) return pid.status();
    {
      std::lock_guard lock(state.mutex);
      state.daemons[static_cast<uint32_t>(i)] = *pid;
    }
    absl::StatusOr<unsigned> id = wait_ready(node_ready, fmt::format("node daemon {}", i));
    if (!id.ok()) return id.status();
    std::remove(node_ready.c_str());
    if (*id != i) return absl::InternalError(fmt::format("node daemon {} joined as node {}", i, *id));
  }
  return cluster;
}

LocalCluster::LocalCluster(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LocalCluster::~LocalCluster() {
  std::vector<pid_t> daemons;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& [node, pid] : impl_->daemons) daemons.push_back(pid);
  }
  // Nodes first (each kills its workers), then the head (which kills node 0's).
  for (auto it = daemons.rbegin(); it != daemons.rend(); ++it) impl_->watcher->terminate(*it);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (live_daemons() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  impl_->watcher.reset();  // SIGKILL and reap whatever is left
  std::remove((impl_->directory + "/head.port").c_str());
  std::remove((impl_->directory + "/head.port.tmp").c_str());
  std::remove(impl_->directory.c_str());
}

const std::string& LocalCluster::host() const { return impl_->host; }
uint16_t LocalCluster::port() const { return impl_->port; }
const std::string& LocalCluster::token() const { return impl_->token; }

size_t LocalCluster::live_daemons() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->daemons.size();
}

bool LocalCluster::kill_node(uint32_t node) {
  pid_t pid = 0;
  {
    std::lock_guard lock(impl_->mutex);
    auto found = impl_->daemons.find(node);
    if (found == impl_->daemons.end()) return false;
    pid = found->second;
  }
  return impl_->watcher->kill(pid);
}

}  // namespace troupe::cluster
