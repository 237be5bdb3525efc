// RapidCheck generators for Troupe: cluster shapes and fault plans, with shrinking that makes a
// failing case smaller and gentler.
//
//   const sim::ClusterShape shape = *troupe::testing::gen_cluster_shape({.nodes_max = 4});
//   const faults::FaultPlan plan = *troupe::testing::gen_fault_plan({.kinds = troupe::testing::kDelayFaults});
//
// Values grow with RapidCheck's size parameter, as its own generators do: early cases have few
// faults, short durations and small nodes, later ones up to the options' limits.
//
// Shrinking, which RapidCheck does when a property fails:
//   * a cluster loses nodes from the end (never the head), CPUs and GPUs;
//   * a plan loses faults (any of them: RapidCheck removes elements of the list), and each fault
//     left is softened: durations, extra latencies and reboot delays go down toward 1 ms, storage
//     rates toward 0 (one of the two turned off), GPU slowdowns toward 2x and memory pressure
//     toward 1 GiB, a buggify fault keeps fewer sites, and faults move earlier.
// Together with rc::state's command shrinking (testing/actor_model.h) a failing case ends with
// both few calls and few faults.
//
// Fault times are whole microseconds (a call takes a fraction of a millisecond, and a fault must
// be able to land between two calls); durations and delays are whole milliseconds. Generated
// plans are valid (faults::validate_plan) and use only kinds the simulator injects; kinds the
// cluster cannot have are left out (partitions, resets and link clogs need two nodes, node
// crashes a node besides the head, buggify named sites, GPU faults GPUs).
//
// Each value prints in RapidCheck's counterexample: a plan as its JSON (docs/fault-plans.md), so
// it can be saved and replayed; a cluster as one line per node.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <set>
#include <string>
#include <vector>

#include "faults/fault_kind.h"
#include "faults/plan.h"
#include "rapidcheck.h"
#include "runtime/ids.h"
#include "sim/sim_run.h"
#include "testing/fault_kinds.h"

namespace troupe::testing {

struct ClusterShapeGenOptions {
  uint32_t nodes_min = 1;  // the head node included; 1 <= nodes_min <= nodes_max
  uint32_t nodes_max = 4;  // at most kClusterNodesMax
  int cpus_min = 1;        // per node; 1 <= cpus_min <= cpus_max
  int cpus_max = 8;
  int gpus_max = 0;        // per node, from 0
};
inline constexpr uint32_t kClusterNodesMax = 64;

// Nodes named "head", "node1", "node2", ... REQUIRES: valid options (asserted).
rc::Gen<sim::ClusterShape> gen_cluster_shape(const ClusterShapeGenOptions& options = {});

struct FaultPlanGenOptions {
  // The kinds to draw from (kinds the simulator does not inject are a bug: asserted). Empty: the
  // generator always gives the empty plan.
  std::set<faults::FaultKind> kinds;
  uint32_t node_count = 3;     // the cluster's nodes (node 0 is the head)
  uint32_t process_count = 4;  // process indices in [0, process_count) (resolved mod the live workers)
  size_t faults_max = 6;       // at most this many faults per plan
  // Timing. The defaults suit a sequence of a few dozen calls: on the default simulated network a
  // call takes 0.1 to 0.3 ms, so 30 calls take several milliseconds, and faults must land inside
  // that to matter. Widen them for longer workloads (ModelCaseStats::sim_time_ns says how long
  // cases run).
  Nanos fault_window_ns = 10 * kMillisecond;  // faults start in [0, fault_window_ns)
  Nanos duration_ns_max = 5 * kMillisecond;   // partitions, clogs, latency spikes, storage, GPU
  Nanos extra_latency_ns_max = 2 * kMillisecond;
  Nanos reboot_after_ns_max = 10 * kMillisecond;  // node crashes reboot after 1 ms to this (or never)
  int storage_percent_max = 50;             // storage error and loss rates, in whole percent
  std::vector<std::string> buggify_sites;   // the sites a buggify fault may enable (at most 64)
  uint32_t gpu_node_count = 0;              // nodes with GPUs and the most GPUs one has
  uint32_t gpus_per_node = 0;
};

// The kinds of `options` that its cluster can have, in FaultKind order.
std::vector<faults::FaultKind> usable_kinds(const FaultPlanGenOptions& options);

// Plans of 0 to faults_max faults sorted by time, with no generator settings (the test's own
// timing applies). At most one gpu_loss per plan.
rc::Gen<faults::FaultPlan> gen_fault_plan(const FaultPlanGenOptions& options);

}  // namespace troupe::testing

namespace troupe::faults {
// RapidCheck prints a plan in a counterexample as its JSON text.
void showValue(const FaultPlan& plan, std::ostream& os);
}  // namespace troupe::faults

namespace troupe::sim {
// "3 nodes: head (8 cpus), node1 (2 cpus, 1 gpu), node2 (1 cpu)".
void showValue(const ClusterShape& shape, std::ostream& os);
}  // namespace troupe::sim
