// The OS processes of a real cluster, as functions a main() calls: the head, a node daemon, a
// worker, and a driver's run.
//
// Any binary that links troupe can be every one of them: the node daemons start workers by
// re-executing the driver's binary, and `troupe run --platform cluster` starts its head and nodes
// by re-executing itself, each with TROUPE_CLUSTER_ROLE set and its settings on stdin (the token
// never appears on a command line). So a program's main() begins with
//
//   if (std::optional<int> code = troupe::cluster::run_cluster_role_if_asked()) return *code;
//
// (troupe::run_main and the `troupe` CLI do this already).
#pragma once

#include <optional>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "runtime/cluster/cluster_platform.h"
#include "runtime/cluster/cluster_wire.h"
#include "runtime/system.h"

namespace troupe::cluster {

// What a head or node started by a launcher reads on its stdin.
struct LaunchSettings {
  std::string role;  // "head" or "node"
  std::string token;
  // Head: where to listen and its node's resources. Both: a file to write to once ready (the
  // head's port, or the node's id once the head accepted it), "N\n".
  std::string bind_address = "127.0.0.1";
  uint16_t port = 0;
  std::string ready_path;
  std::string storage_directory;
  // Node: the head to join. Both: this node's resources (the head's is node 0).
  std::string head_host = "127.0.0.1";
  uint16_t head_port = 0;
  WireNode node;
  std::string worker_output;  // where workers' output goes; empty: inherited
  MSGPACK_DEFINE(role, token, bind_address, port, ready_path, storage_directory, head_host, head_port, node,
                 worker_output);
};

// When TROUPE_CLUSTER_ROLE is set ("head", "node" or "worker"), runs that role with the settings
// on stdin and returns its exit code; nullopt when it is not set.
std::optional<int> run_cluster_role_if_asked();

// A head until SIGINT or SIGTERM: 0 after a clean stop, 1 when it could not start (the reason on
// stderr). Logs to stderr: where it listens, nodes joining and dying, drivers, refused peers.
int head_main(const HeadOptions& options, const std::string& ready_path);

struct NodeDaemonOptions {
  std::string head_host = "127.0.0.1";
  uint16_t head_port = 0;
  std::string token;
  WireNode node;               // its resources (the head assigns the id)
  std::string worker_binary;   // empty: the driver's binary, as the head names it
  std::string worker_output;   // empty: inherited
  std::string ready_path;      // written with the node's id once the head accepted it
  Nanos heartbeat_interval = 500 * kMillisecond;
};
// A node daemon until SIGINT, SIGTERM or the head's link closing (its workers are killed then).
int node_main(const NodeDaemonOptions& options);

// A worker: reads its WorkerBoot from stdin, joins, runs its actor until its process ends.
int worker_main();

// Runs `driver` as a driver of the cluster `platform` joined (join_as_driver): starts the driver
// process, runs the function on its fiber, and returns like core::run_driver (OK, the driver's
// exception as Internal, or the platform's error).
absl::Status run_cluster_driver(ClusterPlatform& platform, absl::AnyInvocable<void(System&)> driver);

// This executable's path (/proc/self/exe), for workers and launched daemons to run.
std::string self_executable();

}  // namespace troupe::cluster
