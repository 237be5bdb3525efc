#include "testing/generators.h"

#include <algorithm>
#include <cassert>
#include <ostream>

#include "faults/injector.h"
#include "fmt/format.h"

namespace troupe::testing {
namespace {

// Whole milliseconds in [min_ms, max_ms] as nanoseconds; shrinks toward min_ms.
rc::Gen<Nanos> gen_ms(int64_t min_ms, int64_t max_ms) {
  assert(min_ms <= max_ms);
  return rc::gen::map(rc::gen::inRange<int64_t>(min_ms, max_ms + 1), [](int64_t ms) { return ms * kMillisecond; });
}

rc::Gen<Nanos> gen_duration(const FaultPlanGenOptions& options) {
  return gen_ms(1, std::max<int64_t>(1, options.duration_ns_max / kMillisecond));
}

rc::Gen<uint32_t> gen_index(uint32_t count) { return rc::gen::inRange<uint32_t>(0, std::max<uint32_t>(1, count)); }

// Two distinct nodes a < b; shrinks toward {0, 1}.
rc::Gen<faults::NodePair> gen_link(uint32_t node_count) {
  return rc::gen::mapcat(rc::gen::inRange<uint32_t>(1, node_count), [](uint32_t b) {
    return rc::gen::map(rc::gen::inRange<uint32_t>(0, b), [b](uint32_t a) { return faults::NodePair{.a = a, .b = b}; });
  });
}

// A non-empty subset of `count` items as a bit mask that is not all of them (when `proper`).
rc::Gen<uint64_t> gen_mask(uint32_t count, bool proper) {
  const uint64_t all = count >= 64 ? ~uint64_t{0} : (uint64_t{1} << count) - 1;
  return rc::gen::inRange<uint64_t>(1, proper ? all : (all == ~uint64_t{0} ? all : all + 1));
}

rc::Gen<faults::GpuTarget> gen_gpu(const FaultPlanGenOptions& options) {
  return rc::gen::apply([](uint32_t node, uint32_t device) { return faults::GpuTarget{.node = node, .device = device}; },
                        gen_index(options.gpu_node_count), gen_index(options.gpus_per_node));
}

template <typename T>
rc::Gen<faults::FaultParams> as_params(rc::Gen<T> gen) {
  return rc::gen::map(std::move(gen), [](T value) { return faults::FaultParams(std::move(value)); });
}

rc::Gen<faults::FaultParams> gen_params(faults::FaultKind kind, const FaultPlanGenOptions& options) {
  using faults::FaultKind;
  switch (kind) {
    case FaultKind::kCrash:
      return as_params(rc::gen::map(gen_index(options.process_count),
                                    [](uint32_t process) { return faults::CrashFault{.process = process}; }));
    case FaultKind::kSuspect:
      return as_params(rc::gen::map(gen_index(options.process_count),
                                    [](uint32_t process) { return faults::SuspectFault{.process = process}; }));
    case FaultKind::kNodeCrash: {
      // Never the head (node 0): it runs the driver.
      auto reboot = rc::gen::mapcat(rc::gen::arbitrary<bool>(), [options](bool never) {
        return never ? rc::gen::just(std::optional<Nanos>())
                     : rc::gen::map(gen_ms(1, std::max<int64_t>(1, options.reboot_after_ns_max / kMillisecond)),
                                    [](Nanos after) { return std::optional<Nanos>(after); });
      });
      return as_params(rc::gen::apply(
          [](uint32_t node, std::optional<Nanos> after) {
            return faults::NodeCrashFault{.node = node + 1, .reboot_after_ns = after};
          },
          gen_index(options.node_count - 1), std::move(reboot)));
    }
    case FaultKind::kPartition: {
      const uint32_t nodes = options.node_count;
      return as_params(rc::gen::apply(
          [nodes](uint64_t mask, bool one_way, Nanos duration) {
            faults::PartitionFault partition;
            for (uint32_t node = 0; node < nodes; ++node) partition.sides[(mask >> node) & 1 ? 0 : 1].push_back(node);
            partition.one_way = one_way;
            partition.duration_ns = duration;
            return partition;
          },
          gen_mask(std::min<uint32_t>(nodes, 63), /*proper=*/true), rc::gen::arbitrary<bool>(), gen_duration(options)));
    }
    case FaultKind::kClog: {
      const uint32_t nodes = options.node_count;
      auto target = rc::gen::mapcat(rc::gen::arbitrary<bool>(), [nodes](bool on_link) {
        if (on_link && nodes >= 2) {
          return rc::gen::map(gen_link(nodes), [](faults::NodePair link) {
            faults::ClogFault clog;
            clog.link = link;
            return clog;
          });
        }
        return rc::gen::map(gen_index(nodes), [](uint32_t node) {
          faults::ClogFault clog;
          clog.node = node;
          return clog;
        });
      });
      return as_params(rc::gen::apply(
          [](faults::ClogFault clog, Nanos duration) {
            clog.duration_ns = duration;
            return clog;
          },
          std::move(target), gen_duration(options)));
    }
    case FaultKind::kReset:
      return as_params(
          rc::gen::map(gen_link(options.node_count), [](faults::NodePair link) { return faults::ResetFault{.link = link}; }));
    case FaultKind::kLatency:
      return as_params(rc::gen::apply(
          [](Nanos extra, Nanos duration) { return faults::LatencyFault{.extra_latency_ns = extra, .duration_ns = duration}; },
          gen_ms(1, std::max<int64_t>(1, options.extra_latency_ns_max / kMillisecond)), gen_duration(options)));
    case FaultKind::kStorage: {
      const int max = std::max(1, options.storage_percent_max);
      return as_params(rc::gen::apply(
          [](int error_percent, int loss_percent, Nanos duration) {
            // Both rates shrink toward 0; a fault with neither is invalid, so it keeps 1% errors.
            if (error_percent == 0 && loss_percent == 0) error_percent = 1;
            return faults::StorageFault{.error_rate = error_percent / 100.0,
                                        .loss_rate = loss_percent / 100.0,
                                        .duration_ns = duration};
          },
          rc::gen::inRange(0, max + 1), rc::gen::inRange(0, max + 1), gen_duration(options)));
    }
    case FaultKind::kBuggify: {
      std::vector<std::string> sites = options.buggify_sites;
      std::sort(sites.begin(), sites.end());
      sites.erase(std::unique(sites.begin(), sites.end()), sites.end());
      return as_params(rc::gen::map(gen_mask(static_cast<uint32_t>(sites.size()), /*proper=*/false),
                                    [sites](uint64_t mask) {
                                      faults::BuggifyFault buggify;
                                      for (size_t i = 0; i < sites.size(); ++i) {
                                        if ((mask >> i) & 1) buggify.sites.push_back(sites[i]);
                                      }
                                      return buggify;
                                    }));
    }
    case FaultKind::kGpuThrottle:
      return as_params(rc::gen::apply(
          [](faults::GpuTarget gpu, int slowdown, Nanos duration) {
            return faults::GpuThrottleFault{.gpu = gpu, .slowdown = static_cast<double>(slowdown), .duration_ns = duration};
          },
          gen_gpu(options), rc::gen::inRange(2, 11), gen_duration(options)));
    case FaultKind::kGpuMemory:
      return as_params(rc::gen::apply(
          [](faults::GpuTarget gpu, int64_t gib, Nanos duration) {
            return faults::GpuMemoryFault{.gpu = gpu, .bytes = gib << 30, .duration_ns = duration};
          },
          gen_gpu(options), rc::gen::inRange<int64_t>(1, 9), gen_duration(options)));
    case FaultKind::kGpuLoss:
      return as_params(rc::gen::map(gen_gpu(options), [](faults::GpuTarget gpu) { return faults::GpuLossFault{.gpu = gpu}; }));
  }
  assert(false && "every FaultKind has a generator");
  return rc::gen::just(faults::FaultParams(faults::CrashFault{}));
}

}  // namespace

rc::Gen<sim::ClusterShape> gen_cluster_shape(const ClusterShapeGenOptions& options) {
  assert(options.nodes_min >= 1 && options.nodes_min <= options.nodes_max && options.nodes_max <= kClusterNodesMax);
  assert(options.cpus_min >= 1 && options.cpus_min <= options.cpus_max && options.gpus_max >= 0);
  auto node = rc::gen::apply([](int cpus, int gpus) { return sim::NodeOptions{.cpus = double(cpus), .gpus = gpus}; },
                             rc::gen::inRange(options.cpus_min, options.cpus_max + 1),
                             rc::gen::inRange(0, options.gpus_max + 1));
  // nodes_max nodes and how many of them the cluster has: RapidCheck shrinks the count (dropping
  // nodes from the end) and each node on its own, without regenerating the others.
  return rc::gen::apply(
      [](uint32_t count, std::vector<sim::NodeOptions> list) {
        list.resize(count);
        for (size_t i = 0; i < list.size(); ++i) list[i].name = i == 0 ? std::string("head") : fmt::format("node{}", i);
        return sim::ClusterShape{.nodes = std::move(list)};
      },
      rc::gen::inRange(options.nodes_min, options.nodes_max + 1),
      rc::gen::container<std::vector<sim::NodeOptions>>(options.nodes_max, node));
}

std::vector<faults::FaultKind> usable_kinds(const FaultPlanGenOptions& options) {
  using faults::FaultKind;
  std::vector<FaultKind> kinds;
  for (FaultKind kind : options.kinds) {
    assert(faults::supported_kinds().contains(kind) && "the simulator does not inject this kind");
    switch (kind) {
      case FaultKind::kPartition:
      case FaultKind::kReset:
      case FaultKind::kNodeCrash:
        if (options.node_count < 2) continue;
        break;
      case FaultKind::kBuggify:
        if (options.buggify_sites.empty()) continue;
        break;
      case FaultKind::kGpuThrottle:
      case FaultKind::kGpuMemory:
      case FaultKind::kGpuLoss:
        if (options.gpu_node_count == 0 || options.gpus_per_node == 0) continue;
        break;
      default:
        break;
    }
    kinds.push_back(kind);
  }
  return kinds;
}

rc::Gen<faults::FaultPlan> gen_fault_plan(const FaultPlanGenOptions& options) {
  assert(options.node_count >= 1 && options.fault_window_ns >= kMicrosecond && options.buggify_sites.size() <= 64);
  const std::vector<faults::FaultKind> kinds = usable_kinds(options);
  if (kinds.empty() || options.faults_max == 0) return rc::gen::just(faults::FaultPlan{});
  auto fault = rc::gen::apply(
      [](Nanos at, faults::FaultParams params) { return faults::ScheduledFault{.at_ns = at, .params = std::move(params)}; },
      rc::gen::map(rc::gen::inRange<int64_t>(0, options.fault_window_ns / kMicrosecond),
                   [](int64_t us) { return us * kMicrosecond; }),
      rc::gen::mapcat(rc::gen::elementOf(kinds), [options](faults::FaultKind kind) { return gen_params(kind, options); }));
  const size_t faults_max = options.faults_max;
  return rc::gen::map(rc::gen::container<std::vector<faults::ScheduledFault>>(std::move(fault)),
                      [faults_max](std::vector<faults::ScheduledFault> list) {
                        if (list.size() > faults_max) list.resize(faults_max);
                        std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
                          return a.at_ns < b.at_ns;
                        });
                        // A lost GPU stays lost until its node reboots: keep the earliest loss only.
                        bool lost = false;
                        std::erase_if(list, [&lost](const faults::ScheduledFault& f) {
                          if (f.kind() != faults::FaultKind::kGpuLoss) return false;
                          if (lost) return true;
                          lost = true;
                          return false;
                        });
                        faults::FaultPlan plan;
                        plan.faults = std::move(list);
                        return plan;
                      });
}

}  // namespace troupe::testing

namespace troupe::faults {
void showValue(const FaultPlan& plan, std::ostream& os) {
  if (plan.faults.empty()) {
    os << "no faults";
    return;
  }
  os << plan_to_json(plan);
}
}  // namespace troupe::faults

namespace troupe::sim {
void showValue(const ClusterShape& shape, std::ostream& os) {
  os << shape.nodes.size() << (shape.nodes.size() == 1 ? " node: " : " nodes: ");
  for (size_t i = 0; i < shape.nodes.size(); ++i) {
    const NodeOptions& node = shape.nodes[i];
    os << (i == 0 ? "" : ", ") << node.name << " (" << node.cpus << (node.cpus == 1 ? " cpu" : " cpus");
    if (node.gpus > 0) os << ", " << node.gpus << (node.gpus == 1 ? " gpu" : " gpus");
    os << ")";
  }
}
}  // namespace troupe::sim
