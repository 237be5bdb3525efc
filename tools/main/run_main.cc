#include "runtime/run_main.h"

#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>

#include "fmt/format.h"
#include "runtime/core/cluster.h"
#include "runtime/real/threads_platform.h"
#include "sim/sim_run.h"

namespace troupe {
namespace {

struct MainFlags {
  bool simulated = false;
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
    "usage: PROGRAM [--platform=threads|sim] [--seed=N] [--strategy=random|pct|fifo] [--nodes=N] [--cpus=N]\n";

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
      else return fmt::format("unknown platform '{}' (expected threads or sim)", value);
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
  return std::nullopt;
}

}  // namespace

int run_main(int argc, char** argv, absl::AnyInvocable<void(System&)> driver) {
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
  if (flags.simulated) {
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
