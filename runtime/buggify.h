// buggify: FoundationDB's BUGGIFY — named points where code may, in some runs, behave worse on
// purpose without being wrong.
//
// `troupe::buggify("site")` asks whether to take the harder path here: reply late, retry early,
// skip a pause, flush a smaller batch. Code written for the worst case must still be correct
// when the answer is true; the simulator then shows whether it is. The answer:
//   * under the simulator: each site is enabled in 1 run in 4, decided once per run from a hash of
//     (seed, site name), so it does not depend on which sites run first; an enabled site fires on
//     1 evaluation in 4, drawn from the site's own stream (forked from the World's buggify
//     stream), so the same seed fires the same evaluations. A fault plan's `buggify` fault forces
//     named sites on from its time to the end of the run (they then fire 1 time in 4). The first
//     evaluation of each site (enabled or not) and every firing are trace events
//     (TraceKind::kBuggifySite, kBuggifyFire), hashed into the run's fingerprint;
//   * on the threads platform: always false, unless ThreadsPlatformOptions::chaos is on (then the
//     same rule, from the options' seed, which the platform logs);
//   * outside any platform (no driver, no actor): false.
//
// Site names are explicit and stable ("counter.increment.pause"), never file:line, so a fault plan
// that names a site stays valid when the code around it moves. A name is 1 to
// kBuggifySiteNameBytesMax bytes (the limit of plan files too); any other name is a bug in the
// caller: buggify() throws std::invalid_argument naming the limit.
//
// Thread-safe (the threads platform serialises its chaos state); deterministic under sim.
//
//   int Store::put(std::string key, std::string value) {
//     if (troupe::buggify("store.put.slow_ack")) troupe::sleep(std::chrono::milliseconds(5));
//     ...
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"

namespace troupe {

// The longest site name, in bytes (equal to faults::kBuggifySiteNameBytesMax of plan files).
inline constexpr size_t kBuggifySiteNameBytesMax = 128;
// A site is enabled in 1 run in kBuggifyEnabledOneIn, and an enabled site fires on 1 evaluation in
// kBuggifyFiresOneIn.
inline constexpr uint64_t kBuggifyEnabledOneIn = 4;
inline constexpr uint64_t kBuggifyFiresOneIn = 4;

// True when the site `site` fires on this evaluation (see the header comment for when).
// Throws std::invalid_argument if `site` is empty or longer than kBuggifySiteNameBytesMax bytes.
// Not a scheduling point.
[[nodiscard]] bool buggify(std::string_view site);

// OK for a valid site name; InvalidArgument saying what is wrong otherwise ("buggify site name
// must be 1 to 128 bytes long (got 0 bytes)").
absl::Status validate_buggify_site(std::string_view site);

}  // namespace troupe
