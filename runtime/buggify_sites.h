// BuggifySites: the state of one run's buggify() sites — which are enabled, how often each was
// evaluated and fired — and the rule that decides both (runtime/buggify.h).
//
// A platform owns one and answers Platform::buggify(site) with evaluate(site): the simulator's
// World always, the threads platform when chaos is on. Everything is a function of the seed and
// the site's name, never of the order in which sites are first reached:
//   * activation: site s is enabled in the run with seed S when the first output of
//     site_rng(S, s) = Rng(S).fork(kStreamBuggify).fork(site_key(s)) is 0 mod kBuggifyEnabledOneIn
//     (Rng::one_in), where site_key is the 64-bit FNV-1a hash of the name's bytes;
//   * firing: evaluation k (from 1) of an enabled site fires when the (k+1)-th draw of the same
//     stream is 0 mod kBuggifyFiresOneIn. Disabled sites draw nothing after the first.
// So "seed 1: site x is enabled and fires on evaluations 3 and 7" stays true whatever other sites
// do, and forcing a site on (force_enable, a plan's buggify fault) leaves its firing pattern the one
// it would have had if the seed had enabled it.
//
// Trace: the first evaluation of a site records TraceKind::kBuggifySite ("x enabled", "x disabled",
// "x enabled (forced)"); each firing records kBuggifyFire ("x fired on evaluation 3"); force_enable
// records one kFault ("buggify force x, y"). Events go to the `record` callback, which fills in
// time and place (the World's trace()).
//
// Not thread-safe: the simulator is single-threaded; the threads platform locks around it.
//
//   BuggifySites sites(seed, [&](TraceEvent e) { trace.record(std::move(e)); });
//   if (sites.evaluate("store.put.slow_ack")) ...
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "runtime/buggify.h"
#include "runtime/core/random.h"
#include "runtime/trace/trace_event.h"

namespace troupe {

// What a run knows about one site.
struct BuggifySiteState {
  std::string name;
  bool enabled = false;      // by the seed, or forced
  bool forced = false;       // by force_enable
  uint64_t evaluations = 0;  // calls of evaluate() so far
  uint64_t fired = 0;        // of which returned true
  bool operator==(const BuggifySiteState&) const = default;
};

class BuggifySites {
 public:
  // `seed` is the run's seed; `record` receives the trace events (may be empty: no trace).
  BuggifySites(uint64_t seed, absl::AnyInvocable<void(TraceEvent)> record);

  // Whether the seed alone enables `site` in a run with `seed` (the activation rule above).
  static bool enabled_by_seed(uint64_t seed, std::string_view site);
  // The 64-bit FNV-1a hash of `site`'s bytes: the site's stream number.
  static uint64_t site_key(std::string_view site);

  // One evaluation of `site`: true if it fires. REQUIRES: validate_buggify_site(site).ok().
  bool evaluate(std::string_view site);

  // Enables `sites` from now to the end of the run. Sites already enabled stay as they are (their
  // draws are unchanged). REQUIRES: every name valid.
  void force_enable(const std::vector<std::string>& sites);

  // The state of `site`, or nullptr if it was never evaluated nor forced.
  const BuggifySiteState* find(std::string_view site) const;
  // Every site evaluated or forced so far, by name.
  std::vector<BuggifySiteState> sites() const;

 private:
  struct Site {
    BuggifySiteState state;
    Rng rng;
    bool seen = false;  // evaluated at least once (its first-evaluation event was recorded)
  };
  Site& site(std::string_view name);
  void record(TraceKind kind, std::string detail);

  Rng root_;
  absl::AnyInvocable<void(TraceEvent)> record_;
  std::map<std::string, Site, std::less<>> sites_;  // ordered: sites() lists them by name
};

}  // namespace troupe
