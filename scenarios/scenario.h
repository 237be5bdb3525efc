// The Scenario API: a named driver over a simulated cluster, the checks it makes, and the
// registry the `troupe` CLI sweeps.
//
// A scenario is a driver (plain actor code, DESIGN §2) plus a cluster shape. The driver reports
// what it observes through Checks:
//   * always(name, cond, detail) is a safety property: the first one that fails is the run's
//     failure (its name and detail become the message), and the run fails;
//   * sometimes(name, cond) is a coverage probe: a sweep reports the names that never held, i.e.
//     the seeds did not reach the interesting state.
// Both also go to the run's trace (TraceKind::kCheck) the first time they fail or hold, so a
// replayed trace shows where the run went wrong.
//
// Registration is explicit (no static initialisers: a static library drops objects nobody
// references). scenarios/builtin.cc lists the built-in scenarios; a test registers its own into
// a local Registry.
//
//   void register_counter(Registry& registry) {
//     registry.add({.name = "counter", .summary = "...", .driver = [](System& sys, Checks& checks) {
//       auto counter = sys.spawn<Counter>({}, 0);
//       checks.always("first increment", sys.get(counter.call(&Counter::increment)) == 1);
//     }});
//   }
//
// Not thread-safe: a Checks belongs to one run. On the threads platform, call it from the driver
// only (actors report their observations to the driver as return values).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/system.h"
#include "sim/sim_run.h"

namespace troupe::scenarios {

// The first `always` that failed in a run.
struct CheckFailure {
  std::string name;
  std::string detail;
  // "always 'name' failed: detail" (without ": detail" when the detail is empty).
  std::string message() const;
};

class Checks {
 public:
  Checks() = default;
  // Checks record into `platform`'s trace when given one (the runner passes the run's).
  explicit Checks(Platform* platform) : platform_(platform) {}

  // Safety: records the first failure (later ones are ignored, as their cause is usually the
  // first). Returns `condition`, so a driver may stop early: `if (!checks.always(...)) return;`.
  bool always(std::string_view name, bool condition, std::string_view detail = "");

  // Coverage: declares `name` and records that it held if `condition`. Returns `condition`.
  bool sometimes(std::string_view name, bool condition);

  bool failed() const { return failure_.has_value(); }
  const std::optional<CheckFailure>& failure() const { return failure_; }
  // Every name passed to sometimes(), and those that held at least once; both sorted.
  const std::set<std::string, std::less<>>& sometimes_declared() const { return declared_; }
  const std::set<std::string, std::less<>>& sometimes_hit() const { return hit_; }

 private:
  void trace(std::string detail);

  Platform* platform_ = nullptr;
  std::optional<CheckFailure> failure_;
  std::set<std::string, std::less<>> declared_;
  std::set<std::string, std::less<>> hit_;
};

struct Scenario {
  std::string name;        // "counter", or "<scenario>.bug_<what>" for a planted bug
  std::string summary;     // one line, for `troupe list`
  bool expect_fail = false;  // a planted bug: the harness is expected to find it
  sim::ClusterShape cluster;
  std::function<void(System&, Checks&)> driver;
  // The troupe::buggify() sites its code evaluates: swarm's buggify faults force some of them on
  // (faults/swarm.h). Each 1 to faults::kBuggifySiteNameBytesMax bytes, no repeats.
  std::vector<std::string> buggify_sites = {};
};

// The scenarios a CLI or test can run, by name. Listing order is by name.
class Registry {
 public:
  // Adds `scenario`. A duplicate or empty name, or a missing driver, is a bug: aborts naming it.
  void add(Scenario scenario);

  const Scenario* find(std::string_view name) const;
  // Every scenario, sorted by name.
  std::vector<const Scenario*> all() const;
  size_t size() const { return scenarios_.size(); }

 private:
  std::map<std::string, Scenario, std::less<>> scenarios_;
};

// The built-in scenarios (scenarios/builtin.cc), each defined in its own file.
void register_builtin_scenarios(Registry& registry);
void register_counter(Registry& registry);
void register_database(Registry& registry);
void register_lifecycle(Registry& registry);

}  // namespace troupe::scenarios
