// The kinds of fault a plan can schedule, their stable names, and the `--faults` flag.
//
// Each kind has one name used everywhere a person reads or writes it: plan files, the CLI flag
// `--faults none|swarm|KIND,...`, traces and reports. The names are part of the plan format
// (docs/fault-plans.md) and never change; the enum's order is the order in which swarm draws its
// per-kind choices (faults/swarm.h), so new kinds go at the end.
//
//   absl::StatusOr<FaultSelection> selection = parse_fault_kinds("crash,partition");
//   // selection->mode == FaultSelection::Mode::kKinds, selection->kinds == {kCrash, kPartition}
#pragma once

#include <array>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace troupe::faults {

enum class FaultKind {
  kCrash,      // "crash": one process (an actor's worker, the driver, ...) dies
  kNodeCrash,  // "node_crash": a whole node and its processes die, optionally rebooting later
  kPartition,  // "partition": two sets of nodes cannot reach each other (or one way only)
  kClog,       // "clog": a node's or a link's messages are held for a while, then released
  kReset,      // "reset": a link's connection resets, losing its in-flight messages
  kLatency,    // "latency": a tail-latency spike, extra delay on every message for a while
  kStorage,    // "storage": the object store fails or loses writes at some rate for a while
  kBuggify,    // "buggify": named buggify() sites are enabled from then on
  kSuspect,    // "suspect": a live process is falsely reported dead (a split brain)
  kGpuThrottle,  // "gpu_throttle": a GPU runs slower for a while (thermal or power throttling)
  kGpuMemory,    // "gpu_memory": a neighbour takes part of a GPU's memory for a while
  kGpuLoss,      // "gpu_loss": a GPU is lost (falls off the bus); the processes using it crash
};

inline constexpr size_t kFaultKindCount = 12;

// Every kind, in enum order.
inline constexpr std::array<FaultKind, kFaultKindCount> kAllFaultKinds = {
    FaultKind::kCrash,   FaultKind::kNodeCrash, FaultKind::kPartition, FaultKind::kClog,
    FaultKind::kReset,   FaultKind::kLatency,   FaultKind::kStorage,   FaultKind::kBuggify,
    FaultKind::kSuspect, FaultKind::kGpuThrottle, FaultKind::kGpuMemory, FaultKind::kGpuLoss,
};

// The stable name of `kind`: "crash", "node_crash", "partition", "clog", "reset", "latency",
// "storage", "buggify", "suspect", "gpu_throttle", "gpu_memory" or "gpu_loss".
std::string_view fault_kind_name(FaultKind kind);

// The names of `kinds` in enum order, joined by ", " ("crash, partition"); "" for none.
std::string fault_kind_list(const std::set<FaultKind>& kinds);

// The kind named `name` (exactly, case-sensitive), or nullopt.
std::optional<FaultKind> fault_kind_from_name(std::string_view name);

// "crash, node_crash, partition, clog, reset, latency, storage, buggify, suspect, gpu_throttle,
// gpu_memory or gpu_loss": the choices, for error messages.
std::string_view fault_kind_choices();

// What `--faults` asked for.
struct FaultSelection {
  enum class Mode {
    kNone,   // "none": no faults at all
    kSwarm,  // "swarm": swarm testing over every kind
    kKinds,  // "crash,partition": swarm testing restricted to `kinds`
  };
  Mode mode = Mode::kNone;
  // The kinds swarm may enable: all of them for kSwarm, the listed ones for kKinds, none for
  // kNone.
  std::set<FaultKind> kinds;

  bool operator==(const FaultSelection&) const = default;
};

// Parses the value of `--faults`: "none", "swarm", or a comma-separated list of kind names
// ("crash,partition"; spaces around items are ignored). An empty value or item, an unknown kind,
// a repeated kind, or "none"/"swarm" inside a list are InvalidArgument errors that name the bad
// item and the choices.
absl::StatusOr<FaultSelection> parse_fault_kinds(std::string_view list);

}  // namespace troupe::faults
