// The list of built-in scenarios: one register_* call per file (explicit, so a static library
// keeps them all).
#include "scenarios/scenario.h"

namespace troupe::scenarios {

// Declared here rather than in scenario.h: only this list calls them.
void register_resilient_actor(Registry& registry);
void register_stateful_actor(Registry& registry);
void register_concurrent_counters(Registry& registry);
void register_async_actors(Registry& registry);
void register_lock_order(Registry& registry);
void register_gpu(Registry& registry);
void register_connection_pool(Registry& registry);
void register_lru_cache(Registry& registry);
void register_distributed_counter(Registry& registry);
void register_batching_actor(Registry& registry);
void register_coordinator_workers(Registry& registry);
void register_data_store(Registry& registry);
void register_named_actors(Registry& registry);
void register_detached_actors(Registry& registry);

void register_builtin_scenarios(Registry& registry) {
  register_counter(registry);
  register_database(registry);
  register_lifecycle(registry);
  register_resilient_actor(registry);
  register_stateful_actor(registry);
  register_concurrent_counters(registry);
  register_async_actors(registry);
  register_lock_order(registry);
  register_gpu(registry);
  register_connection_pool(registry);
  register_lru_cache(registry);
  register_distributed_counter(registry);
  register_batching_actor(registry);
  register_coordinator_workers(registry);
  register_data_store(registry);
  register_named_actors(registry);
  register_detached_actors(registry);
}

}  // namespace troupe::scenarios
