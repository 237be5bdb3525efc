#include "tools/troupe/args.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <tuple>
#include <limits>
#include <map>
#include <set>
#include <span>

#include "absl/status/status.h"
#include "faults/injector.h"
#include "fmt/format.h"
#include "runtime/net/handshake.h"
#include "runtime/net/link.h"
#include "tools/troupe/schedule_file.h"
#include "tools/troupe/workers.h"

namespace troupe::cli {
namespace {

using absl::InvalidArgumentError;

struct FlagSpec {
  std::string_view name;  // with the leading "--"
  bool takes_value;
};

constexpr FlagSpec kRunFlags[] = {{"--all", false},         {"--bugs", false},     {"--seeds", true},
                                  {"--strategy", true},     {"--platform", true},  {"--check-determinism", false},
                                  {"--json", true},         {"--faults", true},    {"--plan", true},
                                  {"--pct-depth", true},    {"--pct-steps", true}, {"--max-failures", true},
                                  {"--jobs", true},         {"--shard", true},     {"--junit", true},
                                  {"--address", true},      {"--token-file", true}, {"--cluster-log", true},
                                  {"--chaos-kills", false}};
constexpr FlagSpec kReplayFlags[] = {{"--seed", true},  {"--strategy", true},     {"--platform", true},
                                     {"--trace", true}, {"--trace-format", true}, {"--faults", true},
                                     {"--plan", true},  {"--pct-depth", true},    {"--pct-steps", true},
                                     {"--schedule", true},
                                     {"--html", true},  {"--address", true},      {"--token-file", true},
                                     {"--cluster-log", true}, {"--chaos-kills", false}};
constexpr FlagSpec kHeadFlags[] = {{"--bind", true}, {"--port", true},      {"--token-file", true}, {"--name", true},
                                   {"--cpus", true}, {"--gpus", true},      {"--memory-gb", true},  {"--storage", true}};
constexpr FlagSpec kNodeFlags[] = {{"--head", true}, {"--token-file", true}, {"--name", true},          {"--cpus", true},
                                   {"--gpus", true}, {"--memory-gb", true},  {"--worker-binary", true}};
constexpr FlagSpec kShrinkFlags[] = {{"--seed", true},      {"--strategy", true},  {"--pct-depth", true},
                                     {"--pct-steps", true}, {"--faults", true},    {"--plan", true},
                                     {"--out", true},       {"--max-runs", true},  {"--match", true}};

struct SplitArgs {
  std::vector<std::string> positional;
  std::map<std::string, std::string, std::less<>> flags;  // name -> value ("" for switches)

  bool has(std::string_view name) const { return flags.contains(name); }
  const std::string* value(std::string_view name) const {
    auto it = flags.find(name);
    return it == flags.end() ? nullptr : &it->second;
  }
};

// Separates flags (checked against `known`) from positional arguments.
absl::StatusOr<SplitArgs> split_args(std::string_view command, const std::vector<std::string>& args,
                                     std::span<const FlagSpec> known) {
  SplitArgs split;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') {
      split.positional.push_back(arg);
      continue;
    }
    const size_t equals = arg.find('=');
    const std::string name = arg.substr(0, equals);
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& flag : known) {
      if (flag.name == name) spec = &flag;
    }
    if (spec == nullptr) {
      return InvalidArgumentError(fmt::format("unknown flag '{}' for {} (troupe help shows the usage)", name, command));
    }
    if (split.has(name)) return InvalidArgumentError(fmt::format("{} is given twice", name));
    std::string value;
    if (!spec->takes_value) {
      if (equals != std::string::npos) return InvalidArgumentError(fmt::format("{} takes no value", name));
    } else if (equals != std::string::npos) {
      value = arg.substr(equals + 1);
    } else if (i + 1 < args.size() && !args[i + 1].starts_with("--")) {
      value = args[++i];
    } else {
      return InvalidArgumentError(fmt::format("{} needs a value", name));
    }
    if (spec->takes_value && value.empty()) return InvalidArgumentError(fmt::format("{} needs a value", name));
    split.flags.emplace(name, std::move(value));
  }
  return split;
}

// The value of `flag` as an integer in [1, max], or InvalidArgument naming the flag and the range.
absl::StatusOr<uint64_t> parse_count(std::string_view flag, const std::string& value, std::string_view what,
                                     uint64_t max) {
  absl::StatusOr<uint64_t> parsed = parse_seed(value);  // decimal digits, at most 2^64-1
  if (!parsed.ok() || *parsed < 1 || *parsed > max) {
    return InvalidArgumentError(fmt::format("{}: '{}' is not {} (expected an integer from 1 to {})", flag, value, what, max));
  }
  return *parsed;
}

// Parses --strategy, --pct-depth, --pct-steps and --platform, shared by run and replay.
absl::Status parse_common(const SplitArgs& split, sim::StrategyKind& strategy, sim::PctOptions& pct,
                          scenarios::PlatformKind& platform) {
  if (const std::string* value = split.value("--strategy")) {
    absl::StatusOr<sim::StrategyKind> parsed = sim::parse_strategy(*value);
    if (!parsed.ok()) return InvalidArgumentError(fmt::format("--strategy: {}", parsed.status().message()));
    strategy = *parsed;
  }
  for (std::string_view flag : {"--pct-depth", "--pct-steps"}) {
    if (split.has(flag) && strategy != sim::StrategyKind::kPct) {
      return InvalidArgumentError(fmt::format("{} needs --strategy pct", flag));
    }
  }
  if (const std::string* value = split.value("--pct-depth")) {
    absl::StatusOr<uint64_t> depth = parse_count("--pct-depth", *value, "a depth", sim::kPctMaxDepth);
    if (!depth.ok()) return depth.status();
    pct.depth = static_cast<uint32_t>(*depth);
  }
  if (const std::string* value = split.value("--pct-steps")) {
    absl::StatusOr<uint64_t> steps = parse_count("--pct-steps", *value, "a step bound", kMaxPctSteps);
    if (!steps.ok()) return steps.status();
    pct.steps = *steps;
  }
  if (const std::string* value = split.value("--platform")) {
    absl::StatusOr<scenarios::PlatformKind> parsed = scenarios::parse_platform(*value);
    if (!parsed.ok()) return parsed.status();
    platform = *parsed;
  }
  return absl::OkStatus();
}

// Parses --faults and --plan (a plan file is loaded and checked here, so a bad one is a usage
// error: exit 2, naming the file, the field and the reason).
absl::Status parse_faults(const SplitArgs& split, scenarios::PlatformKind platform, FaultArgs& out) {
  const std::string* selection = split.value("--faults");
  const std::string* plan_path = split.value("--plan");
  if (selection != nullptr && plan_path != nullptr) return InvalidArgumentError("give --faults or --plan, not both");
  if ((selection != nullptr || plan_path != nullptr) && platform != scenarios::PlatformKind::kSim) {
    return InvalidArgumentError("--faults and --plan need --platform sim");
  }
  if (selection != nullptr) {
    absl::StatusOr<faults::FaultSelection> parsed = faults::parse_fault_kinds(*selection);
    if (!parsed.ok()) return InvalidArgumentError(fmt::format("--faults: {}", parsed.status().message()));
    if (parsed->mode == faults::FaultSelection::Mode::kKinds) {
      for (faults::FaultKind kind : parsed->kinds) {
        if (faults::supported_kinds().count(kind) == 0) {  // every kind today; kept for new ones
          return InvalidArgumentError(fmt::format("--faults: the simulator cannot apply '{}' faults yet (supported: {})",
                                                  faults::fault_kind_name(kind),
                                                  faults::fault_kind_list(faults::supported_kinds())));
        }
      }
    }
    out.selection = *parsed;
  }
  if (plan_path != nullptr) {
    absl::StatusOr<faults::FaultPlan> plan = faults::load_plan(*plan_path);
    if (!plan.ok()) return InvalidArgumentError(std::string(plan.status().message()));
    if (absl::Status supported = faults::check_supported(*plan); !supported.ok()) {
      return InvalidArgumentError(fmt::format("{}: {}", *plan_path, supported.message()));
    }
    out.plan = std::move(*plan);
    out.plan_path = *plan_path;
  }
  return absl::OkStatus();
}

// A non-negative integer flag up to `max`.
absl::StatusOr<uint64_t> parse_amount(std::string_view flag, const std::string& value, uint64_t max) {
  if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos || value.size() > 12) {
    return InvalidArgumentError(fmt::format("{}: '{}' is not a whole number from 0 to {}", flag, value, max));
  }
  const uint64_t parsed = std::stoull(value);
  if (parsed > max) return InvalidArgumentError(fmt::format("{}: '{}' is not a whole number from 0 to {}", flag, value, max));
  return parsed;
}

// --address, --token-file, --cluster-log and --chaos-kills (--platform cluster only).
absl::Status parse_cluster(const SplitArgs& split, scenarios::PlatformKind platform, ClusterArgs& out) {
  const bool any = split.has("--address") || split.has("--token-file") || split.has("--cluster-log") ||
                   split.has("--chaos-kills");
  if (any && platform != scenarios::PlatformKind::kCluster) {
    return InvalidArgumentError("--address, --token-file, --cluster-log and --chaos-kills need --platform cluster");
  }
  if (const std::string* address = split.value("--address")) {
    std::string host;
    uint16_t port = 0;
    if (absl::Status parsed = net::parse_address(*address, &host, &port); !parsed.ok()) {
      return InvalidArgumentError(fmt::format("--address: {}", std::string(parsed.message())));
    }
    out.address = *address;
    absl::StatusOr<std::string> token = read_token(split.value("--token-file") ? *split.value("--token-file") : "");
    if (!token.ok()) return token.status();
    out.token = *token;
  } else if (split.has("--token-file")) {
    return InvalidArgumentError("--token-file needs --address (a local cluster makes its own token)");
  }
  if (const std::string* log = split.value("--cluster-log")) {
    if (!out.address.empty()) return InvalidArgumentError("--cluster-log is for a local cluster, not --address");
    out.log_path = *log;
  }
  out.chaos_kills = split.has("--chaos-kills");
  if (out.chaos_kills && !out.address.empty()) {
    return InvalidArgumentError("--chaos-kills needs a local cluster (it kills workers of its own cluster only)");
  }
  return absl::OkStatus();
}

// --cpus, --gpus and --memory-gb of head and node.
absl::Status parse_resources(const SplitArgs& split, uint64_t& cpus, uint64_t& gpus, uint64_t& memory_gb) {
  for (auto [flag, field, max] : {std::tuple{"--cpus", &cpus, uint64_t{4096}}, std::tuple{"--gpus", &gpus, uint64_t{1024}},
                                  std::tuple{"--memory-gb", &memory_gb, uint64_t{1} << 20}}) {
    if (const std::string* value = split.value(flag)) {
      absl::StatusOr<uint64_t> amount = parse_amount(flag, *value, max);
      if (!amount.ok()) return amount.status();
      *field = *amount;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Command> parse_head(const std::vector<std::string>& args) {
  absl::StatusOr<SplitArgs> split = split_args("head", args, kHeadFlags);
  if (!split.ok()) return split.status();
  if (!split->positional.empty()) return InvalidArgumentError(fmt::format("head takes no arguments (got '{}')", split->positional[0]));
  HeadCommand head;
  if (const std::string* value = split->value("--bind")) head.bind_address = *value;
  if (const std::string* value = split->value("--port")) {
    absl::StatusOr<uint64_t> port = parse_amount("--port", *value, 65535);
    if (!port.ok()) return port.status();
    head.port = static_cast<uint16_t>(*port);
  }
  if (const std::string* value = split->value("--token-file")) head.token_file = *value;
  if (const std::string* value = split->value("--name")) head.name = *value;
  if (const std::string* value = split->value("--storage")) head.storage_directory = *value;
  if (absl::Status status = parse_resources(*split, head.cpus, head.gpus, head.memory_gb); !status.ok()) return status;
  if (head.token_file.empty() && std::getenv("TROUPE_TOKEN") == nullptr) {
    return InvalidArgumentError("head needs --token-file FILE (created with a fresh token if missing) or $TROUPE_TOKEN");
  }
  return head;
}

absl::StatusOr<Command> parse_node(const std::vector<std::string>& args) {
  absl::StatusOr<SplitArgs> split = split_args("node", args, kNodeFlags);
  if (!split.ok()) return split.status();
  if (!split->positional.empty()) return InvalidArgumentError(fmt::format("node takes no arguments (got '{}')", split->positional[0]));
  NodeCommand node;
  const std::string* head = split->value("--head");
  if (head == nullptr) return InvalidArgumentError("node needs --head HOST:PORT");
  if (absl::Status parsed = net::parse_address(*head, &node.head_host, &node.head_port); !parsed.ok()) {
    return InvalidArgumentError(fmt::format("--head: {}", std::string(parsed.message())));
  }
  if (const std::string* value = split->value("--token-file")) node.token_file = *value;
  if (const std::string* value = split->value("--name")) node.name = *value;
  if (const std::string* value = split->value("--worker-binary")) node.worker_binary = *value;
  if (absl::Status status = parse_resources(*split, node.cpus, node.gpus, node.memory_gb); !status.ok()) return status;
  if (node.token_file.empty() && std::getenv("TROUPE_TOKEN") == nullptr) {
    return InvalidArgumentError("node needs --token-file FILE or $TROUPE_TOKEN (the head's token)");
  }
  return node;
}

absl::StatusOr<Command> parse_run(const std::vector<std::string>& args) {
  absl::StatusOr<SplitArgs> split = split_args("run", args, kRunFlags);
  if (!split.ok()) return split.status();
  RunCommand run{.scenarios = split->positional, .all = split->has("--all"), .bugs = split->has("--bugs"),
                 .check_determinism = split->has("--check-determinism")};
  if (absl::Status status = parse_common(*split, run.strategy, run.pct, run.platform); !status.ok()) return status;
  if (const std::string* value = split->value("--max-failures")) {
    absl::StatusOr<uint64_t> count = parse_count("--max-failures", *value, "a count of seeds", kMaxSeeds);
    if (!count.ok()) return count.status();
    run.max_failures = *count;
  }
  if (const std::string* value = split->value("--jobs")) {
    absl::StatusOr<uint64_t> jobs = parse_count("--jobs", *value, "a number of worker processes", kMaxJobs);
    if (!jobs.ok()) return jobs.status();
    run.jobs = static_cast<int>(*jobs);
  }
  const std::string* seeds = split->value("--seeds");
  if (seeds == nullptr) return InvalidArgumentError("run needs --seeds A..B");
  absl::StatusOr<SeedRange> range = parse_seed_range(*seeds);
  if (!range.ok()) return range.status();
  run.seeds = *range;
  run.requested_seeds = *range;
  if (const std::string* value = split->value("--shard")) {
    absl::StatusOr<Shard> shard = parse_shard(*value);
    if (!shard.ok()) return shard.status();
    absl::StatusOr<SeedRange> slice = shard_range(*range, *shard);
    if (!slice.ok()) return slice.status();
    run.shard = *shard;
    run.seeds = *slice;
  }
  if (run.scenarios.empty() && !run.all && !run.bugs) {
    return InvalidArgumentError("run needs scenario names, --all or --bugs");
  }
  if (run.check_determinism && run.platform != scenarios::PlatformKind::kSim) {
    return InvalidArgumentError("--check-determinism needs --platform sim (runs on threads are not reproducible)");
  }
  if (const std::string* json = split->value("--json")) run.json_path = *json;
  if (const std::string* junit = split->value("--junit")) run.junit_path = *junit;
  if (absl::Status status = parse_faults(*split, run.platform, run.faults); !status.ok()) return status;
  if (absl::Status status = parse_cluster(*split, run.platform, run.cluster); !status.ok()) return status;
  if (run.cluster.chaos_kills && run.jobs > 1) {
    return InvalidArgumentError("--chaos-kills runs in this process only (drop --jobs)");
  }
  if (run.faults.plan && run.faults.plan->schedule) {
    return InvalidArgumentError(fmt::format("{}: a plan with a schedule section replays one run: give it to troupe "
                                            "replay (a sweep schedules every seed with --strategy)",
                                            run.faults.plan_path));
  }
  return run;
}

// A plan file may name its scenario and seed (troupe shrink writes them): replay takes them when
// the command line does not name them; a name or --seed given there wins. A plan's schedule
// section sets the scheduling, so it excludes --schedule.
absl::Status take_run_from_plan(ReplayCommand& replay, bool seed_given) {
  const std::optional<faults::FaultPlan>& plan = replay.faults.plan;
  if (replay.scenario.empty()) {
    if (!plan || !plan->scenario) {
      return InvalidArgumentError(fmt::format("replay needs a scenario name ({} names none)", replay.faults.plan_path));
    }
    replay.scenario = *plan->scenario;
  }
  if (!seed_given) {
    if (!plan || !plan->seed) {
      return InvalidArgumentError(fmt::format("replay needs --seed N ({} records none)", replay.faults.plan_path));
    }
    replay.seed = *plan->seed;
  }
  if (plan && plan->schedule && !replay.schedule_path.empty()) {
    return InvalidArgumentError(fmt::format("{} has a schedule section: give it without --schedule",
                                            replay.faults.plan_path));
  }
  return absl::OkStatus();
}

absl::StatusOr<Command> parse_replay(const std::vector<std::string>& args) {
  absl::StatusOr<SplitArgs> split = split_args("replay", args, kReplayFlags);
  if (!split.ok()) return split.status();
  if (split->positional.empty() && !split->has("--plan")) return InvalidArgumentError("replay needs a scenario name");
  if (split->positional.size() > 1) {
    return InvalidArgumentError(fmt::format("replay takes one scenario (got '{}' and '{}')",
                                            split->positional[0], split->positional[1]));
  }
  ReplayCommand replay{.scenario = split->positional.empty() ? "" : split->positional[0]};
  if (absl::Status status = parse_common(*split, replay.strategy, replay.pct, replay.platform); !status.ok()) {
    return status;
  }
  if (const std::string* path = split->value("--schedule")) {
    if (split->has("--strategy") || split->has("--pct-depth") || split->has("--pct-steps")) {
      return InvalidArgumentError("--schedule replays recorded decisions: give it without --strategy, --pct-depth or --pct-steps");
    }
    if (replay.platform != scenarios::PlatformKind::kSim) return InvalidArgumentError("--schedule needs --platform sim");
    absl::StatusOr<sim::Schedule> schedule = load_schedule(*path);
    if (!schedule.ok()) return InvalidArgumentError(std::string(schedule.status().message()));
    replay.strategy = sim::StrategyKind::kReplay;
    replay.schedule_path = *path;
    replay.schedule = std::make_shared<const sim::Schedule>(std::move(*schedule));
  }
  const std::string* seed = split->value("--seed");
  if (seed == nullptr && !split->has("--plan")) return InvalidArgumentError("replay needs --seed N");
  if (seed != nullptr) {
    absl::StatusOr<uint64_t> parsed_seed = parse_seed(*seed);
    if (!parsed_seed.ok()) return InvalidArgumentError(fmt::format("bad --seed: {}", std::string(parsed_seed.status().message())));
    replay.seed = *parsed_seed;
  }
  if (const std::string* path = split->value("--trace")) replay.trace_path = *path;
  if (const std::string* path = split->value("--html")) replay.html_path = *path;
  if (const std::string* format = split->value("--trace-format")) {
    if (replay.trace_path.empty()) return InvalidArgumentError("--trace-format needs --trace FILE");
    absl::StatusOr<TraceFormat> parsed = parse_trace_format(*format);
    if (!parsed.ok()) return parsed.status();
    replay.trace_format = *parsed;
  }
  if (absl::Status status = parse_faults(*split, replay.platform, replay.faults); !status.ok()) return status;
  if (absl::Status status = parse_cluster(*split, replay.platform, replay.cluster); !status.ok()) return status;
  if (absl::Status status = take_run_from_plan(replay, seed != nullptr); !status.ok()) return status;
  return replay;
}

absl::StatusOr<Command> parse_regress(const std::vector<std::string>& args) {
  absl::StatusOr<SplitArgs> split = split_args("regress", args, {});
  if (!split.ok()) return split.status();
  if (split->positional.empty()) {
    return InvalidArgumentError("regress needs plan files or directories of them (tests/regressions, say)");
  }
  return RegressCommand{.paths = split->positional};
}

absl::StatusOr<Command> parse_shrink(const std::vector<std::string>& args) {
  absl::StatusOr<SplitArgs> split = split_args("shrink", args, kShrinkFlags);
  if (!split.ok()) return split.status();
  if (split->positional.empty()) return InvalidArgumentError("shrink needs a scenario name");
  if (split->positional.size() > 1) {
    return InvalidArgumentError(fmt::format("shrink takes one scenario (got '{}' and '{}')", split->positional[0],
                                            split->positional[1]));
  }
  ShrinkCommand shrink{.scenario = split->positional[0]};
  scenarios::PlatformKind platform = scenarios::PlatformKind::kSim;  // shrink runs under the simulator only
  if (absl::Status status = parse_common(*split, shrink.strategy, shrink.pct, platform); !status.ok()) return status;
  const std::string* seed = split->value("--seed");
  if (seed == nullptr) return InvalidArgumentError("shrink needs --seed N");
  absl::StatusOr<uint64_t> parsed_seed = parse_seed(*seed);
  if (!parsed_seed.ok()) return InvalidArgumentError(fmt::format("bad --seed: {}", std::string(parsed_seed.status().message())));
  shrink.seed = *parsed_seed;
  const std::string* out = split->value("--out");
  if (out == nullptr) return InvalidArgumentError("shrink needs --out FILE (the plan it writes)");
  shrink.out_path = *out;
  if (const std::string* value = split->value("--max-runs")) {
    absl::StatusOr<uint64_t> runs = parse_count("--max-runs", *value, "a number of runs", kShrinkMaxRuns);
    if (!runs.ok()) return runs.status();
    shrink.max_runs = *runs;
  }
  if (const std::string* match = split->value("--match")) {
    if (*match == "message") {
      shrink.match = ShrinkMatch::kMessage;
    } else if (*match == "check") {
      shrink.match = ShrinkMatch::kCheck;
    } else {
      return InvalidArgumentError(fmt::format("--match: unknown '{}' (expected message or check)", *match));
    }
  }
  if (absl::Status status = parse_faults(*split, platform, shrink.faults); !status.ok()) return status;
  return shrink;
}

}  // namespace

absl::StatusOr<uint64_t> parse_seed(std::string_view text) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  const bool digits_only = !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
  if (!digits_only) return InvalidArgumentError(fmt::format("'{}' is not a seed (a decimal number up to {})", text, kMax));
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc::result_out_of_range) {
    return InvalidArgumentError(fmt::format("'{}' is out of range (seeds are at most {})", text, kMax));
  }
  if (error != std::errc() || end != text.data() + text.size()) {
    return InvalidArgumentError(fmt::format("'{}' is not a seed (a decimal number up to {})", text, kMax));
  }
  return value;
}

absl::StatusOr<SeedRange> parse_seed_range(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return InvalidArgumentError(fmt::format("bad seed range '{}': {}", text, why));
  };
  const size_t dots = text.find("..");
  if (dots == std::string_view::npos) {
    absl::StatusOr<uint64_t> seed = parse_seed(text);
    if (!seed.ok()) return bad(std::string(seed.status().message()));
    return SeedRange{.first = *seed, .last = *seed};
  }
  const std::string_view first_text = text.substr(0, dots);
  const std::string_view last_text = text.substr(dots + 2);
  if (first_text.empty()) return bad("the first seed is missing (expected A..B)");
  if (last_text.empty()) return bad("the last seed is missing (expected A..B)");
  absl::StatusOr<uint64_t> first = parse_seed(first_text);
  if (!first.ok()) return bad(std::string(first.status().message()));
  absl::StatusOr<uint64_t> last = parse_seed(last_text);
  if (!last.ok()) return bad(std::string(last.status().message()));
  if (*first > *last) return bad("the first seed is larger than the last");
  if (*last - *first >= kMaxSeeds) return bad(fmt::format("more than {} seeds", kMaxSeeds));
  return SeedRange{.first = *first, .last = *last};
}

absl::StatusOr<Shard> parse_shard(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return InvalidArgumentError(fmt::format("--shard: bad shard '{}': {}", text, why));
  };
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return bad("expected I/N, e.g. 2/4 for the second of four shards");
  const std::string_view index_text = text.substr(0, slash);
  const std::string_view count_text = text.substr(slash + 1);
  const bool digits = !index_text.empty() && !count_text.empty() &&
                      index_text.find_first_not_of("0123456789") == std::string_view::npos &&
                      count_text.find_first_not_of("0123456789") == std::string_view::npos;
  if (!digits) return bad("expected I/N with decimal numbers, e.g. 2/4");
  absl::StatusOr<uint64_t> index = parse_seed(index_text);
  absl::StatusOr<uint64_t> count = parse_seed(count_text);
  if (!index.ok() || !count.ok() || *count < 1 || *count > kMaxShards) {
    return bad(fmt::format("N must be from 1 to {}", kMaxShards));
  }
  if (*index < 1 || *index > *count) return bad(fmt::format("I must be from 1 to N = {} (shards count from 1)", *count));
  return Shard{.index = *index, .count = *count};
}

absl::StatusOr<SeedRange> shard_range(const SeedRange& range, const Shard& shard) {
  const uint64_t seeds = range.count();
  if (seeds < shard.count) {
    return InvalidArgumentError(fmt::format("--shard {}/{}: the range {}..{} has only {} seed{}, fewer than the shards",
                                            shard.index, shard.count, range.first, range.last, seeds,
                                            seeds == 1 ? "" : "s"));
  }
  // The first (seeds mod N) shards take one seed more than the others.
  const uint64_t base = seeds / shard.count;
  const uint64_t extra = seeds % shard.count;
  const uint64_t before = shard.index - 1;
  const uint64_t first = range.first + before * base + std::min(before, extra);
  const uint64_t size = base + (before < extra ? 1 : 0);
  return SeedRange{.first = first, .last = first + size - 1};
}

absl::StatusOr<Command> parse_command(const std::vector<std::string>& args) {
  if (args.empty()) {
    return InvalidArgumentError(
        "no command (expected list, run, replay, shrink, regress, head or node; troupe help shows the usage)");
  }
  const std::string& command = args[0];
  if (command == "help" || command == "--help" || command == "-h") return HelpCommand{};
  if (command == "list") {
    if (args.size() > 1) return InvalidArgumentError(fmt::format("list takes no arguments (got '{}')", args[1]));
    return ListCommand{};
  }
  if (command == "run") return parse_run(args);
  if (command == "replay") return parse_replay(args);
  if (command == "shrink") return parse_shrink(args);
  if (command == "regress") return parse_regress(args);
  if (command == "head") return parse_head(args);
  if (command == "node") return parse_node(args);
  return InvalidArgumentError(
      fmt::format("unknown command '{}' (expected list, run, replay, shrink, regress, head or node)", command));
}

absl::StatusOr<std::string> read_token(const std::string& token_file) {
  if (token_file.empty()) {
    const char* token = std::getenv("TROUPE_TOKEN");
    if (token == nullptr) return InvalidArgumentError("no cluster token: give --token-file FILE or set $TROUPE_TOKEN");
    return std::string(token);
  }
  std::ifstream in(token_file);
  if (!in) return InvalidArgumentError(fmt::format("--token-file: cannot read '{}'", token_file));
  std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (token.ends_with('\n')) token.pop_back();
  if (absl::Status valid = net::validate_token(token); !valid.ok()) {
    return InvalidArgumentError(fmt::format("--token-file '{}': {}", token_file, std::string(valid.message())));
  }
  return token;
}

absl::StatusOr<std::vector<const scenarios::Scenario*>> select_scenarios(const scenarios::Registry& registry,
                                                                        const RunCommand& command) {
  std::vector<const scenarios::Scenario*> selected;
  std::set<std::string_view> seen;
  const auto take = [&](const scenarios::Scenario* scenario) {
    if (seen.insert(scenario->name).second) selected.push_back(scenario);
  };
  for (const std::string& name : command.scenarios) {
    const scenarios::Scenario* scenario = registry.find(name);
    if (scenario == nullptr) return InvalidArgumentError(fmt::format("unknown scenario '{}' (troupe list shows them)", name));
    take(scenario);
  }
  for (const scenarios::Scenario* scenario : registry.all()) {
    if ((command.all && !scenario->expect_fail) || (command.bugs && scenario->expect_fail)) take(scenario);
  }
  return selected;
}

std::string_view usage() {
  return R"(usage:
  troupe list                      one scenario per line: name, [expect-fail] for planted bugs, summary
  troupe run [SCENARIO...|--all] [--bugs] --seeds A..B
             [--strategy random|pct|fifo [--pct-depth D] [--pct-steps K]] [--platform sim|threads|cluster]
             [--check-determinism] [--json FILE] [--faults none|swarm|KIND,...] [--plan FILE]
             [--max-failures N] [--jobs N] [--shard I/N] [--junit FILE]
                                   sweep the seeds A..B (or one seed N); --all runs every scenario
                                   but the planted bugs, --bugs runs every planted bug and expects
                                   each to fail on some seed; --max-failures stops a scenario's
                                   sweep after N failing seeds; --jobs runs seeds in N worker
                                   processes (same results as 1); --shard runs the I-th of N
                                   slices of the range; --junit writes JUnit XML for CI; Ctrl-C
                                   stops and prints the summary so far
  --platform cluster [--address HOST:PORT [--token-file FILE]] [--cluster-log FILE] [--chaos-kills]
                                   (run and replay) run each seed on a real cluster: by default a
                                   local one of the scenario's shape (a head and a node daemon per
                                   further node, as child processes, stopped after the seed), or
                                   the cluster at --address with the token of FILE or $TROUPE_TOKEN;
                                   --chaos-kills kills workers with SIGKILL at the crash times of
                                   the seed's plan (scenarios that tolerate crashes)
  troupe replay SCENARIO --seed N [--strategy S [--pct-depth D] [--pct-steps K] | --schedule FILE]
             [--platform P] [--faults F | --plan FILE] [--trace FILE [--trace-format text|jsonl|chrome]]
             [--html FILE]
                                   run one seed, print its outcome and trace hash, write its trace;
                                   --schedule FILE follows the decisions of a jsonl trace instead of
                                   a strategy, and stops where the run departs from them; --html
                                   writes a self-contained HTML timeline of the run; a plan
                                   written by shrink names its scenario and seed, so
                                   `troupe replay --plan FILE` needs neither
  troupe shrink SCENARIO --seed N --out FILE [--strategy S [--pct-depth D] [--pct-steps K]]
             [--faults F | --plan FILE] [--max-runs R] [--match message|check]
                                   for a failing seed (the flags of its replay line), remove faults
                                   and scheduling choices while the same failure reproduces (at
                                   most R runs, default 2000), and write the smallest plan found to
                                   FILE; `troupe replay --plan FILE` reproduces it (a plan names
                                   its scenario and seed, and its schedule section overrides
                                   --strategy; docs/fault-plans.md); --match check keeps any run
                                   that fails the same check, whatever its detail; the plan's
                                   expect section records the failure and the match
  troupe regress PATH...           replay every plan (a file, or a directory's *.json files) as
                                   `troupe replay --plan FILE` does and compare the outcome with
                                   the plan's expect section: one line per plan, exit 1 if any
                                   mismatched (tests/regressions/README.md)
  troupe head --token-file FILE [--bind ADDR] [--port P] [--cpus N] [--gpus N] [--memory-gb N]
             [--name NAME] [--storage DIR]
                                   run a cluster's head (and node 0) until Ctrl-C; listens on
                                   127.0.0.1:7420 unless told otherwise; FILE is created with a
                                   fresh token if missing (docs/cluster.md)
  troupe node --head HOST:PORT --token-file FILE [--cpus N] [--gpus N] [--memory-gb N] [--name NAME]
             [--worker-binary PATH]
                                   run a node daemon that joins the head and starts the workers of
                                   the actors placed on it
strategies (sim only): random (default) picks uniformly at each decision; pct (probabilistic
  concurrency testing) runs the highest-priority task and lowers the running one at D-1 random
  decisions among the first K (depth D from 1 to 1000, default 3; K adaptive per seed unless
  given); fifo always runs the oldest ready item (docs/exploration.md)
exit status: 0 all passed, 1 some failed, 2 bad usage, 130 run interrupted by Ctrl-C (docs/cli.md)
)";
}

}  // namespace troupe::cli
