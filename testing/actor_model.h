// Model-based testing of an actor with RapidCheck's rc::state, through the simulator, with
// faults on.
//
// Write the model as a plain value type, and each call as an rc::state command whose run()
// calls the actor and checks the reply against the model (the state before the command) with
// RC_ASSERT. check_actor_model then, inside a RapidCheck property:
//   1. picks a seed (kept while shrinking, so the schedule stays put), a fault plan
//      (testing/generators.h) and a command sequence;
//   2. runs a fresh simulated cluster with that seed and plan: the driver spawns the actor and runs
//      the commands one by one, comparing with the model at every step;
//   3. fails the property with RapidCheck's message (or the run's own failure: an exception, a
//      deadlock, a liveness timeout) after the simulation has ended.
// When the property fails, RapidCheck shrinks the commands and the plan together, so the minimal
// case it prints has both the fewest calls and the fewest (and gentlest) faults.
//
//   struct LruModel { ... };
//   using CacheCommand = troupe::testing::ActorCommand<LruModel, Cache>;
//   struct Get : CacheCommand {
//     std::string key = *rc::gen::elementOf(kKeys);
//     void apply(LruModel& model) const override { model.get(key); }
//     void run(const LruModel& model, troupe::testing::ActorSut<Cache>& sut) const override {
//       LruModel after = model;
//       RC_ASSERT(sut.get(&Cache::get, key) == after.get(key));
//     }
//     void show(std::ostream& os) const override { os << "get(" << key << ")"; }
//   };
//   ...
//   TROUPE_PROPERTY(LruCache, MatchesModel) {
//     troupe::testing::check_actor_model<LruModel, Cache>(
//         {.faults = {.kinds = troupe::testing::kDelayFaults}}, LruModel(2),
//         [](troupe::System& sys) { return sys.spawn<Cache>({}, 2); },
//         rc::state::gen::execOneOfWithArgs<Get, Set, Size>());
//   }
//
// last_failing_model_case() describes the last case that failed on this thread: after RapidCheck
// has shrunk, the minimal one (RapidCheck keeps a smaller case only if it fails).
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <sstream>
#include <string>
#include <utility>

#include "faults/plan.h"
#include "rapidcheck.h"
#include "rapidcheck/state.h"
#include "runtime/actor_handle.h"
#include "runtime/system.h"
#include "sim/sim_run.h"
#include "testing/generators.h"

namespace troupe::testing {

// The system under test of a command: the run's System and the actor's handle.
template <typename Actor>
class ActorSut {
 public:
  ActorSut(System& sys, ActorHandle<Actor> actor) : sys_(sys), actor_(std::move(actor)) {}

  System& system() { return sys_; }
  ActorHandle<Actor>& actor() { return actor_; }

  // Calls `method` on the actor and waits for the reply: sys.get(actor.call(method, args...)).
  // A failed call throws its typed error (runtime/errors.h), which fails the case.
  template <typename Method, typename... Args>
  decltype(auto) get(Method method, Args&&... args) {
    return sys_.get(actor_.call(method, std::forward<Args>(args)...));
  }

 private:
  System& sys_;
  ActorHandle<Actor> actor_;
};

template <typename Model, typename Actor>
using ActorCommand = rc::state::Command<Model, ActorSut<Actor>>;

struct ModelTestOptions {
  sim::ClusterShape cluster = {};
  // The faults to generate. node_count is taken from `cluster`; empty kinds: no faults.
  FaultPlanGenOptions faults = {};
  sim::StrategyKind strategy = sim::StrategyKind::kRandom;
  // After the fault window, quiet_ns without faults; the commands must all have run by
  // deadline_ns of simulated time, else the case fails with a liveness report.
  Nanos quiet_ns = 500 * kMillisecond;
  Nanos deadline_ns = 30 * kSecond;
  // Call k (from 0) starts at k * call_spacing_ns of simulated time after the first, or when
  // call k-1 has returned if that is later (0: back to back). Pacing ties simulated time to call
  // positions, so a fault between two calls stays between them while RapidCheck removes calls
  // around it, and shrinking can reach the fewest calls and faults together.
  Nanos call_spacing_ns = 1 * kMillisecond;
  std::string name = "actor model test";  // names the run in liveness and deadlock messages
};

// What the last failing case of check_actor_model on this thread was.
struct ModelCase {
  uint64_t seed = 0;
  size_t commands = 0;         // the calls the case made (its whole command sequence)
  faults::FaultPlan plan;      // the faults it planned
  size_t realized_faults = 0;  // of those, the ones that fired before the run ended
  std::string failure;         // what failed: RapidCheck's message or the run's
};
const std::optional<ModelCase>& last_failing_model_case();

// Counts over every case check_actor_model ran on this thread since they were last reset (a test
// can check that the faults really fired).
struct ModelCaseStats {
  std::optional<ModelCase> first_failing;  // the first case that failed: RapidCheck's find, unshrunk
  uint64_t failing_cases = 0;              // the first one and every smaller case that still failed
  uint64_t cases = 0;
  uint64_t cases_with_faults = 0;  // cases in which at least one planned fault fired
  uint64_t faults_realized = 0;
  uint64_t commands = 0;
  Nanos sim_time_ns = 0;  // simulated time of all cases: sim_time_ns / cases is a case's length,
                          // which the fault window should cover
};
ModelCaseStats& model_case_stats();

namespace detail {

// Runs `commands` (a command count, for the record) under the simulator with `seed` and `plan`;
// rethrows what the driver threw (RapidCheck's failures among them) once the run is over, or
// fails the case with the run's own failure.
Nanos now_ns();                 // troupe::now() in nanoseconds
void sleep_until(Nanos time);   // troupe::sleep until simulated time `time` (no-op if past)

// Rethrows `error` (thrown by call `index` of `count`, shown as `call`) as a RapidCheck failure
// whose message starts "call 3 of 5, get(b): ": an RC_ASSERT's message, or the exception's type
// and what(). Boost.Context's forced unwind and RapidCheck's discards pass through unchanged.
[[noreturn]] void rethrow_naming_call(std::exception_ptr error, size_t index, size_t count, const std::string& call);

void run_model_case(const ModelTestOptions& options, uint64_t seed, const faults::FaultPlan& plan, size_t commands,
                    std::function<void(System&)> driver);

}  // namespace detail

// Inside a RapidCheck property (TROUPE_PROPERTY, RC_GTEST_PROP, rc::check): generates a seed, a
// fault plan and a sequence of commands from `gen_command` (what rc::state::gen::commands takes: a
// function of the model returning a generator of commands, such as
// rc::state::gen::execOneOfWithArgs<Get, Set>()), spawns the actor with `spawn`
// (System& -> ActorHandle<Actor>) in a fresh simulated cluster, and runs the commands against it
// and the model. See the top of this file.
template <typename Model, typename Actor, typename Spawn, typename GenCommand>
void check_actor_model(const ModelTestOptions& options, const Model& initial, Spawn spawn, GenCommand gen_command) {
  const uint64_t seed = *rc::gen::noShrink(rc::gen::inRange<uint64_t>(1, uint64_t{1} << 53)).as("simulator seed");
  FaultPlanGenOptions fault_options = options.faults;
  fault_options.node_count = static_cast<uint32_t>(options.cluster.nodes.size());
  const faults::FaultPlan plan = *gen_fault_plan(fault_options).as("fault plan");
  const auto commands = *rc::state::gen::commands(initial, gen_command).as("calls");
  detail::run_model_case(options, seed, plan, commands.size(), [&](System& sys) {
    ActorSut<Actor> sut(sys, spawn(sys));
    // rc::state::runAll, paced, and naming the call that failed.
    Model state = initial;
    const Nanos start = detail::now_ns();
    for (size_t i = 0; i < commands.size(); ++i) {
      detail::sleep_until(start + static_cast<Nanos>(i) * options.call_spacing_ns);
      commands[i]->checkPreconditions(state);
      try {
        commands[i]->run(state, sut);
      } catch (...) {
        std::ostringstream call;
        commands[i]->show(call);
        detail::rethrow_naming_call(std::current_exception(), i, commands.size(), call.str());
      }
      commands[i]->apply(state);
    }
  });
}

}  // namespace troupe::testing
