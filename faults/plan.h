// Fault plans: a list of scheduled faults plus the settings of the generator that made them.
//
// A plan is data only. It names its targets by index into the cluster's nodes and processes
// (node 0 is the head node; process i is the i-th process of the scenario's cluster), and a later
// piece resolves those indices and applies the faults to the simulator. A plan comes from a JSON
// file written by a person or by `troupe shrink`, or from swarm (faults/swarm.h); its format is
// documented in docs/fault-plans.md.
//
// Parsing validates everything and reports the first problem as InvalidArgument naming the file,
// the JSON path of the field and the reason:
//
//   plan.json: faults[2].duration_ms: must not be negative (got -5)
//
// plan_to_json writes a plan back in a stable key order; parse_plan(plan_to_json(p)) == p.
// Everything here is deterministic and thread-compatible (no shared state).
//
//   absl::StatusOr<FaultPlan> plan = load_plan("plans/partition_heal.json");
//   if (!plan.ok()) return plan.status();
//   for (const ScheduledFault& fault : plan->faults) schedule(fault.at_ns, fault);
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "faults/fault_kind.h"
#include "runtime/ids.h"
#include "sim/schedule.h"

namespace troupe::faults {

// Limits of the plan format; values beyond them are rejected with an error naming the limit.
inline constexpr int kPlanVersion = 1;
// Every time in a plan lies in [0, kPlanTimeMaxNs] (about 11.6 days of simulated time). Below 2^53
// nanoseconds, so a time written as fractional milliseconds converts back exactly.
inline constexpr Nanos kPlanTimeMaxNs = 1'000'000'000 * kMillisecond;
inline constexpr size_t kPlanFaultsMax = 100'000;
inline constexpr uint32_t kPlanTargetIndexMax = 65'535;  // node and process indices
inline constexpr size_t kBuggifySitesMax = 256;
inline constexpr size_t kBuggifySiteNameBytesMax = 128;
inline constexpr double kIntensityPerSecondMax = 1'000'000;
inline constexpr size_t kPlanFileBytesMax = 64 << 20;
inline constexpr double kGpuSlowdownMax = 1000;           // gpu_throttle: at most 1000 times slower
inline constexpr int64_t kGpuPressureBytesMax = int64_t{1} << 50;  // gpu_memory: at most 1 PiB
inline constexpr size_t kPlanScenarioNameBytesMax = 256;
inline constexpr size_t kPlanScheduleChoicesMax = 1'000'000;  // entries of the schedule section
inline constexpr uint64_t kPlanDecisionMax = uint64_t{1} << 40;  // decision numbers, from 1
inline constexpr uint32_t kPlanChoiceMax = 1'000'000;            // indices into a ready list
inline constexpr size_t kPlanFailureBytesMax = 64 << 10;         // the expect section's failure text

// Two distinct nodes, by index. Links are undirected: {0, 2} and {2, 0} are the same link.
struct NodePair {
  uint32_t a = 0;
  uint32_t b = 0;
  bool operator==(const NodePair&) const = default;
};

// kCrash: process `process` crashes (as if killed); restarting it is the runtime's business.
struct CrashFault {
  uint32_t process = 0;
  bool operator==(const CrashFault&) const = default;
};

// kNodeCrash: node `node` and all its processes crash; it boots again (empty) `reboot_after_ns`
// later, or never if unset.
struct NodeCrashFault {
  uint32_t node = 0;
  std::optional<Nanos> reboot_after_ns;  // > 0 when set
  bool operator==(const NodeCrashFault&) const = default;
};

// kPartition: messages between `sides[0]` and `sides[1]` are dropped for `duration_ns`, in both
// directions, or only from sides[0] to sides[1] when `one_way`. Nodes in neither side are not
// affected. Each side is non-empty, sorted, and the two are disjoint.
struct PartitionFault {
  std::vector<uint32_t> sides[2];
  bool one_way = false;
  Nanos duration_ns = 0;  // > 0
  bool operator==(const PartitionFault&) const = default;
};

// kClog: the messages to and from one node, or over one link, are held for `duration_ns` and then
// delivered. Exactly one of `node` and `link` is set.
struct ClogFault {
  std::optional<uint32_t> node;
  std::optional<NodePair> link;
  Nanos duration_ns = 0;  // > 0
  bool operator==(const ClogFault&) const = default;
};

// kReset: the connection between the two nodes of `link` resets; messages in flight on it are lost.
struct ResetFault {
  NodePair link;
  bool operator==(const ResetFault&) const = default;
};

// kLatency: every message sent during `duration_ns` takes `extra_latency_ns` longer (a tail spike).
struct LatencyFault {
  Nanos extra_latency_ns = 0;  // > 0
  Nanos duration_ns = 0;       // > 0
  bool operator==(const LatencyFault&) const = default;
};

// kStorage: for `duration_ns`, each storage operation fails with probability `error_rate` and each
// write not yet acknowledged is lost with probability `loss_rate`. Rates in [0, 1], not both 0.
struct StorageFault {
  double error_rate = 0;
  double loss_rate = 0;
  Nanos duration_ns = 0;  // > 0
  bool operator==(const StorageFault&) const = default;
};

// kBuggify: the buggify() sites named in `sites` are enabled from this time to the end of the run.
// Sorted, unique, non-empty names.
struct BuggifyFault {
  std::vector<std::string> sites;
  bool operator==(const BuggifyFault&) const = default;
};

// kSuspect: the failure detector falsely reports process `process` dead: the directory replaces
// it while it keeps running until the directory's fence reaches it (a split brain). Targets are
// resolved like kCrash's.
struct SuspectFault {
  uint32_t process = 0;
  bool operator==(const SuspectFault&) const = default;
};

// One GPU, by indices resolved when the fault fires: `node` names the (node mod n)-th of the n
// nodes that have GPUs (in node-id order), and `device` names device (device mod g) of that node's
// g GPUs. (Only nodes with GPUs count, so a plan's GPU faults land on GPUs whatever the head has.)
struct GpuTarget {
  uint32_t node = 0;
  uint32_t device = 0;
  bool operator==(const GpuTarget&) const = default;
};

// kGpuThrottle: the GPU runs `slowdown` times slower (in (1, kGpuSlowdownMax]) for `duration_ns`;
// kernels in flight take longer.
struct GpuThrottleFault {
  GpuTarget gpu;
  double slowdown = 2;
  Nanos duration_ns = 0;  // > 0
  bool operator==(const GpuThrottleFault&) const = default;
};

// kGpuMemory: a neighbour process takes up to `bytes` (in [1, kGpuPressureBytesMax]) of the GPU's
// free memory for `duration_ns`; allocations that no longer fit throw GpuOutOfMemory, existing
// ones are kept.
struct GpuMemoryFault {
  GpuTarget gpu;
  int64_t bytes = 0;
  Nanos duration_ns = 0;  // > 0
  bool operator==(const GpuMemoryFault&) const = default;
};

// kGpuLoss: the GPU is lost until its node reboots; every process bound to it crashes, and the
// directory places restarted actors on other devices.
struct GpuLossFault {
  GpuTarget gpu;
  bool operator==(const GpuLossFault&) const = default;
};

// The parameters of one fault. The alternatives are in FaultKind order: index() is the kind.
using FaultParams =
    std::variant<CrashFault, NodeCrashFault, PartitionFault, ClogFault, ResetFault, LatencyFault, StorageFault,
                 BuggifyFault, SuspectFault, GpuThrottleFault, GpuMemoryFault, GpuLossFault>;

// One fault at one simulated time.
struct ScheduledFault {
  Nanos at_ns = 0;
  FaultParams params;

  FaultKind kind() const { return static_cast<FaultKind>(params.index()); }
  bool operator==(const ScheduledFault&) const = default;
};

// How a generator (swarm) chose the faults, kept with them so a run can be explained and redone.
struct GeneratorSettings {
  std::set<FaultKind> kinds;                      // the enabled kinds
  std::map<FaultKind, double> intensity_per_s;    // mean faults per simulated second; keys == kinds
  Nanos fault_window_ns = 0;  // faults start and end inside [0, fault_window_ns)
  Nanos quiet_ns = 0;         // then no faults for this long: the system must recover
  Nanos deadline_ns = 0;      // the run ends here; fault_window_ns + quiet_ns <= deadline_ns
  bool operator==(const GeneratorSettings&) const = default;
};

// How an expected failure is compared with a run's failure text (the expect section's "match",
// and `troupe shrink --match`): the whole text, every line; or the same check failing with any
// detail (tools/troupe/shrink.h, failure_key, says exactly what is compared).
enum class FailureMatch { kMessage, kCheck };

// The outcome a run of the plan must have (the "expect" section; `troupe regress` checks it, and
// `troupe shrink` writes it). For kPass, `match` is kMessage and `failure` is empty; for kFail,
// `failure` is the text the run fails with (1 to kPlanFailureBytesMax bytes, valid UTF-8), compared
// as `match` says. The parser rejects the other combinations.
enum class ExpectedOutcome { kPass, kFail };
struct Expectation {
  ExpectedOutcome outcome = ExpectedOutcome::kPass;
  FailureMatch match = FailureMatch::kMessage;
  std::string failure;
  bool operator==(const Expectation&) const = default;
};

// A whole plan file.
struct FaultPlan {
  int version = kPlanVersion;
  std::vector<ScheduledFault> faults;  // in the file's order (swarm and shrink sort by time)
  std::optional<GeneratorSettings> generator;
  // The run the plan was made for (`troupe shrink` records them; `troupe replay --plan FILE`
  // uses them when the command line does not name a scenario or a seed). Data only here.
  std::optional<std::string> scenario;  // 1 to kPlanScenarioNameBytesMax bytes
  std::optional<uint64_t> seed;
  // Scheduling decisions (sim/schedule.h, GuidedSchedule): a run of a plan that has them uses
  // the guided strategy whatever --strategy says. Decision numbers from 1 to kPlanDecisionMax,
  // strictly increasing; choices at most kPlanChoiceMax; at most kPlanScheduleChoicesMax entries.
  std::optional<sim::GuidedSchedule> schedule;
  // What a run of the plan (its scenario, seed and schedule) must do: a regression test's verdict.
  std::optional<Expectation> expect;
  bool operator==(const FaultPlan&) const = default;
};

// The names the expect section uses: "message" or "check"; "pass" or "fail".
std::string_view failure_match_name(FailureMatch match);
std::string_view expected_outcome_name(ExpectedOutcome outcome);

// Parses and validates the JSON text of a plan. `source_name` (usually the file's path) starts
// every error message. Errors are InvalidArgument.
absl::StatusOr<FaultPlan> parse_plan(std::string_view json, std::string_view source_name);

// Reads the file at `path` and parses it; an unreadable file is NotFound or InvalidArgument naming
// the path.
absl::StatusOr<FaultPlan> load_plan(const std::string& path);

// The plan as JSON text (ends with a newline): keys in a fixed order, one fault per line, times in
// milliseconds. Writes whatever `plan` holds; validate_plan says whether it is a valid plan.
std::string plan_to_json(const FaultPlan& plan);

// OK if `plan` is a valid plan that survives writing and reading back unchanged; otherwise the
// error parse_plan gives for its JSON text (named `source_name`), or Internal if it round-trips
// differently (an unsorted partition side, say, or an expected failure text that is not UTF-8:
// plan_to_json writes U+FFFD for its bad bytes).
absl::Status validate_plan(const FaultPlan& plan, std::string_view source_name);

}  // namespace troupe::faults
