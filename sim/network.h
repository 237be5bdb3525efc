// Network: the simulated network's latency model.
//
// A message between two processes on the same node takes `local_latency_ns` plus jitter; between
// nodes `remote_latency_ns` plus jitter. Jitter is uniform in [0, jitter_ns], drawn from the
// network's own stream, so messages sent back to back may overtake each other: the runtime must
// (and does) restore each caller's order itself. Faults (loss, partitions, clogging) arrive with
// the fault-injection work.
#pragma once

#include "runtime/core/random.h"
#include "runtime/ids.h"

namespace troupe::sim {

struct NetworkOptions {
  Nanos local_latency_ns = 5 * kMicrosecond;
  Nanos remote_latency_ns = 100 * kMicrosecond;
  Nanos jitter_ns = 50 * kMicrosecond;
};

class Network {
 public:
  explicit Network(NetworkOptions options) : options_(options) {}

  // The delay of one message from node `from` to node `to`.
  Nanos latency(NodeId from, NodeId to, Rng& rng) const {
    Nanos base = from == to ? options_.local_latency_ns : options_.remote_latency_ns;
    Nanos jitter = options_.jitter_ns > 0 ? rng.uniform_int(0, options_.jitter_ns) : 0;
    return base + jitter;
  }

  const NetworkOptions& options() const { return options_; }

 private:
  NetworkOptions options_;
};

}  // namespace troupe::sim
