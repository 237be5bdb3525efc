#include "runtime/buggify_sites.h"

#include <cassert>
#include <utility>

#include "fmt/format.h"
#include "runtime/buggify.h"

namespace troupe {

BuggifySites::BuggifySites(uint64_t seed, absl::AnyInvocable<void(TraceEvent)> record)
    : root_(Rng(seed).fork(kStreamBuggify)), record_(std::move(record)) {}

uint64_t BuggifySites::site_key(std::string_view site) {
  uint64_t hash = 0xcbf29ce484222325;  // FNV-1a 64: offset basis, then xor and multiply per byte
  for (char c : site) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3;
  }
  return hash;
}

bool BuggifySites::enabled_by_seed(uint64_t seed, std::string_view site) {
  Rng rng = Rng(seed).fork(kStreamBuggify).fork(site_key(site));
  return rng.one_in(kBuggifyEnabledOneIn);
}

BuggifySites::Site& BuggifySites::site(std::string_view name) {
  assert(validate_buggify_site(name).ok());
  auto it = sites_.find(name);
  if (it != sites_.end()) return it->second;
  Site created{.state = {.name = std::string(name)}, .rng = root_.fork(site_key(name))};
  // The activation draw is always the stream's first, whether or not the site is later forced.
  created.state.enabled = created.rng.one_in(kBuggifyEnabledOneIn);
  return sites_.emplace(std::string(name), std::move(created)).first->second;
}

bool BuggifySites::evaluate(std::string_view name) {
  Site& entry = site(name);
  BuggifySiteState& state = entry.state;
  state.evaluations += 1;
  if (!entry.seen) {
    entry.seen = true;
    record(TraceKind::kBuggifySite, fmt::format("{} {}{}", state.name, state.enabled ? "enabled" : "disabled",
                                                state.forced ? " (forced)" : ""));
  }
  if (!state.enabled) return false;
  if (!entry.rng.one_in(kBuggifyFiresOneIn)) return false;
  state.fired += 1;
  record(TraceKind::kBuggifyFire, fmt::format("{} fired on evaluation {}", state.name, state.evaluations));
  assert(state.fired <= state.evaluations);
  return true;
}

void BuggifySites::force_enable(const std::vector<std::string>& names) {
  std::string list;
  for (const std::string& name : names) list += fmt::format("{}{}", list.empty() ? "" : ", ", name);
  record(TraceKind::kFault, fmt::format("buggify force {}", list));
  for (const std::string& name : names) {
    BuggifySiteState& state = site(name).state;
    state.forced = true;
    state.enabled = true;
  }
}

const BuggifySiteState* BuggifySites::find(std::string_view name) const {
  auto it = sites_.find(name);
  return it == sites_.end() ? nullptr : &it->second.state;
}

std::vector<BuggifySiteState> BuggifySites::sites() const {
  std::vector<BuggifySiteState> result;
  result.reserve(sites_.size());
  for (const auto& [name, entry] : sites_) result.push_back(entry.state);
  return result;
}

void BuggifySites::record(TraceKind kind, std::string detail) {
  if (record_) record_({.kind = kind, .detail = std::move(detail)});
}

}  // namespace troupe
