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

#include "faults/fault_kind.h"
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

  // What the run does to the driver, set by the runner before the driver starts: the fault window
  // in force (the scenario's, or a plan's generator settings) and whether the run injects faults
  // at all. A driver may demand exact values when !faults_planned() and bounds otherwise (an
  // injected crash adds a restart the driver did not cause).
  void set_run_info(Nanos fault_window_ns, bool faults_planned) {
    fault_window_ns_ = fault_window_ns;
    faults_planned_ = faults_planned;
  }
  Nanos fault_window_ns() const { return fault_window_ns_; }
  bool faults_planned() const { return faults_planned_; }

 private:
  void trace(std::string detail);

  Platform* platform_ = nullptr;
  std::optional<CheckFailure> failure_;
  std::set<std::string, std::less<>> declared_;
  std::set<std::string, std::less<>> hit_;
  Nanos fault_window_ns_ = 0;
  bool faults_planned_ = false;
};

struct Scenario {
  std::string name;        // "counter", or "<scenario>.bug_<what>" for a planted bug
  std::string summary;     // one line, for `troupe list`
  bool expect_fail = false;  // a planted bug: the harness is expected to find it
  sim::ClusterShape cluster;
  // Liveness (DESIGN §4): faults land in [0, fault_window_ns) of simulated time; then for
  // quiet_ns nothing goes wrong (the network heals) so the system can recover; and the driver
  // must have finished by deadline_ns, or the run fails with a liveness report ("liveness:
  // counter did not finish by its deadline of 5 s (simulated); still waiting: ..."). Swarm draws
  // its faults inside this window, so a driver should keep working until the window has passed
  // (see keep_working). REQUIRES: 0 < fault_window_ns, 0 <= quiet_ns,
  // fault_window_ns + quiet_ns <= deadline_ns. A plan file's generator settings override them.
  Nanos fault_window_ns = 1 * kSecond;
  Nanos quiet_ns = 500 * kMillisecond;
  Nanos deadline_ns = 5 * kSecond;
  std::function<void(System&, Checks&)> driver;
  // The troupe::buggify() sites its code evaluates: swarm's buggify faults force some of them on
  // (faults/swarm.h). Each 1 to faults::kBuggifySiteNameBytesMax bytes, no repeats.
  std::vector<std::string> buggify_sites = {};
  // The fault kinds the scenario is built to survive: swarm (`--faults swarm` or a list of kinds)
  // draws only from these. The seed's plain actors (no restarts, no retries: counter, database)
  // survive delays but not crashes or lost calls, so they take kDelayFaults; a plan file
  // (`--plan`) applies whatever it says, to any scenario.
  std::set<faults::FaultKind> tolerates = {faults::kAllFaultKinds.begin(), faults::kAllFaultKinds.end()};
};

// Faults that only delay work (held messages, latency spikes, storage errors, buggify pauses):
// what a scenario of actors without restarts or retries must survive.
inline const std::set<faults::FaultKind> kDelayFaults = {faults::FaultKind::kClog, faults::FaultKind::kLatency,
                                                         faults::FaultKind::kStorage, faults::FaultKind::kBuggify};

// Whether a driver whose rounds of work should cover the run's fault window starts another
// round: on the simulator, while simulated time is before checks.fault_window_ns(); on a real
// platform without faults (a parity check) only the first round, and with real faults planned
// (the cluster's chaos kills) while real time is before the window. `rounds_done` counts the rounds
// finished so far; the first round always runs.
//
//   for (int round = 0; keep_working(sys, checks, round); ++round) { ...; troupe::sleep(...); }
bool keep_working(System& sys, const Checks& checks, int rounds_done);

// first, first + 1, ..., last: the values a run of increments should hand out.
std::vector<int> range_inclusive(int first, int last);

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
