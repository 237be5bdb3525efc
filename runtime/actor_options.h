// Options for spawning actors, calling them and killing them (Ray's @ray.remote options).
//
//   auto counter = sys.spawn<Counter>({.num_cpus = 2, .name = "counter", .ns = "prod"}, 0);
//   counter.with({.max_task_retries = 5}).call(&Counter::increment);
//   sys.kill(counter, {.no_restart = true});
//
// Per-call options override the actor's (Ray's precedence). Fields marked (later) are accepted
// and validated now and take effect with the GPU work.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/scheduling.h"

namespace troupe {

enum class Lifetime { kOwned, kDetached };

// Which exceptions make a call that threw be retried (Ray's retry_exceptions: a bool, or a list of
// exception types). A type is named as TaskError::type_name() reports it ("std::runtime_error")
// and matched exactly: unlike Python's isinstance, a subclass does not match its base.
//
//   .retry_exceptions = true                                       // every exception
//   .retry_exceptions = {"std::runtime_error", "app::Timeout"}     // only these
struct RetryExceptions {
  RetryExceptions(bool all = false) : all(all) {}  // NOLINT: implicit, so `= true` reads like Ray
  RetryExceptions(std::initializer_list<std::string> types) : types(types) {}
  RetryExceptions(std::vector<std::string> types) : types(std::move(types)) {}  // NOLINT: implicit

  bool all = false;
  std::vector<std::string> types;

  bool covers(std::string_view type) const {
    if (all) return true;
    for (const std::string& t : types) {
      if (t == type) return true;
    }
    return false;
  }
  bool operator==(const RetryExceptions&) const = default;
};
// How an actor runs its calls (docs/semantics.md, "Concurrency"):
//   kSequential  one call at a time, each caller's calls in the order it made them (the default);
//   kThreaded    up to max_concurrency calls at once, on that many platform threads on the real
//                platform; under the simulator they interleave at every runtime call;
//   kAsync       up to max_concurrency calls (1000 by default) interleaved on one thread, switching
//                only where a call blocks (get, wait, sleep, a lock, an event, yield): Ray's
//                asyncio actors, without coroutine colouring.
enum class Concurrency { kSequential, kThreaded, kAsync };

// The default max_concurrency of an async actor (Ray's).
inline constexpr int kDefaultAsyncMaxConcurrency = 1000;

// A concurrency group (Ray's concurrency_groups): the methods named here run in their own pool,
// at most `max_concurrency` at once, whatever the actor's other methods are doing. Methods in no
// group share the default group, limited by ActorOptions::max_concurrency. A call may name its
// group (CallOptions::concurrency_group). Threaded and async actors only.
//
//   .concurrency = troupe::Concurrency::kThreaded,
//   .concurrency_groups = {{.name = "io", .max_concurrency = 2, .methods = {"fetch", "store"}},
//                          {.name = "compute", .max_concurrency = 4, .methods = {"train"}}},
struct ConcurrencyGroup {
  std::string name;
  int max_concurrency = 1;
  std::vector<std::string> methods;  // as listed in TROUPE_ACTOR ("fetch", not "&Store::fetch")
  bool operator==(const ConcurrencyGroup&) const = default;
};

// The environment of an actor's worker process (Ray's runtime_env, without package installs).
// On the cluster platform the node starts the worker with these environment variables and in
// this working directory. Everywhere, the actor reads them with this_actor::env(name) and
// this_actor::working_dir(), so code that reads its configuration behaves the same in the
// simulator. CUDA_VISIBLE_DEVICES is not set here: the runtime sets it from the actor's GPUs
// (this_actor::env("CUDA_VISIBLE_DEVICES") is "0,1", or "" without GPUs, as Ray sets it).
//
//   .runtime_env = {.env_vars = {{"MODEL_PATH", "/models/my_model"}}, .working_dir = "/srv/model"}
struct RuntimeEnv {
  std::map<std::string, std::string> env_vars;
  std::string working_dir;  // "" = the node's default
  bool operator==(const RuntimeEnv&) const = default;
};

// Limits of RuntimeEnv, checked at spawn.
inline constexpr size_t kRuntimeEnvVarsMax = 256;
inline constexpr size_t kRuntimeEnvBytesMax = 64 << 10;  // names, values and working_dir together

struct ActorOptions {
  double num_cpus = 1;                       // needed on a node to place the actor
  // GPUs: a share of one device (0.0001 precision, e.g. 0.5: two such actors share a device, and
  // one device fills before the next is used) or whole devices (1, 2, ...; 1.5 is invalid).
  // this_actor::gpu_ids() names the devices. (The GPU device model comes later.)
  double num_gpus = 0;
  int64_t memory_bytes = 0;                  // needed on a node; 0 = no requirement
  std::map<std::string, double> resources;   // custom resources (need matching nodes)
  // Where to place the actor (runtime/scheduling.h): DefaultScheduling (most free CPUs), Spread,
  // NodeAffinity{.node, .soft}, or PlacementGroup{.pg, .bundle}.
  SchedulingStrategy scheduling;
  Concurrency concurrency = Concurrency::kSequential;
  // Calls of the default group that may run at once. 0 = the mode's default: 1, or
  // kDefaultAsyncMaxConcurrency for kAsync. A sequential actor allows only 1.
  int max_concurrency = 0;
  std::vector<ConcurrencyGroup> concurrency_groups;  // threaded and async actors only
  int max_restarts = 0;                      // 0 = never, -1 = forever
  int max_task_retries = 0;                  // 0 = at-most-once, -1 = forever
  RetryExceptions retry_exceptions;          // also retry calls whose method threw (all, or these types)
  // Wait this long before the first restart, twice as long before each later one, at most
  // restart_backoff_max (Erlang/Akka-style backoff). Zero: restart at once.
  std::chrono::nanoseconds restart_backoff{0};
  std::chrono::nanoseconds restart_backoff_max{std::chrono::seconds(30)};
  int max_pending_calls = -1;                // calls outstanding from one caller; -1 = unlimited
  std::string name;                          // unique within `ns`; empty = anonymous
  std::string ns;                            // namespace; empty = "default"
  Lifetime lifetime = Lifetime::kOwned;
  bool get_if_exists = false;                // with a name: return the existing actor if any
  RuntimeEnv runtime_env;                    // its worker's environment variables and working directory
};

struct CallOptions {
  std::optional<int> max_task_retries;       // overrides the actor's
  std::optional<RetryExceptions> retry_exceptions;  // overrides the actor's
  // Runs the call in this concurrency group instead of its method's ("" = the default group).
  // A group the actor does not have fails the call with TaskError (troupe::Error).
  std::optional<std::string> concurrency_group;
};

struct KillOptions {
  bool no_restart = true;                    // false: a crash, restarted if max_restarts allows
};

// The namespace used when ActorOptions::ns is empty.
inline constexpr const char* kDefaultNamespace = "default";

}  // namespace troupe
