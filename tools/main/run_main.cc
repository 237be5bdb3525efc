#include "runtime/run_main.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fmt/format.h"
#include "runtime/cluster/cluster_main.h"
#include "runtime/cluster/cluster_platform.h"
#include "runtime/cluster/local_cluster.h"
#include "runtime/core/cluster.h"
#include "runtime/net/link.h"
#include "runtime/real/threads_platform.h"
#include "sim/sim_run.h"

namespace troupe {
namespace {

struct MainFlags {
  bool simulated = false;
  bool cluster = false;
  std::string address;  // --address HOST:PORT (cluster); empty: a local cluster of --nodes nodes
  uint64_t seed = 1;
  sim::StrategyKind strategy = sim::StrategyKind::kRandom;
  int nodes = 3;
  int cpus = 8;
};

// Parses all of `text` as a whole number.
template <typename T>
bool parse_number(std::string_view text, T* out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

constexpr std::string_view kUsage =
    "usage: PROGRAM [--platform=threads|sim|cluster] [--seed=N] [--strategy=random|pct|fifo] [--nodes=N] [--cpus=N]\n"
    "               [--address=HOST:PORT (cluster; the token from $TROUPE_TOKEN)]\n";

// Parses the flags; returns an error message for the first bad one.
std::optional<std::string> parse(int argc, char** argv, MainFlags& flags) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    size_t eq = arg.find('=');
    std::string_view name = arg.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : arg.substr(eq + 1);
    if (eq == std::string_view::npos && name != "--help" && i + 1 < argc) value = argv[++i];
    if (name == "--platform") {
      if (value == "sim") flags.simulated = true;
      else if (value == "threads") flags.simulated = false;
      else if (value == "cluster") flags.cluster = true;
      else return fmt::format("unknown platform '{}' (expected threads, sim or cluster)", value);
    } else if (name == "--address") {
      std::string host;
      uint16_t port = 0;
      if (absl::Status parsed = net::parse_address(value, &host, &port); !parsed.ok()) {
        return std::string(parsed.message());
      }
      flags.address = std::string(value);
    } else if (name == "--seed") {
      if (!parse_number(value, &flags.seed)) return fmt::format("--seed needs a whole number, got '{}'", value);
    } else if (name == "--strategy") {
      absl::StatusOr<sim::StrategyKind> strategy = sim::parse_strategy(value);
      if (!strategy.ok()) return std::string(strategy.status().message().data(), strategy.status().message().size());
      flags.strategy = *strategy;
    } else if (name == "--nodes") {
      if (!parse_number(value, &flags.nodes) || flags.nodes < 1 || flags.nodes > 10'000) {
        return fmt::format("--nodes needs a number from 1 to 10000, got '{}'", value);
      }
    } else if (name == "--cpus") {
      if (!parse_number(value, &flags.cpus) || flags.cpus < 1 || flags.cpus > 1'000'000) {
        return fmt::format("--cpus needs a number from 1 to 1000000, got '{}'", value);
      }
    } else if (name == "--help") {
      return std::string();
    } else {
      return fmt::format("unknown flag '{}'", arg);
    }
  }
  if (!flags.address.empty() && !flags.cluster) return std::string("--address needs --platform=cluster");
  if (!flags.address.empty() && std::getenv("TROUPE_TOKEN") == nullptr) {
    return std::string("--address needs the cluster's token in $TROUPE_TOKEN");
  }
  return std::nullopt;
}

// The cluster platform: a local cluster of `flags.nodes` nodes (this program re-executed as its
// head, node daemons and workers), or the one at --address.
absl::Status run_on_cluster(const MainFlags& flags, absl::AnyInvocable<void(System&)> driver) {
  std::unique_ptr<cluster::LocalCluster> local;
  std::string host;
  uint16_t port = 0;
  std::string token;
  if (flags.address.empty()) {
    cluster::LocalClusterOptions options;
    for (int i = 0; i < flags.nodes; ++i) {
      options.nodes.push_back({.name = i == 0 ? "head" : fmt::format("node{}", i), .cpus = double(flags.cpus),
                               .memory_bytes = int64_t{16} << 30});
    }
    absl::StatusOr<std::unique_ptr<cluster::LocalCluster>> started = cluster::LocalCluster::start(options);
    if (!started.ok()) return started.status();
    local = std::move(*started);
    host = local->host();
    port = local->port();
    token = local->token();
  } else {
    if (absl::Status parsed = net::parse_address(flags.address, &host, &port); !parsed.ok()) return parsed;
    token = std::getenv("TROUPE_TOKEN");
  }
  absl::StatusOr<std::unique_ptr<cluster::ClusterPlatform>> platform = cluster::ClusterPlatform::join_as_driver(
      {.host = host, .port = port, .token = token, .seed = flags.seed}, cluster::self_executable(),
      local != nullptr ? static_cast<size_t>(flags.nodes) : 1, 10 * kSecond);
  if (!platform.ok()) return platform.status();
  return cluster::run_cluster_driver(**platform, std::move(driver));
}

}  // namespace

int run_main(int argc, char** argv, absl::AnyInvocable<void(System&)> driver) {
  // This program re-executed as a worker (or head, or node daemon) of a cluster it drives.
  if (std::optional<int> code = cluster::run_cluster_role_if_asked()) return *code;
  MainFlags flags;
  if (std::optional<std::string> error = parse(argc, argv, flags)) {
    if (error->empty()) {
      fmt::print("{}", kUsage);
      return 0;
    }
    fmt::print(stderr, "{}: {}\n{}", argc > 0 ? argv[0] : "troupe", *error, kUsage);
    return 2;
  }
  absl::Status status;
  if (flags.cluster) {
    status = run_on_cluster(flags, std::move(driver));
    if (!status.ok()) fmt::print(stderr, "run failed: {}\n", status.message());
  } else if (flags.simulated) {
    sim::SimRunOptions options{.seed = flags.seed, .strategy = flags.strategy};
    options.cluster.nodes.clear();
    for (int i = 0; i < flags.nodes; ++i) {
      options.cluster.nodes.push_back({.name = i == 0 ? "head" : fmt::format("node{}", i), .cpus = double(flags.cpus)});
    }
    status = sim::run_simulation(options, std::move(driver)).status;
    if (!status.ok()) {
      fmt::print(stderr, "run failed (seed {}, strategy {}): {}\n", flags.seed, sim::strategy_name(flags.strategy),
                 status.message());
    }
  } else {
    ThreadsPlatformOptions options{.seed = flags.seed};
    for (int i = 0; i < flags.nodes; ++i) {
      options.nodes.push_back({.name = i == 0 ? "head" : fmt::format("node{}", i), .cpus = double(flags.cpus)});
    }
    ThreadsPlatform platform(options);
    status = core::run_driver(platform, std::move(driver));
    if (!status.ok()) fmt::print(stderr, "run failed: {}\n", status.message());
  }
  return status.ok() ? 0 : 1;
}

}  // namespace troupe
