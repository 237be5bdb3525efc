#include "sim/network.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <string>
#include <utility>

#include "fmt/format.h"

namespace troupe::sim {
namespace {

bool contains(const std::vector<NodeId>& nodes, NodeId node) {
  return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
}

std::string node_list(const std::vector<NodeId>& nodes) {
  std::string text;
  for (NodeId node : nodes) text += fmt::format("{}{}", text.empty() ? "" : ",", node);
  return text;
}

}  // namespace

Network::Network(NetworkOptions options, absl::AnyInvocable<void(TraceEvent)> record)
    : options_(options), record_(std::move(record)) {
  assert(options_.local_latency_ns >= 0);
  assert(options_.remote_latency_ns >= 0);
  assert(options_.jitter_ns >= 0);
  assert(options_.tail_probability >= 0 && options_.tail_probability <= 1);
  assert(options_.tail_scale_ns >= 0);
  assert(options_.tail_shape > 0);
  assert(options_.tail_max_ns >= 0);
}

Nanos Network::latency(NodeId from, NodeId to, Rng& rng) const {
  Nanos base = from == to ? options_.local_latency_ns : options_.remote_latency_ns;
  Nanos jitter = options_.jitter_ns > 0 ? rng.uniform_int(0, options_.jitter_ns) : 0;
  Nanos tail = 0;
  // No draw when the tail is off, so default runs draw exactly what they drew before tails.
  if (options_.tail_probability > 0 && rng.bernoulli(options_.tail_probability)) {
    // Pareto by inverse transform: scale / (1 - u)^(1/shape), u in [0, 1) so 1 - u is in (0, 1].
    // std::pow is glibc's under both g++ and clang++.
    double draw = static_cast<double>(options_.tail_scale_ns) /
                  std::pow(1.0 - rng.uniform_double(), 1.0 / options_.tail_shape);
    tail = draw >= static_cast<double>(options_.tail_max_ns) ? options_.tail_max_ns : static_cast<Nanos>(draw);
  }
  assert(tail >= 0 && tail <= std::max(options_.tail_max_ns, Nanos{0}));
  return base + jitter + tail;
}

Route Network::route(Endpoint from, Endpoint to, Nanos now, Rng& rng) {
  if (!partitions_.empty() && blocked(from.node, to.node)) return {.dropped = true, .reason = "partitioned"};
  auto [it, inserted] = links_.try_emplace(LinkKey{from.process.value, to.process.value});
  Link& link = it->second;
  link.from_node = from.node;
  link.to_node = to.node;
  Nanos at = now + latency(from.node, to.node, rng);
  if (!spikes_.empty()) at += spiked_latency(now);
  Nanos held_until = clogged_until(from, to);
  bool clogged = held_until > now;
  if (clogged) at = std::max(at, held_until);
  // Held messages leave in order even without FIFO links: the clog releases its queue in order.
  if (options_.fifo_links || clogged) at = std::max(at, link.last_delivery + 1);
  link.last_delivery = std::max(link.last_delivery, at);
  assert(at >= now);
  return {.at = at, .epoch = link.breaks.size()};
}

std::string_view Network::lost(ProcessId from, ProcessId to, uint64_t epoch) const {
  auto it = links_.find(LinkKey{from.value, to.value});
  assert(it != links_.end() && "a message in flight on a link the network never routed");
  const std::vector<Break>& breaks = it->second.breaks;
  assert(epoch <= breaks.size());
  if (epoch == breaks.size()) return "";
  return breaks[epoch] == Break::kReset ? "connection reset" : "partitioned";
}

void Network::partition(std::vector<NodeId> side_a, std::vector<NodeId> side_b, bool one_way) {
  assert(!side_a.empty());
  assert(!side_b.empty());
  record(fmt::format("partition {} | {}{}", node_list(side_a), node_list(side_b), one_way ? " one-way" : ""));
  partitions_.push_back({.side_a = std::move(side_a), .side_b = std::move(side_b), .one_way = one_way});
  // The connections across it break now: what is in flight on them is lost.
  for (auto& [key, link] : links_) {
    if (blocked(link.from_node, link.to_node)) break_link(link, Break::kPartition);
  }
}

void Network::heal_partitions() {
  record("heal partitions");
  partitions_.clear();
}

void Network::clog(NodeId node, Nanos until) {
  record(fmt::format("clog {} until {}ns", node, until));
  Nanos& held = node_clogs_[node.value];
  held = std::max(held, until);
}

void Network::clog_link(ProcessId from, ProcessId to, Nanos until) {
  record(fmt::format("clog {}->{} until {}ns", from, to, until));
  Nanos& held = link_clogs_[LinkKey{from.value, to.value}];
  held = std::max(held, until);
}

void Network::reset_link(ProcessId a, ProcessId b) {
  record(fmt::format("reset {}<->{}", a, b));
  for (LinkKey key : {LinkKey{a.value, b.value}, LinkKey{b.value, a.value}}) {
    auto it = links_.find(key);
    if (it != links_.end()) break_link(it->second, Break::kReset);
    if (a == b) break;
  }
}

void Network::reset_process(ProcessId process) {
  record(fmt::format("reset {}", process));
  for (auto& [key, link] : links_) {
    if (key.first == process.value || key.second == process.value) break_link(link, Break::kReset);
  }
}

void Network::spike_latency(Nanos extra_latency_ns, Nanos until) {
  assert(extra_latency_ns > 0);
  record(fmt::format("latency +{}ns until {}ns", extra_latency_ns, until));
  spikes_.push_back({.extra_ns = extra_latency_ns, .until = until});
}

Nanos Network::spiked_latency(Nanos now) {
  std::erase_if(spikes_, [now](const LatencySpike& spike) { return spike.until <= now; });
  Nanos extra = 0;
  for (const LatencySpike& spike : spikes_) extra += spike.extra_ns;
  assert(extra >= 0);
  return extra;
}

bool Network::blocked(NodeId from, NodeId to) const {
  for (const Partition& partition : partitions_) {
    if (contains(partition.side_a, from) && contains(partition.side_b, to)) return true;
    if (!partition.one_way && contains(partition.side_b, from) && contains(partition.side_a, to)) return true;
  }
  return false;
}

Nanos Network::clogged_until(Endpoint from, Endpoint to) const {
  Nanos until = 0;
  if (!node_clogs_.empty()) {
    for (NodeId node : {from.node, to.node}) {
      auto it = node_clogs_.find(node.value);
      if (it != node_clogs_.end()) until = std::max(until, it->second);
    }
  }
  if (!link_clogs_.empty()) {
    auto it = link_clogs_.find(LinkKey{from.process.value, to.process.value});
    if (it != link_clogs_.end()) until = std::max(until, it->second);
  }
  return until;
}

void Network::break_link(Link& link, Break cause) {
  link.breaks.push_back(cause);
  link.last_delivery = -1;  // a new connection: no order relative to the lost messages
}

void Network::record(std::string detail) {
  if (record_) record_({.kind = TraceKind::kFault, .detail = std::move(detail)});
}

}  // namespace troupe::sim
