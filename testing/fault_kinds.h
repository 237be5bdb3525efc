// The fault kinds a test asks for: TROUPE_SIM_TEST's SimTestOptions::faults and the plan
// generator's FaultPlanGenOptions::kinds (testing/sim_test.h, testing/generators.h).
#pragma once

#include <set>

#include "faults/fault_kind.h"
#include "faults/injector.h"
#include "scenarios/scenario.h"

namespace troupe::testing {

// Faults that only delay work (held messages, latency spikes, storage errors, buggify pauses):
// what actors without restarts or retries must survive.
inline const std::set<faults::FaultKind> kDelayFaults = scenarios::kDelayFaults;

// Every kind the simulator injects, crashes and partitions included (for actors with restarts and
// retries, or tests that expect their typed errors).
inline const std::set<faults::FaultKind>& all_faults() {
  static const std::set<faults::FaultKind> kinds = faults::supported_kinds();
  return kinds;
}

}  // namespace troupe::testing
