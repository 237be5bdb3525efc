// The list of built-in scenarios: one register_* call per file (explicit, so a static library
// keeps them all).
#include "scenarios/scenario.h"

namespace troupe::scenarios {

void register_builtin_scenarios(Registry& registry) {
  register_counter(registry);
  register_database(registry);
  register_lifecycle(registry);
}

}  // namespace troupe::scenarios
