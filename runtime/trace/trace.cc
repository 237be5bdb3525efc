#include "runtime/trace/trace.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "runtime/trace/json.h"

namespace troupe {

std::string_view trace_kind_name(TraceKind kind) {
  switch (kind) {
    case TraceKind::kProcessStart: return "process_start";
    case TraceKind::kProcessExit: return "process_exit";
    case TraceKind::kFiberSpawn: return "fiber_spawn";
    case TraceKind::kFiberRun: return "fiber_run";
    case TraceKind::kFiberPark: return "fiber_park";
    case TraceKind::kFiberExit: return "fiber_exit";
    case TraceKind::kTimer: return "timer";
    case TraceKind::kSend: return "send";
    case TraceKind::kDeliver: return "deliver";
    case TraceKind::kDrop: return "drop";
    case TraceKind::kActorCreate: return "actor_create";
    case TraceKind::kActorAlive: return "actor_alive";
    case TraceKind::kActorDead: return "actor_dead";
    case TraceKind::kCallStart: return "call_start";
    case TraceKind::kCallEnd: return "call_end";
    case TraceKind::kDecision: return "decision";
    case TraceKind::kCheck: return "check";
    case TraceKind::kUser: return "user";
    case TraceKind::kFault: return "fault";
    case TraceKind::kConnectionLost: return "connection_lost";
    case TraceKind::kStorage: return "storage";
    case TraceKind::kStorageFailure: return "storage_failure";
    case TraceKind::kBuggifySite: return "buggify_site";
    case TraceKind::kBuggifyFire: return "buggify_fire";
    case TraceKind::kGpu: return "gpu";
  }
  assert(false && "TraceKind out of range");
  return "unknown";
}

namespace {

// One word into the hash: xor, multiply by an odd constant (the golden ratio), fold the high
// bits down so the next multiply spreads them.
uint64_t fold_word(uint64_t hash, uint64_t word) {
  hash = (hash ^ word) * 0x9e3779b97f4a7c15;
  return hash ^ (hash >> 29);
}

// MurmurHash3's 64-bit finaliser (fmix64).
uint64_t fmix64(uint64_t hash) {
  hash ^= hash >> 33;
  hash *= 0xff51afd7ed558ccd;
  hash ^= hash >> 33;
  hash *= 0xc4ceb9fe1a85ec53;
  hash ^= hash >> 33;
  return hash;
}

}  // namespace

uint64_t hash_trace_event(uint64_t hash, const TraceEvent& event) {
  hash = fold_word(hash, static_cast<uint64_t>(event.time));
  hash = fold_word(hash, static_cast<uint64_t>(event.kind) | (uint64_t{event.node.value} << 8));
  hash = fold_word(hash, event.process.value | (uint64_t{event.peer.value} << 32));
  hash = fold_word(hash, event.actor.creator | (uint64_t{event.actor.index} << 32));
  hash = fold_word(hash, event.call);
  hash = fold_word(hash, event.bytes);
  hash = fold_word(hash, event.detail.size());
  // The detail, 8 bytes a word, little-endian by shifting (so the host's byte order is irrelevant),
  // the last word padded with zeros.
  const std::string& detail = event.detail;
  for (size_t at = 0; at < detail.size(); at += 8) {
    uint64_t word = 0;
    size_t n = std::min<size_t>(8, detail.size() - at);
    for (size_t i = 0; i < n; ++i) word |= uint64_t{static_cast<unsigned char>(detail[at + i])} << (8 * i);
    hash = fold_word(hash, word);
  }
  return fmix64(hash);
}

std::string format_trace_event(const TraceEvent& event) {
  std::string millis;
  append_decimal(millis, event.time, 6);
  std::string line = fmt::format("{:>12}ms #{} {} {} {}", millis, event.number, event.node, event.process,
                                 trace_kind_name(event.kind));
  if (event.peer.valid()) {
    const char* arrow = event.kind == TraceKind::kSend ? "->" : event.kind == TraceKind::kDeliver ? "<-" : "peer";
    fmt::format_to(std::back_inserter(line), " {} {}", arrow, event.peer);
  }
  if (event.actor.valid()) fmt::format_to(std::back_inserter(line), " {}", event.actor);
  if (event.call != 0) fmt::format_to(std::back_inserter(line), " {}", ObjectId::unpack(event.call));
  if (event.bytes != 0) fmt::format_to(std::back_inserter(line), " {}B", event.bytes);
  if (!event.detail.empty()) {
    line.push_back(' ');
    line.append(event.detail);
  }
  return line;
}

absl::StatusOr<TraceFormat> parse_trace_format(std::string_view name) {
  if (name == "text") return TraceFormat::kText;
  if (name == "jsonl") return TraceFormat::kJsonl;
  if (name == "chrome") return TraceFormat::kChrome;
  return absl::InvalidArgumentError(fmt::format("unknown trace format '{}' (expected text, jsonl or chrome)", name));
}

std::string_view trace_format_name(TraceFormat format) {
  switch (format) {
    case TraceFormat::kText: return "text";
    case TraceFormat::kJsonl: return "jsonl";
    case TraceFormat::kChrome: return "chrome";
  }
  return "?";
}

Trace::Trace() : hash_(kEmptyTraceHash) {}

Trace::~Trace() = default;

void Trace::record(TraceEvent event) {
  assert(!finished_ && "Trace::record after finish()");
  event.number = count_;
  count_ += 1;
  hash_ = hash_trace_event(hash_, event);
  for (const std::unique_ptr<TraceSink>& sink : sinks_) sink->write(event);
  if (retain_) retained_.push_back(std::move(event));
  assert(!retain_ || retained_.back().number + 1 == count_);
}

void Trace::add_sink(std::unique_ptr<TraceSink> sink) {
  assert(sink != nullptr);
  assert(!finished_);
  sinks_.push_back(std::move(sink));
}

void Trace::finish() {
  if (finished_) return;
  finished_ = true;
  for (const std::unique_ptr<TraceSink>& sink : sinks_) sink->finish();
}

}  // namespace troupe
