// Identifiers shared by the runtime, the platforms and the simulator.
//
// Every id is a counter handed out in a deterministic order (never an address or a hash), so the
// same seed names the same things in every run. Ids are small value types, ordered and hashable,
// and print as `n3`, `p7`, `a1.2`, `o4.9`.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "fmt/format.h"

namespace troupe {

// Virtual or real time, in nanoseconds since the platform started.
using Nanos = int64_t;

inline constexpr Nanos kMicrosecond = 1'000;
inline constexpr Nanos kMillisecond = 1'000'000;
inline constexpr Nanos kSecond = 1'000'000'000;

// A machine of the cluster. 0 is the head node.
struct NodeId {
  uint32_t value = 0;
  auto operator<=>(const NodeId&) const = default;
  template <typename H> friend H AbslHashValue(H h, NodeId id) { return H::combine(std::move(h), id.value); }
};

// An OS-process-like unit: the driver, the directory (GCS), or one actor's worker.
// 0 means "none".
struct ProcessId {
  uint32_t value = 0;
  bool valid() const { return value != 0; }
  auto operator<=>(const ProcessId&) const = default;
  template <typename H> friend H AbslHashValue(H h, ProcessId id) { return H::combine(std::move(h), id.value); }
};

// A fiber of one platform; unique for the platform's lifetime. 0 means "none".
struct FiberId {
  uint64_t value = 0;
  bool valid() const { return value != 0; }
  auto operator<=>(const FiberId&) const = default;
  template <typename H> friend H AbslHashValue(H h, FiberId id) { return H::combine(std::move(h), id.value); }
};

// An actor: the process that created it and a counter within that process.
struct ActorId {
  uint32_t creator = 0;
  uint32_t index = 0;
  bool valid() const { return creator != 0; }
  uint64_t packed() const { return (uint64_t{creator} << 32) | index; }
  static ActorId unpack(uint64_t v) { return {static_cast<uint32_t>(v >> 32), static_cast<uint32_t>(v)}; }
  auto operator<=>(const ActorId&) const = default;
  template <typename H> friend H AbslHashValue(H h, ActorId id) { return H::combine(std::move(h), id.creator, id.index); }
};

// An object (a call's result or a put value): its owner process and a counter within it.
struct ObjectId {
  uint32_t owner = 0;
  uint32_t index = 0;
  bool valid() const { return owner != 0; }
  uint64_t packed() const { return (uint64_t{owner} << 32) | index; }
  static ObjectId unpack(uint64_t v) { return {static_cast<uint32_t>(v >> 32), static_cast<uint32_t>(v)}; }
  auto operator<=>(const ObjectId&) const = default;
  template <typename H> friend H AbslHashValue(H h, ObjectId id) { return H::combine(std::move(h), id.owner, id.index); }
};

}  // namespace troupe

template <> struct fmt::formatter<troupe::NodeId> : fmt::formatter<std::string_view> {
  auto format(troupe::NodeId id, format_context& ctx) const { return fmt::format_to(ctx.out(), "n{}", id.value); }
};
template <> struct fmt::formatter<troupe::ProcessId> : fmt::formatter<std::string_view> {
  auto format(troupe::ProcessId id, format_context& ctx) const { return fmt::format_to(ctx.out(), "p{}", id.value); }
};
template <> struct fmt::formatter<troupe::FiberId> : fmt::formatter<std::string_view> {
  auto format(troupe::FiberId id, format_context& ctx) const { return fmt::format_to(ctx.out(), "f{}", id.value); }
};
template <> struct fmt::formatter<troupe::ActorId> : fmt::formatter<std::string_view> {
  auto format(troupe::ActorId id, format_context& ctx) const {
    return fmt::format_to(ctx.out(), "a{}.{}", id.creator, id.index);
  }
};
template <> struct fmt::formatter<troupe::ObjectId> : fmt::formatter<std::string_view> {
  auto format(troupe::ObjectId id, format_context& ctx) const {
    return fmt::format_to(ctx.out(), "o{}.{}", id.owner, id.index);
  }
};

#ifndef ABSL_USES_STD_STRING_VIEW
// Debian's Abseil has its own string_view (not an alias of std::string_view): let fmt print it,
// e.g. a Status's message().
template <> struct fmt::formatter<absl::string_view> : fmt::formatter<std::string_view> {
  auto format(absl::string_view text, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(text.data(), text.size()), ctx);
  }
};
#endif
