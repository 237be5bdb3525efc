// Parsing the `troupe` command line (DESIGN §7) into a Command.
//
//   troupe list
//   troupe run [SCENARIO...|--all] [--bugs] --seeds A..B [--strategy random|pct|fifo]
//              [--pct-depth D] [--pct-steps K] [--max-failures N] [--jobs N] [--shard I/N]
//              [--platform sim|threads] [--check-determinism] [--json FILE] [--junit FILE]
//   troupe replay SCENARIO --seed N [--strategy S [--pct-depth D] [--pct-steps K] | --schedule FILE]
//              [--platform P] [--trace FILE [--trace-format text|jsonl|chrome]] [--html FILE]
//   troupe shrink SCENARIO --seed N --out FILE [--strategy S [--pct-depth D] [--pct-steps K]]
//                [--faults F | --plan FILE] [--max-runs R] [--match message|check]
//   troupe regress PATH...
//   troupe help
//
// Flags take their value as the next argument or after '=' (`--seeds 1..100`, `--seeds=1..100`).
// Every mistake is an InvalidArgument status whose message is one line naming what is wrong;
// the CLI prints it as `troupe: <message>` and exits with kExitUsage. Scenario names are
// checked against a registry separately (select_scenarios), so parsing needs none.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/trace/trace.h"
#include "faults/fault_kind.h"
#include "faults/plan.h"
#include "scenarios/runner.h"
#include "scenarios/scenario.h"
#include "sim/strategy.h"

namespace troupe::cli {

inline constexpr int kExitPassed = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// The most seeds one `troupe run` may sweep (a limit, so a typo cannot start a run of 2^64).
inline constexpr uint64_t kMaxSeeds = 1'000'000'000;

// An inclusive range of seeds: "A..B", or "N" for the single seed N.
struct SeedRange {
  uint64_t first = 1;
  uint64_t last = 1;
  uint64_t count() const { return last - first + 1; }
};

// A seed: decimal digits only, at most 2^64-1.
absl::StatusOr<uint64_t> parse_seed(std::string_view text);
// "A..B" with A <= B and at most kMaxSeeds seeds, or "N".
absl::StatusOr<SeedRange> parse_seed_range(std::string_view text);

// --shard I/N: the I-th of N contiguous, near-equal slices of a seed range (1 <= I <= N), so N CI
// jobs given the same range and I = 1..N run every seed exactly once.
struct Shard {
  uint64_t index = 1;
  uint64_t count = 1;
};
// "I/N" with 1 <= I <= N <= kMaxShards.
inline constexpr uint64_t kMaxShards = 100'000;
absl::StatusOr<Shard> parse_shard(std::string_view text);
// The slice of `range` that shard `shard` runs; InvalidArgument when the range has fewer seeds
// than shards (some shard would run nothing).
absl::StatusOr<SeedRange> shard_range(const SeedRange& range, const Shard& shard);

struct HelpCommand {};
struct ListCommand {};

// --faults and --plan, shared by run and replay (sim only).
struct FaultArgs {
  faults::FaultSelection selection;    // --faults (none by default)
  std::optional<faults::FaultPlan> plan;  // --plan FILE, loaded and checked
  std::string plan_path;
};

// --platform cluster's settings, shared by run and replay (docs/cluster.md).
struct ClusterArgs {
  std::string address;       // --address HOST:PORT: drive that cluster; empty: a local one per run
  std::string token;         // with --address: from --token-file FILE, else $TROUPE_TOKEN
  std::string log_path;      // --cluster-log FILE: the local cluster's daemons' and workers' logs
  bool chaos_kills = false;  // --chaos-kills: SIGKILL workers at the crash times of the seed's plan
};

// `troupe head`: a cluster's head in the foreground until Ctrl-C or SIGTERM (docs/cluster.md).
struct HeadCommand {
  std::string bind_address = "127.0.0.1";  // --bind
  uint16_t port = 7420;                     // --port (0: any free port)
  std::string token_file;                   // --token-file (created with a fresh token if missing)
  std::string name = "head";                // --name
  uint64_t cpus = 0;                        // --cpus (0: this machine's)
  uint64_t gpus = 0;                        // --gpus
  uint64_t memory_gb = 16;                  // --memory-gb
  std::string storage_directory;            // --storage DIR (empty: in memory)
};

// `troupe node`: a node daemon joining a head, until Ctrl-C, SIGTERM or the head's end.
struct NodeCommand {
  std::string head_host;  // --head HOST:PORT (required)
  uint16_t head_port = 0;
  std::string token_file;  // --token-file (required unless $TROUPE_TOKEN)
  std::string name;        // --name (default: node-<hostname>-<pid>)
  uint64_t cpus = 0;       // --cpus (0: this machine's)
  uint64_t gpus = 0;
  uint64_t memory_gb = 16;
  std::string worker_binary;  // --worker-binary (default: the driver's)
};

// The most --pct-steps and --max-failures accept (limits, like kMaxSeeds).
inline constexpr uint64_t kMaxPctSteps = 1'000'000'000'000;

struct RunCommand {
  std::vector<std::string> scenarios;  // as named, in order
  bool all = false;                    // every scenario that is not a planted bug
  bool bugs = false;                   // every planted bug, each expected to fail
  SeedRange seeds;                     // the seeds this process runs (the shard's slice with --shard)
  SeedRange requested_seeds;           // --seeds as given
  std::optional<Shard> shard;          // --shard I/N
  int jobs = 1;                        // --jobs: worker processes (1: run in this process)
  sim::StrategyKind strategy = sim::StrategyKind::kRandom;
  sim::PctOptions pct;                 // --pct-depth, --pct-steps (only with --strategy pct)
  uint64_t max_failures = 0;           // --max-failures: a scenario stops after this many failing seeds; 0: never
  scenarios::PlatformKind platform = scenarios::PlatformKind::kSim;
  bool check_determinism = false;
  std::string json_path;               // empty: no JSON report
  std::string junit_path;              // empty: no JUnit XML report
  FaultArgs faults;
  ClusterArgs cluster;
};

struct ReplayCommand {
  std::string scenario;
  uint64_t seed = 0;
  sim::StrategyKind strategy = sim::StrategyKind::kRandom;  // kReplay with --schedule
  sim::PctOptions pct;
  std::string schedule_path;           // --schedule FILE, loaded into `schedule`
  std::shared_ptr<const sim::Schedule> schedule;
  scenarios::PlatformKind platform = scenarios::PlatformKind::kSim;
  std::string trace_path;              // empty: no trace file
  TraceFormat trace_format = TraceFormat::kText;
  FaultArgs faults;
  std::string html_path;               // --html FILE: the run's HTML timeline; empty: none
  ClusterArgs cluster;
};

// The runs `troupe shrink` may spend by default (--max-runs).
inline constexpr uint64_t kShrinkDefaultMaxRuns = 2'000;
inline constexpr uint64_t kShrinkMaxRuns = 1'000'000'000;

// What counts as "the same failure" while shrinking (--match): the whole failure text (the
// default), or the same check failing with any detail ("always 'name' failed", or for a failure
// that is not a check, its text up to the first ": " — "driver threw troupe::ActorDiedError",
// "liveness").
// (The plan format's expect section records the same choice: one enum for both.)
using ShrinkMatch = faults::FailureMatch;

// `troupe shrink` (tools/troupe/shrink.h): the run flags of replay, the plan file to write and a
// budget of runs.
struct ShrinkCommand {
  std::string scenario;
  uint64_t seed = 0;
  sim::StrategyKind strategy = sim::StrategyKind::kRandom;
  sim::PctOptions pct;
  FaultArgs faults;
  std::string out_path;                      // --out FILE (required)
  uint64_t max_runs = kShrinkDefaultMaxRuns;  // --max-runs
  ShrinkMatch match = ShrinkMatch::kMessage;  // --match message|check
};

// `troupe regress PATH...` (tools/troupe/regress.h): plan files, and directories whose *.json files
// are plans, as given (expanded and loaded by the command, so a bad file is reported with the rest).
struct RegressCommand {
  std::vector<std::string> paths;  // at least one
};

using Command = std::variant<HelpCommand, ListCommand, RunCommand, ReplayCommand, ShrinkCommand, RegressCommand,
                             HeadCommand, NodeCommand>;

// The cluster token: the contents of `token_file` (one trailing newline dropped) when given, else
// $TROUPE_TOKEN; InvalidArgument when there is neither or the file cannot be read.
absl::StatusOr<std::string> read_token(const std::string& token_file);

// Parses the arguments after the program name.
absl::StatusOr<Command> parse_command(const std::vector<std::string>& args);

// The scenarios `command` selects, each once, in this order: the named ones as given, then with
// --all every correct scenario, then with --bugs every planted bug (both sorted by name).
// An unknown name is InvalidArgument ("unknown scenario 'x' (troupe list shows them)").
absl::StatusOr<std::vector<const scenarios::Scenario*>> select_scenarios(const scenarios::Registry& registry,
                                                                        const RunCommand& command);

// The usage text printed by `troupe help`.
std::string_view usage();

}  // namespace troupe::cli
