// NodeAgent: a node's worker processes. Starts each worker by executing a binary in worker mode
// (runtime/cluster/cluster_main.h) with its WorkerBoot on stdin, kills workers with SIGKILL, and
// reports how each one ended ("killed by signal 9 (SIGKILL)", "exited with code 1").
//
// Used by `troupe node` for its node and by the head for node 0. Workers die with the agent's
// OS process (PR_SET_PDEATHSIG on the agent's own spawning thread), so a node daemon killed with
// kill -9 takes its workers with it, as a crashed machine would; the destructor kills and reaps
// every worker still running.
//
// Thread-safe. on_exit runs on a background thread of the agent.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "runtime/cluster/cluster_wire.h"

namespace troupe::cluster {

struct NodeAgentOptions {
  std::string head_host;
  uint16_t head_port = 0;
  std::string token;
  WireNode node;
  // The binary workers run; empty: the one the head names (the driver's).
  std::string worker_binary;
  // Where workers' stdout and stderr go (appended); empty: inherited from this process.
  std::string worker_output;
};

class NodeAgent {
 public:
  using ExitHandler = std::function<void(uint32_t process, const std::string& why)>;
  NodeAgent(NodeAgentOptions options, ExitHandler on_exit);
  ~NodeAgent();
  NodeAgent(const NodeAgent&) = delete;
  NodeAgent& operator=(const NodeAgent&) = delete;

  // Starts the worker; on failure to execute (a missing binary) on_exit reports it with why.
  void start(StartWorker request);
  // SIGKILL; a no-op for a worker that has ended or is unknown.
  void kill(uint32_t process);
  // Workers running now.
  size_t live() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace troupe::cluster
