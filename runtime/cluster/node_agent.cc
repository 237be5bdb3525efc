#include "runtime/cluster/node_agent.h"

#include <map>
#include <mutex>

#include "fmt/format.h"
#include "runtime/cluster/child_process.h"
#include "runtime/wire/codec.h"

namespace troupe::cluster {

struct NodeAgent::Impl {
  NodeAgentOptions options;
  ExitHandler on_exit;
  mutable std::mutex mutex;
  std::map<pid_t, uint32_t> process_of;   // guarded by mutex
  std::map<uint32_t, pid_t> pid_of;       // guarded by mutex
  std::unique_ptr<ChildWatcher> watcher;  // last: its threads call back into the maps

  void exited(pid_t pid, const std::string& how) {
    uint32_t process = 0;
    {
      std::lock_guard lock(mutex);
      auto found = process_of.find(pid);
      if (found == process_of.end()) return;
      process = found->second;
      process_of.erase(found);
      pid_of.erase(process);
    }
    on_exit(process, how);
  }
};

NodeAgent::NodeAgent(NodeAgentOptions options, ExitHandler on_exit) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->on_exit = std::move(on_exit);
  impl_->watcher = std::make_unique<ChildWatcher>([impl = impl_.get()](pid_t pid, const std::string& how) {
    impl->exited(pid, how);
  });
}

NodeAgent::~NodeAgent() { impl_->watcher.reset(); }

void NodeAgent::start(StartWorker request) {
  const NodeAgentOptions& options = impl_->options;
  WorkerBoot boot{.host = options.head_host, .port = options.head_port, .token = options.token,
                  .process = request.process, .name = request.name, .node = options.node,
                  .directory = request.directory, .boot = std::move(request.boot)};
  boot.node.id = request.node;
  ChildOptions child{.executable = options.worker_binary.empty() ? request.binary : options.worker_binary,
                     .args = {fmt::format("troupe-worker:p{}", request.process)},
                     .env = std::move(request.env),
                     .stdin_bytes = wire::encode(boot),
                     .output_path = options.worker_output};
  child.env.emplace_back("TROUPE_CLUSTER_ROLE", "worker");
  // Under the mutex: the watcher may report the child's end before spawn returns, and the report
  // must find it.
  std::unique_lock lock(impl_->mutex);
  absl::StatusOr<pid_t> pid = impl_->watcher->spawn(child);
  if (!pid.ok()) {
    lock.unlock();
    impl_->on_exit(request.process, fmt::format("could not start: {}", std::string(pid.status().message())));
    return;
  }
  impl_->process_of[*pid] = request.process;
  impl_->pid_of[request.process] = *pid;
}

void NodeAgent::kill(uint32_t process) {
  pid_t pid = 0;
  {
    std::lock_guard lock(impl_->mutex);
    auto found = impl_->pid_of.find(process);
    if (found == impl_->pid_of.end()) return;
    pid = found->second;
  }
  impl_->watcher->kill(pid);
}

size_t NodeAgent::live() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->pid_of.size();
}

}  // namespace troupe::cluster
