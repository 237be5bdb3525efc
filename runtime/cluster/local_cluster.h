// LocalCluster: a head and node daemons on this machine, as child processes of this one, for
// `troupe run --platform cluster` and the parity tests.
//
//   absl::StatusOr<std::unique_ptr<LocalCluster>> cluster = LocalCluster::start({.nodes = {head, node1, node2}});
//   ClusterPlatform::join_as_driver({.port = (*cluster)->port(), .token = (*cluster)->token()}, ...);
//
// The daemons are this executable re-executed (TROUPE_CLUSTER_ROLE, runtime/cluster/cluster_main.h)
// with their settings on stdin and a fresh random token. Nothing outlives the cluster: the
// destructor stops the daemons (SIGTERM, then SIGKILL after a grace period), a node daemon's
// workers die with it, and every daemon dies with this process even when it is killed with
// SIGKILL (PR_SET_PDEATHSIG).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/cluster/cluster_wire.h"

namespace troupe::cluster {

struct LocalClusterOptions {
  // The head's node first (node 0), then one node daemon per further entry.
  std::vector<WireNode> nodes;
  // The executable to run as head and nodes; empty: this one.
  std::string binary;
  // Where the daemons' and workers' output goes (appended); empty: inherited (stderr).
  std::string log_path;
  // How long the head may take to listen.
  Nanos start_timeout = 10 * kSecond;
};

class LocalCluster {
 public:
  static absl::StatusOr<std::unique_ptr<LocalCluster>> start(LocalClusterOptions options);
  ~LocalCluster();
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  const std::string& host() const;
  uint16_t port() const;
  const std::string& token() const;
  // Daemons (head and nodes) still running.
  size_t live_daemons() const;
  // SIGKILL to the daemon of node `node` (0 is the head), for chaos. False if it has ended.
  bool kill_node(uint32_t node);

  struct Impl;

 private:
  explicit LocalCluster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace troupe::cluster
