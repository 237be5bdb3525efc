// Swarm testing: a seed chooses which kinds of fault a run gets, how many, and their parameters.
//
// Groce et al., "Swarm Testing" (ISSTA 2012): a run with every fault kind enabled at once explores
// less than many runs that each enable a random subset, because some failures need one kind of
// fault to be absent (a partition that never heals because crashes keep restarting the leader).
// swarm_plan realizes one such run from a seed:
//
//   1. which kinds are on: each allowed kind with probability 1/2, and at least one;
//   2. how hard: each enabled kind gets an intensity (mean faults per simulated second) drawn
//      log-uniformly in [intensity_per_s_min, intensity_per_s_max];
//   3. the faults: for each enabled kind, arrival times with exponential gaps (a Poisson process
//      at that intensity) inside the fault window, each with parameters drawn within the options'
//      bounds; targets are indices into the cluster's nodes and processes, resolved later.
//
// The result is a pure function of (seed, options): it draws only from Rng(seed) forked with
// kStreamFaults, and each kind makes its choices (steps 1 and 2) and realizes its faults (step 3)
// from its own sub-streams, so restricting the allowed kinds (`--faults crash,partition`) leaves
// the kinds still enabled as they were, and a kind added to the enum later leaves every existing
// seed's plan unchanged (except the rare seed where every kind's coin came up off and one kind is
// picked instead). Every fault starts and ends inside the fault window; the quiet phase after it is
// fault-free. The plan's generator settings record the choices of steps 1 and 2.
//
//   SwarmOptions options{.node_count = 3, .process_count = 5};
//   options.kinds = parse_fault_kinds("crash,partition")->kinds;
//   FaultPlan plan = swarm_plan(seed, options);
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "faults/fault_kind.h"
#include "faults/plan.h"
#include "runtime/ids.h"

namespace troupe::faults {

// Sub-streams of the faults stream: kind k decides whether it is on and its intensity from
// fork(kStreamSwarmChoiceBase + k), and realizes its faults from fork(kStreamSwarmKindBase + k).
inline constexpr uint64_t kStreamSwarmKindBase = 100;
inline constexpr uint64_t kStreamSwarmChoiceBase = 200;

// The cluster's shape and the bounds of every draw. The defaults suit a small cluster and a run of
// a few tens of simulated seconds.
struct SwarmOptions {
  uint32_t node_count = 3;     // node indices drawn in [0, node_count); 0 is the head node
  uint32_t process_count = 4;  // process indices drawn in [0, process_count)
  // node_crash never picks node 0, whose loss ends most runs outright.
  bool spare_head_node = true;
  // The kinds swarm may enable (FaultSelection::kinds of --faults). Kinds the cluster cannot have
  // are left out: crash without processes; partition and reset with fewer than two nodes;
  // node_crash with no node to crash; buggify is enabled but schedules nothing without sites.
  std::set<FaultKind> kinds{kAllFaultKinds.begin(), kAllFaultKinds.end()};

  double intensity_per_s_min = 0.1;  // mean faults per simulated second, per enabled kind
  double intensity_per_s_max = 2.0;

  // The run's timing (DESIGN §4). The scenario runner sets them from the scenario, so that the
  // faults land while it works (scenarios/scenario.h).
  Nanos fault_window_ns = 10 * kSecond;
  Nanos quiet_ns = 5 * kSecond;
  Nanos deadline_ns = 30 * kSecond;

  // Durations of partitions, clogs, latency spikes and storage faults; shortened when the window
  // ends first.
  Nanos duration_ns_min = 10 * kMillisecond;
  Nanos duration_ns_max = 2 * kSecond;
  Nanos reboot_after_ns_min = 100 * kMillisecond;  // node crashes always reboot, in the window
  Nanos reboot_after_ns_max = 2 * kSecond;
  Nanos extra_latency_ns_min = 1 * kMillisecond;
  Nanos extra_latency_ns_max = 200 * kMillisecond;
  double storage_rate_max = 0.5;  // error and loss rates drawn in (0, storage_rate_max]

  // GPUs: gpu_throttle, gpu_memory and gpu_loss target (node, device) indices drawn in
  // [0, gpu_node_count) x [0, gpus_per_node) (faults/plan.h, GpuTarget); without GPUs they are left
  // out, so a cluster without GPUs draws exactly the plans it drew before these kinds existed.
  uint32_t gpu_node_count = 0;  // nodes that have GPUs
  uint32_t gpus_per_node = 0;   // the most GPUs one of them has
  double gpu_slowdown_min = 2;  // gpu_throttle factors, drawn uniformly in [min, max]
  double gpu_slowdown_max = 10;
  int64_t gpu_pressure_bytes_min = int64_t{1} << 30;  // gpu_memory: bytes a neighbour takes
  int64_t gpu_pressure_bytes_max = int64_t{8} << 30;
  // A lost GPU stays lost until its node reboots, so a Poisson stream of losses would soon leave no
  // device to restart on: at most this many per plan (the earliest).
  size_t gpu_losses_max = 1;

  std::vector<std::string> buggify_sites;  // the site names a buggify fault may enable
  size_t faults_max = 1'000;               // the earliest faults are kept
};

// OK, or InvalidArgument naming the first option out of bounds ("swarm options: duration_ns_min
// must be positive and at most duration_ns_max (got 0..2000000000)").
absl::Status validate_swarm_options(const SwarmOptions& options);

// The plan swarm realizes for `seed`: generator settings plus faults sorted by time (ties in kind
// order). REQUIRES: validate_swarm_options(options).ok().
[[nodiscard]] FaultPlan swarm_plan(uint64_t seed, const SwarmOptions& options);

}  // namespace troupe::faults
