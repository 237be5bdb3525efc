#include "faults/swarm.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <iterator>
#include <map>

#include "fmt/format.h"
#include "runtime/core/random.h"

namespace troupe::faults {
namespace {

absl::Status bad_option(std::string_view reason) {
  return absl::InvalidArgumentError(fmt::format("swarm options: {}", reason));
}

// A time range [min, max] is valid when 0 < min <= max <= kPlanTimeMaxNs.
absl::Status check_range(std::string_view name, Nanos min, Nanos max) {
  if (min > 0 && min <= max && max <= kPlanTimeMaxNs) return absl::OkStatus();
  return bad_option(fmt::format("{}_min must be positive and at most {}_max, which must be at most {} (got {}..{})",
                                name, name, kPlanTimeMaxNs, min, max));
}

// The kinds the cluster described by `options` can have at all.
std::set<FaultKind> possible_kinds(const SwarmOptions& options) {
  const uint32_t first_crashable_node = options.spare_head_node ? 1 : 0;
  std::set<FaultKind> kinds;
  for (FaultKind kind : options.kinds) {
    switch (kind) {
      case FaultKind::kCrash:
      case FaultKind::kSuspect:
        if (options.process_count >= 1) kinds.insert(kind);
        break;
      case FaultKind::kNodeCrash:
        if (options.node_count > first_crashable_node) kinds.insert(kind);
        break;
      case FaultKind::kPartition:
      case FaultKind::kReset:
        if (options.node_count >= 2) kinds.insert(kind);
        break;
      case FaultKind::kClog:
        if (options.node_count >= 1) kinds.insert(kind);
        break;
      case FaultKind::kLatency:
      case FaultKind::kStorage:
      case FaultKind::kBuggify: kinds.insert(kind); break;
      case FaultKind::kGpuThrottle:
      case FaultKind::kGpuMemory:
      case FaultKind::kGpuLoss:
        if (options.gpu_node_count >= 1 && options.gpus_per_node >= 1) kinds.insert(kind);
        break;
    }
  }
  return kinds;
}

// Steps 1 and 2 of swarm.h: the enabled kinds and their intensities. Draws the same number of
// values for every kind whether it is allowed or not, so that allowing fewer kinds does not shift
// the draws of the others.
GeneratorSettings choose_settings(Rng& rng, const SwarmOptions& options) {
  const std::set<FaultKind> possible = possible_kinds(options);
  GeneratorSettings settings{
      .fault_window_ns = options.fault_window_ns, .quiet_ns = options.quiet_ns, .deadline_ns = options.deadline_ns};
  // Each kind decides whether it is on and how hard from its own stream (forked from the faults
  // stream's seed, not its position), so a kind added later leaves every other kind's choices,
  // and so every existing seed's plan, as they were.
  std::map<FaultKind, double> draws;  // the kind's uniform draw for its intensity
  for (FaultKind kind : kAllFaultKinds) {
    Rng choice = rng.fork(kStreamSwarmChoiceBase + static_cast<uint64_t>(kind));
    const bool on = choice.one_in(2);
    draws[kind] = choice.uniform_double();
    if (on && possible.contains(kind)) settings.kinds.insert(kind);
  }
  if (settings.kinds.empty() && !possible.empty()) {
    auto pick = possible.begin();
    std::advance(pick, static_cast<ptrdiff_t>(rng.below(possible.size())));
    settings.kinds.insert(*pick);
  }
  const double log_min = std::log(options.intensity_per_s_min);
  const double log_max = std::log(options.intensity_per_s_max);
  for (FaultKind kind : settings.kinds) {
    const double u = draws.at(kind);
    const double intensity = std::clamp(std::exp(log_min + u * (log_max - log_min)), options.intensity_per_s_min,
                                        options.intensity_per_s_max);
    settings.intensity_per_s[kind] = intensity;
  }
  assert(settings.kinds.size() == settings.intensity_per_s.size());
  assert(possible.empty() || !settings.kinds.empty());
  return settings;
}

// A duration for a fault at `at_ns`, shortened to end with the fault window.
Nanos draw_duration(Rng& rng, Nanos at_ns, Nanos min, Nanos max, const SwarmOptions& options) {
  assert(at_ns < options.fault_window_ns);
  return std::min(rng.uniform_int(min, max), options.fault_window_ns - at_ns);
}

NodePair draw_link(Rng& rng, uint32_t node_count) {
  assert(node_count >= 2);
  const auto a = static_cast<uint32_t>(rng.below(node_count));
  auto b = static_cast<uint32_t>(rng.below(node_count - 1));
  if (b >= a) ++b;
  return NodePair{a, b};
}

PartitionFault draw_partition(Rng& rng, Nanos at_ns, const SwarmOptions& options) {
  std::vector<bool> on_second_side(options.node_count);
  size_t second_side_size = 0;
  for (uint32_t node = 0; node < options.node_count; ++node) {
    on_second_side[node] = rng.one_in(2);
    second_side_size += on_second_side[node] ? 1 : 0;
  }
  if (second_side_size == 0 || second_side_size == options.node_count) {
    const uint64_t moved = rng.below(options.node_count);  // one node changes sides
    on_second_side[moved] = !on_second_side[moved];
  }
  PartitionFault partition;
  for (uint32_t node = 0; node < options.node_count; ++node) {
    partition.sides[on_second_side[node] ? 1 : 0].push_back(node);
  }
  partition.one_way = rng.one_in(2);
  partition.duration_ns = draw_duration(rng, at_ns, options.duration_ns_min, options.duration_ns_max, options);
  assert(!partition.sides[0].empty());
  assert(!partition.sides[1].empty());
  return partition;
}

StorageFault draw_storage(Rng& rng, Nanos at_ns, const SwarmOptions& options) {
  // A rate in (0, storage_rate_max]: uniform_real's interval is half-open at the top.
  const auto rate = [&] { return options.storage_rate_max - rng.uniform_real(0, options.storage_rate_max); };
  const uint64_t mode = rng.below(3);  // errors only, lost writes only, or both
  StorageFault storage;
  storage.error_rate = mode != 1 ? rate() : 0;
  storage.loss_rate = mode != 0 ? rate() : 0;
  storage.duration_ns = draw_duration(rng, at_ns, options.duration_ns_min, options.duration_ns_max, options);
  assert(storage.error_rate > 0 || storage.loss_rate > 0);
  return storage;
}

BuggifyFault draw_buggify(Rng& rng, const std::vector<std::string>& sorted_sites) {
  assert(!sorted_sites.empty());
  BuggifyFault buggify;
  for (const std::string& site : sorted_sites) {
    if (rng.one_in(2)) buggify.sites.push_back(site);
  }
  if (buggify.sites.empty()) buggify.sites.push_back(sorted_sites[rng.below(sorted_sites.size())]);
  return buggify;
}

GpuTarget draw_gpu(Rng& rng, const SwarmOptions& options) {
  return GpuTarget{.node = static_cast<uint32_t>(rng.below(options.gpu_node_count)),
                   .device = static_cast<uint32_t>(rng.below(options.gpus_per_node))};
}

FaultParams draw_params(FaultKind kind, Rng& rng, Nanos at_ns, const SwarmOptions& options,
                        const std::vector<std::string>& sorted_sites) {
  switch (kind) {
    case FaultKind::kCrash: return CrashFault{.process = static_cast<uint32_t>(rng.below(options.process_count))};
    case FaultKind::kNodeCrash: {
      const int64_t first = options.spare_head_node ? 1 : 0;
      return NodeCrashFault{.node = static_cast<uint32_t>(rng.uniform_int(first, options.node_count - 1)),
                            .reboot_after_ns = draw_duration(rng, at_ns, options.reboot_after_ns_min,
                                                             options.reboot_after_ns_max, options)};
    }
    case FaultKind::kPartition: return draw_partition(rng, at_ns, options);
    case FaultKind::kClog: {
      ClogFault clog;
      if (options.node_count >= 2 && rng.one_in(2)) {
        clog.link = draw_link(rng, options.node_count);
      } else {
        clog.node = static_cast<uint32_t>(rng.below(options.node_count));
      }
      clog.duration_ns = draw_duration(rng, at_ns, options.duration_ns_min, options.duration_ns_max, options);
      return clog;
    }
    case FaultKind::kReset: return ResetFault{.link = draw_link(rng, options.node_count)};
    case FaultKind::kLatency: {
      const Nanos extra = rng.uniform_int(options.extra_latency_ns_min, options.extra_latency_ns_max);
      return LatencyFault{
          .extra_latency_ns = extra,
          .duration_ns = draw_duration(rng, at_ns, options.duration_ns_min, options.duration_ns_max, options)};
    }
    case FaultKind::kStorage: return draw_storage(rng, at_ns, options);
    case FaultKind::kBuggify: return draw_buggify(rng, sorted_sites);
    case FaultKind::kSuspect: return SuspectFault{.process = static_cast<uint32_t>(rng.below(options.process_count))};
    case FaultKind::kGpuThrottle: {
      GpuThrottleFault throttle{.gpu = draw_gpu(rng, options)};
      throttle.slowdown = options.gpu_slowdown_min == options.gpu_slowdown_max
                              ? options.gpu_slowdown_min
                              : rng.uniform_real(options.gpu_slowdown_min, options.gpu_slowdown_max);
      throttle.duration_ns = draw_duration(rng, at_ns, options.duration_ns_min, options.duration_ns_max, options);
      return throttle;
    }
    case FaultKind::kGpuMemory: {
      GpuMemoryFault pressure{.gpu = draw_gpu(rng, options)};
      pressure.bytes = rng.uniform_int(options.gpu_pressure_bytes_min, options.gpu_pressure_bytes_max);
      pressure.duration_ns = draw_duration(rng, at_ns, options.duration_ns_min, options.duration_ns_max, options);
      return pressure;
    }
    case FaultKind::kGpuLoss: return GpuLossFault{.gpu = draw_gpu(rng, options)};
  }
  assert(false);
  return CrashFault{};
}

// Step 3 for one kind: a Poisson process at `intensity_per_s` over the fault window.
void realize_kind(FaultKind kind, double intensity_per_s, Rng rng, const SwarmOptions& options,
                  const std::vector<std::string>& sorted_sites, std::vector<ScheduledFault>& faults) {
  if (kind == FaultKind::kBuggify && sorted_sites.empty()) return;  // enabled, but nothing to name
  const double mean_gap_ns = static_cast<double>(kSecond) / intensity_per_s;
  const double window_ns = static_cast<double>(options.fault_window_ns);
  const size_t count_max = kind == FaultKind::kGpuLoss ? std::min(options.faults_max, options.gpu_losses_max)
                                                      : options.faults_max;
  size_t count = 0;
  for (double t = rng.exponential(mean_gap_ns); t < window_ns && count < count_max;
       t += rng.exponential(mean_gap_ns), ++count) {
    const auto at_ns = static_cast<Nanos>(t);
    faults.push_back(ScheduledFault{.at_ns = at_ns, .params = draw_params(kind, rng, at_ns, options, sorted_sites)});
  }
}

}  // namespace

absl::Status validate_swarm_options(const SwarmOptions& options) {
  const uint32_t targets_max = kPlanTargetIndexMax + 1;
  if (options.node_count > targets_max || options.process_count > targets_max) {
    return bad_option(fmt::format("node_count and process_count must be at most {} (got {} and {})", targets_max,
                                  options.node_count, options.process_count));
  }
  const bool intensities_ok = options.intensity_per_s_min > 0 &&
                              options.intensity_per_s_min <= options.intensity_per_s_max &&
                              options.intensity_per_s_max <= kIntensityPerSecondMax;
  if (!intensities_ok) {
    return bad_option(
        fmt::format("intensity_per_s_min must be positive and at most intensity_per_s_max, which must be "
                    "at most {} (got {}..{})",
                    kIntensityPerSecondMax, options.intensity_per_s_min, options.intensity_per_s_max));
  }
  const bool times_ok = options.fault_window_ns > 0 && options.quiet_ns >= 0 && options.deadline_ns <= kPlanTimeMaxNs &&
                        options.fault_window_ns + options.quiet_ns <= options.deadline_ns;
  if (!times_ok) {
    return bad_option(
        fmt::format("need 0 < fault_window_ns, 0 <= quiet_ns, fault_window_ns + quiet_ns <= deadline_ns "
                    "<= {} (got {}, {}, {})",
                    kPlanTimeMaxNs, options.fault_window_ns, options.quiet_ns, options.deadline_ns));
  }
  for (const absl::Status& status :
       {check_range("duration_ns", options.duration_ns_min, options.duration_ns_max),
        check_range("reboot_after_ns", options.reboot_after_ns_min, options.reboot_after_ns_max),
        check_range("extra_latency_ns", options.extra_latency_ns_min, options.extra_latency_ns_max)}) {
    if (!status.ok()) return status;
  }
  if (!(options.storage_rate_max > 0 && options.storage_rate_max <= 1)) {
    return bad_option(fmt::format("storage_rate_max must be above 0 and at most 1 (got {})", options.storage_rate_max));
  }
  if (options.gpu_node_count > targets_max || options.gpus_per_node > targets_max) {
    return bad_option(fmt::format("gpu_node_count and gpus_per_node must be at most {} (got {} and {})", targets_max,
                                  options.gpu_node_count, options.gpus_per_node));
  }
  if (!(options.gpu_slowdown_min > 1 && options.gpu_slowdown_min <= options.gpu_slowdown_max &&
        options.gpu_slowdown_max <= kGpuSlowdownMax)) {
    return bad_option(fmt::format(
        "gpu_slowdown_min must be above 1 and at most gpu_slowdown_max, which must be at most {} (got {}..{})",
        kGpuSlowdownMax, options.gpu_slowdown_min, options.gpu_slowdown_max));
  }
  if (!(options.gpu_pressure_bytes_min >= 1 && options.gpu_pressure_bytes_min <= options.gpu_pressure_bytes_max &&
        options.gpu_pressure_bytes_max <= kGpuPressureBytesMax)) {
    return bad_option(fmt::format(
        "gpu_pressure_bytes_min must be at least 1 and at most gpu_pressure_bytes_max, which must be at most {} "
        "(got {}..{})",
        kGpuPressureBytesMax, options.gpu_pressure_bytes_min, options.gpu_pressure_bytes_max));
  }
  if (options.faults_max > kPlanFaultsMax) {
    return bad_option(fmt::format("faults_max must be at most {} (got {})", kPlanFaultsMax, options.faults_max));
  }
  if (options.buggify_sites.size() > kBuggifySitesMax) {
    return bad_option(fmt::format("at most {} buggify_sites (got {})", kBuggifySitesMax, options.buggify_sites.size()));
  }
  const std::set<std::string> unique(options.buggify_sites.begin(), options.buggify_sites.end());
  if (unique.size() != options.buggify_sites.size()) return bad_option("buggify_sites must not repeat a name");
  for (const std::string& site : unique) {
    if (site.empty() || site.size() > kBuggifySiteNameBytesMax) {
      return bad_option(fmt::format("buggify site '{}' must be 1 to {} bytes long", site, kBuggifySiteNameBytesMax));
    }
  }
  return absl::OkStatus();
}

FaultPlan swarm_plan(uint64_t seed, const SwarmOptions& options) {
  assert(validate_swarm_options(options).ok());
  Rng rng = Rng(seed).fork(kStreamFaults);
  FaultPlan plan;
  plan.generator = choose_settings(rng, options);
  std::vector<std::string> sorted_sites = options.buggify_sites;
  std::sort(sorted_sites.begin(), sorted_sites.end());
  for (const auto& [kind, intensity] : plan.generator->intensity_per_s) {
    // Each kind's own stream, derived from the faults stream's seed, not from its position.
    realize_kind(kind, intensity, rng.fork(kStreamSwarmKindBase + static_cast<uint64_t>(kind)), options, sorted_sites,
                 plan.faults);
  }
  // Kinds were realized in kind order, each sorted by time: a stable sort by time breaks ties by kind.
  std::stable_sort(plan.faults.begin(), plan.faults.end(),
                   [](const ScheduledFault& a, const ScheduledFault& b) { return a.at_ns < b.at_ns; });
  if (plan.faults.size() > options.faults_max) plan.faults.resize(options.faults_max);
  assert(plan.faults.size() <= options.faults_max);
  return plan;
}

}  // namespace troupe::faults
