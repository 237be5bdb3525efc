#include "faults/fault_kind.h"

#include <cassert>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace troupe::faults {
namespace {

constexpr std::array<std::string_view, kFaultKindCount> kNames = {
    "crash", "node_crash", "partition", "clog", "reset", "latency", "storage", "buggify", "suspect",
    "gpu_throttle", "gpu_memory", "gpu_loss",
};

// `text` without leading and trailing spaces and tabs.
std::string_view trim(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  const size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

// The comma-separated items of `text`, empty ones included ("a,,b" has three).
std::vector<std::string_view> split_commas(std::string_view text) {
  std::vector<std::string_view> items;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) break;
    items.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  items.push_back(text.substr(start));
  return items;
}

absl::Status bad_flag(std::string_view list, std::string_view reason) {
  return absl::InvalidArgumentError(fmt::format("--faults '{}': {}", list, reason));
}

}  // namespace

std::string_view fault_kind_name(FaultKind kind) {
  const auto index = static_cast<size_t>(kind);
  assert(index < kFaultKindCount);
  return kNames[index];
}

std::optional<FaultKind> fault_kind_from_name(std::string_view name) {
  for (FaultKind kind : kAllFaultKinds) {
    if (fault_kind_name(kind) == name) return kind;
  }
  return std::nullopt;
}

std::string fault_kind_list(const std::set<FaultKind>& kinds) {
  std::string list;
  for (FaultKind kind : kinds) {
    if (!list.empty()) list += ", ";
    list += fault_kind_name(kind);
  }
  return list;
}

std::string_view fault_kind_choices() {
  return "crash, node_crash, partition, clog, reset, latency, storage, buggify, suspect, gpu_throttle, gpu_memory or "
         "gpu_loss";
}

absl::StatusOr<FaultSelection> parse_fault_kinds(std::string_view list) {
  const std::string_view whole = trim(list);
  if (whole.empty()) {
    return bad_flag(list,
                    fmt::format("empty; expected none, swarm, or a comma-separated list of {}", fault_kind_choices()));
  }
  if (whole == "none") return FaultSelection{.mode = FaultSelection::Mode::kNone, .kinds = {}};
  if (whole == "swarm") {
    return FaultSelection{.mode = FaultSelection::Mode::kSwarm,
                          .kinds = std::set<FaultKind>(kAllFaultKinds.begin(), kAllFaultKinds.end())};
  }
  FaultSelection selection{.mode = FaultSelection::Mode::kKinds, .kinds = {}};
  int position = 0;
  for (std::string_view raw : split_commas(whole)) {
    ++position;
    const std::string_view item = trim(raw);
    if (item.empty()) return bad_flag(list, fmt::format("item {} is empty", position));
    if (item == "none" || item == "swarm") {
      return bad_flag(list, fmt::format("'{}' must be the whole value, not part of a list", item));
    }
    const std::optional<FaultKind> kind = fault_kind_from_name(item);
    if (!kind) {
      return bad_flag(list, fmt::format("unknown fault kind '{}' (expected none, swarm, or a list of {})", item,
                                        fault_kind_choices()));
    }
    if (!selection.kinds.insert(*kind).second) {
      return bad_flag(list, fmt::format("fault kind '{}' is listed twice", item));
    }
  }
  assert(!selection.kinds.empty());
  return selection;
}

}  // namespace troupe::faults
