// Network: the simulated network — latency, per-link order, and the faults a test injects.
//
// A link is an ordered pair of processes (from, to), like one direction of a TCP connection.
// For each message the World asks route(): the network either drops it at once (a partition) or
// says when it arrives and stamps it with the link's epoch. At delivery the World asks lost():
// a message whose link broke while it was in flight (a reset, or a partition that began) is lost.
//
// Latency: `local_latency_ns` within a node, `remote_latency_ns` across nodes, plus uniform
// jitter in [0, jitter_ns], plus, with probability `tail_probability`, a Pareto-distributed extra
// delay (scale `tail_scale_ns`, shape `tail_shape`, at most `tail_max_ns`).
//
// Order: with `fifo_links` a message never overtakes an earlier one on its link (it arrives at
// least 1 ns after the previous one, so the scheduler cannot run them in the other order). The
// runtime must NOT rely on this: it restores each caller's order itself, and a test may turn
// FIFO off (fifo_links = false) to reorder messages.
//
// Faults (each recorded through the `record` callback as a TraceKind::kFault event):
//   * partition(a, b, one_way): messages from a node in `a` to a node in `b` (and back, unless
//     one_way) are dropped when sent. Starting a partition also breaks the links across it, as a
//     TCP connection breaks: messages in flight are lost, even if the partition heals first.
//   * heal_partitions(): lifts every partition (lost messages stay lost).
//   * clog(node, until) / clog_link(from, to, until): messages sent while a clog holds are kept
//     and delivered, in send order, no earlier than `until` (FoundationDB's clogging). Messages
//     already in flight are not affected.
//   * reset_link(a, b) / reset_process(p): every message in flight on the link (both directions)
//     or on any link of the process is lost.
//   * spike_latency(extra, until): every message sent from now until `until` (exclusive) takes
//     `extra` longer, on every link, local ones included; overlapping spikes add up. The extra
//     delay is added to the drawn latency before the clog and FIFO rules apply, so: a held message
//     arrives at max(send + latency + extra, clog end); with fifo_links a message sent just after
//     a spike still waits behind the slower ones sent during it (head-of-line blocking, as on one
//     TCP connection), without fifo_links it may overtake them. Messages already in flight are
//     not affected; dropped messages are dropped as before. No extra random draw is made.
//
// Determinism: every draw comes from the Rng the World passes in (its network stream); per-link
// state lives in ordered maps, so the order faults touch links is a function of the ids only.
// Single-threaded, like the World that owns it.
//
//   Network network({.tail_probability = 0.01}, [&](TraceEvent e) { trace.record(e); });
//   network.partition({NodeId{0}}, {NodeId{1}}, /*one_way=*/false);
#pragma once

#include <cstdint>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "runtime/core/random.h"
#include "runtime/ids.h"
#include "runtime/trace/trace_event.h"

namespace troupe::sim {

struct NetworkOptions {
  Nanos local_latency_ns = 5 * kMicrosecond;
  Nanos remote_latency_ns = 100 * kMicrosecond;
  Nanos jitter_ns = 50 * kMicrosecond;
  // Heavy tail; off by default. REQUIRES: 0 <= probability <= 1, scale >= 0, shape > 0.
  double tail_probability = 0;
  Nanos tail_scale_ns = 100 * kMicrosecond;
  double tail_shape = 1.5;
  Nanos tail_max_ns = 10 * kMillisecond;
  // Messages on one link arrive in send order (see the header comment: not a runtime promise).
  bool fifo_links = true;
};

// One end of a message: the process and the node it runs on.
struct Endpoint {
  ProcessId process;
  NodeId node;
};

// What the network does with one message. `reason` is set exactly when `dropped`.
struct Route {
  bool dropped = false;
  std::string_view reason = {};  // static text for the kDrop trace event
  Nanos at = 0;                  // delivery time, when not dropped
  uint64_t epoch = 0;            // the link's epoch at send, for lost()
};

class Network {
 public:
  // `record` receives every fault applied (kind kFault); the World sends them to its trace.
  Network(NetworkOptions options, absl::AnyInvocable<void(TraceEvent)> record);

  // The drawn delay of one message from node `from` to node `to` (base + jitter + tail).
  Nanos latency(NodeId from, NodeId to, Rng& rng) const;

  // Decides the fate of a message sent at `now`. Draws only when the message is not dropped.
  [[nodiscard]] Route route(Endpoint from, Endpoint to, Nanos now, Rng& rng);

  // Why a message sent on (from, to) at `epoch` is lost, or "" if it still arrives.
  [[nodiscard]] std::string_view lost(ProcessId from, ProcessId to, uint64_t epoch) const;

  // Faults. Each records one kFault event.
  void partition(std::vector<NodeId> side_a, std::vector<NodeId> side_b, bool one_way);
  void heal_partitions();
  void clog(NodeId node, Nanos until);
  void clog_link(ProcessId from, ProcessId to, Nanos until);  // one direction: from -> to
  void reset_link(ProcessId a, ProcessId b);                  // both directions
  void reset_process(ProcessId process);
  void spike_latency(Nanos extra_latency_ns, Nanos until);  // REQUIRES: extra_latency_ns > 0

  const NetworkOptions& options() const { return options_; }

 private:
  enum class Break : uint8_t { kReset, kPartition };
  using LinkKey = std::pair<uint32_t, uint32_t>;  // (from, to) process ids
  struct Link {
    NodeId from_node;
    NodeId to_node;
    Nanos last_delivery = -1;   // of the latest message scheduled on this link; -1: none
    std::vector<Break> breaks;  // breaks[e]: what ended epoch e; the current epoch is size()
  };
  struct Partition {
    std::vector<NodeId> side_a;
    std::vector<NodeId> side_b;
    bool one_way = false;
  };

  struct LatencySpike {
    Nanos extra_ns = 0;
    Nanos until = 0;  // applies to messages sent before this time
  };

  bool blocked(NodeId from, NodeId to) const;
  // The extra delay of a message sent at `now`: the sum of the spikes still on. Forgets the others.
  Nanos spiked_latency(Nanos now);
  Nanos clogged_until(Endpoint from, Endpoint to) const;
  void break_link(Link& link, Break cause);
  void record(std::string detail);

  NetworkOptions options_;
  absl::AnyInvocable<void(TraceEvent)> record_;
  std::map<LinkKey, Link> links_;  // iterated by faults: ordered
  std::vector<Partition> partitions_;
  std::map<uint32_t, Nanos> node_clogs_;  // node id -> until
  std::map<LinkKey, Nanos> link_clogs_;   // (from, to) -> until
  std::vector<LatencySpike> spikes_;      // in the order applied
};

}  // namespace troupe::sim
