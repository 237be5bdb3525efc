// resilient_actor: the seed's ResilientActor (Ray actors guide, "容错与恢复": max_restarts = 3,
// max_task_retries = 3, work() returns "Call #N", crash() ends the process like os._exit(1)).
//
// The ground truth of the checks lives in the driver, outside the fault domain (the driver's
// process is never a crash target, faults/injector.h): the actor's own crashes are not drawn at
// random inside it but decided by the driver. work_or_crash(crash_below) crashes exactly while the
// actor's incarnation is below `crash_below` (restart_count() < crash_below) and otherwise
// answers "Call #N" with the incarnation it ran on. So the driver knows how many restarts its own
// calls cause; an injected fault (a crash, a node crash) can only add restarts, and the checks
// hold either way:
//   * the seed's run: "Call #1", kill(no_restart = false), then work(): the kill is asynchronous,
//     so that call returns "Call #2" (the old incarnation) or "Call #1" (the new one); once the
//     restart is done restart_count() is 1 (at least 1 under injected faults) and the count has
//     started over (state is not restored);
//   * sequential calls: a call never succeeds on an incarnation it must crash on; "Call #N"
//     counts the successes on the incarnation it ran on (N = 1 after a restart); incarnations
//     only go up and never past max_restarts; a call fails only with ActorDiedError whose cause
//     says the restarts are used up, and then every later call does too. Without injected
//     faults the values are exact: the incarnation is the number of restarts the calls caused,
//     and a call fails exactly when they exceed max_restarts;
//   * pipelined calls (all in flight at once): the same, with the retried calls run again in
//     submission order: along the submission order incarnations never go down, and on each
//     incarnation Call #N counts 1, 2, 3, ...
// The driver repeats these rounds, each with fresh actors and short pauses between calls, until
// the scenario's fault window has passed, so that swarm's faults land while it works. In the
// quiet phase that follows (no faults, the network healed) a fresh actor must answer at once.
// ActorUnavailableError is never right without injected faults; with them it is tolerated only
// as the runtime's "no retries left" (a network fault may cost a call its retries), and the next
// Call #N may then have skipped a value (the lost call may have run).
//
// resilient_actor.bug_double_effect: transfer() adds 1 to a balance held by a Bank actor and may
// then crash; under max_task_retries the retry adds it again, so the balance exceeds the number
// of acknowledged transfers. (The Bank restarts and retries forever, so an injected crash of it
// can only lose balance, never add to it: the check cannot blame the harness.)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fmt/format.h"
#include "runtime/troupe.h"
#include "scenarios/scenario.h"

namespace troupe::scenarios {
namespace {

constexpr int kMaxRestarts = 3;
constexpr int kMaxTaskRetries = 3;
constexpr int kSequentialCalls = 16;
constexpr int kPipelinedCalls = 12;
constexpr int kTransfers = 10;
// Pause between sequential calls and between rounds: rounds of about 100-200 ms, several of them
// over the fault window.
constexpr int kPauseMaxMs = 25;
constexpr Nanos kFaultWindow = 1 * kSecond;
constexpr Nanos kQuiet = 500 * kMillisecond;
constexpr Nanos kDeadline = 5 * kSecond;
// Buggify sites: a slow work() (a wider window for a fault to land mid-call) and a driver that
// skips its pauses (calls in bursts). The checks hold either way.
constexpr std::string_view kSlowWorkSite = "resilient_actor.work.slow";
constexpr std::string_view kNoPauseSite = "resilient_actor.driver.no_pause";

// What work_or_crash answers: the seed's "Call #N" and the incarnation that computed it.
struct Reply {
  std::string value;
  int restart = 0;
  MSGPACK_DEFINE(value, restart);
};

class ResilientActor {
 public:
  std::string work() {
    if (buggify(kSlowWorkSite)) troupe::sleep(std::chrono::milliseconds(5));
    ++call_count_;
    return fmt::format("Call #{}", call_count_);
  }
  // The seed's crash(): the process ends at once.
  std::string crash() {
    this_actor::crash();
    return "";  // never reached
  }
  // Crashes if this incarnation is below `crash_below`, else works.
  Reply work_or_crash(int crash_below) {
    const int restart = this_actor::restart_count();
    if (restart < crash_below) this_actor::crash();
    return Reply{.value = work(), .restart = restart};
  }
  int restarts() { return this_actor::restart_count(); }

 private:
  int call_count_ = 0;
};
TROUPE_ACTOR(ResilientActor, &ResilientActor::work, &ResilientActor::crash, &ResilientActor::work_or_crash,
             &ResilientActor::restarts);

ActorOptions resilient_options() { return {.max_restarts = kMaxRestarts, .max_task_retries = kMaxTaskRetries}; }

void pause(int max_ms) {
  if (buggify(kNoPauseSite)) return;
  troupe::sleep(std::chrono::milliseconds(troupe::random() % static_cast<uint64_t>(max_ms + 1)));
}

// What a get observed: the value, or which error with which text.
template <typename T>
struct Outcome {
  std::optional<T> value;
  bool died = false;         // ActorDiedError
  bool unavailable = false;  // ActorUnavailableError
  std::string error;         // the cause (ActorDiedError) or what() (ActorUnavailableError)
};

template <typename T>
Outcome<T> outcome_of(System& sys, const Ref<T>& ref) {
  Outcome<T> outcome;
  try {
    outcome.value = sys.get(ref);
  } catch (const ActorDiedError& e) {
    outcome.died = true;
    outcome.error = e.cause();
  } catch (const ActorUnavailableError& e) {
    outcome.unavailable = true;
    outcome.error = e.what();
  }
  return outcome;
}

std::string describe_value(const std::string& value) { return fmt::format("\"{}\"", value); }
std::string describe_value(const Reply& reply) { return fmt::format("\"{}\" on r{}", reply.value, reply.restart); }
std::string describe_value(int value) { return fmt::format("{}", value); }

template <typename T>
std::string describe(const Outcome<T>& outcome) {
  if (outcome.value) return describe_value(*outcome.value);
  return fmt::format("{}(\"{}\")", outcome.died ? "ActorDiedError" : "ActorUnavailableError", outcome.error);
}

// The cause of an ActorDiedError after the restarts ran out, as semantics.md documents it.
bool says_restarts_used_up(const std::string& cause) {
  return cause.find(fmt::format("its {} restarts are used up (max_restarts = {})", kMaxRestarts, kMaxRestarts)) !=
         std::string::npos;
}

// The checks every failed get shares. Returns true if the actor is now known dead.
template <typename T>
bool check_error(Checks& checks, const Outcome<T>& outcome, const std::string& where) {
  if (outcome.died) {
    checks.always("an actor dies only when its restarts are used up", says_restarts_used_up(outcome.error), where);
    return true;
  }
  if (outcome.unavailable) {
    checks.always("ActorUnavailableError only under injected faults, as a call out of retries",
                  checks.faults_planned() && outcome.error.find("no retries left") != std::string::npos, where);
  }
  return false;
}

// Call #N on incarnation r, given the previous success (prev_n on prev_restart): the count starts
// over on a new incarnation. After an unavailable call (which may have run) N may have skipped.
struct CallCounter {
  int prev_restart = 0;
  int prev_n = 0;
  bool maybe_skipped = false;

  void check(Checks& checks, const Reply& reply, const std::string& where) {
    checks.always("incarnations never go down", reply.restart >= prev_restart, where);
    checks.always("no incarnation beyond max_restarts answers", reply.restart <= kMaxRestarts, where);
    const int expected = reply.restart == prev_restart ? prev_n + 1 : 1;
    const std::string expected_value = fmt::format("Call #{}", expected);
    int n = 0;
    const bool parsed = std::sscanf(reply.value.c_str(), "Call #%d", &n) == 1;
    const bool ok = maybe_skipped && reply.restart == prev_restart ? parsed && n >= expected
                                                                   : reply.value == expected_value;
    checks.always("Call #N counts the successes on the incarnation it ran on", ok,
                  fmt::format("{}; expected {}\"{}\"", where, maybe_skipped ? "at least " : "", expected_value));
    prev_restart = reply.restart;
    prev_n = parsed ? n : expected;
    maybe_skipped = false;
  }
};

// The seed's own run: work, kill with restart allowed, work again. The kill is asynchronous (a
// crash the directory carries out): the next call may still reach the old incarnation ("Call #2")
// or the new one ("Call #1"); once the restart is done, the state has started over.
void seed_run(System& sys, Checks& checks, ActorHandle<ResilientActor> actor) {
  const Outcome<std::string> first = outcome_of(sys, actor.call(&ResilientActor::work));
  if (!first.value) {
    check_error(checks, first, "the seed's first work(): " + describe(first));
    return;
  }
  checks.always("the seed's first work() is Call #1", *first.value == "Call #1", *first.value);
  sys.kill(actor, {.no_restart = false});
  const Outcome<std::string> again = outcome_of(sys, actor.call(&ResilientActor::work));
  if (!again.value) {
    check_error(checks, again, "work() after kill(no_restart = false): " + describe(again));
    return;
  }
  checks.always("work() right after kill(no_restart = false) is Call #1 or, before the kill lands, Call #2",
                *again.value == "Call #1" || *again.value == "Call #2", *again.value);
  checks.sometimes("work() right after the kill ran on the new incarnation", *again.value == "Call #1");
  troupe::sleep(std::chrono::milliseconds(50));  // the kill has landed and the actor restarted
  const Outcome<int> restarts = outcome_of(sys, actor.call(&ResilientActor::restarts));
  if (!restarts.value) {
    check_error(checks, restarts, "restarts() after the kill: " + describe(restarts));
    return;
  }
  if (checks.faults_planned()) {
    checks.always("the kill is a restart", *restarts.value >= 1 && *restarts.value <= kMaxRestarts,
                  fmt::format("restart_count() = {}", *restarts.value));
  } else {
    checks.always("the kill is one restart", *restarts.value == 1,
                  fmt::format("restart_count() = {}", *restarts.value));
  }
  const Outcome<std::string> next = outcome_of(sys, actor.call(&ResilientActor::work));
  if (!next.value) {
    check_error(checks, next, "work() after the restart: " + describe(next));
    return;
  }
  const std::string expected = *again.value == "Call #1" ? "Call #2" : "Call #1";
  // An injected crash between the calls starts the count over once more.
  checks.always("the restarted actor counts from 1",
                *next.value == expected || (checks.faults_planned() && *next.value == "Call #1"),
                fmt::format("got \"{}\", expected \"{}\"", *next.value, expected));
}

// How many more restarts the next call must cause: mostly none, sometimes 1, rarely 2 or 3.
int draw_extra_crashes(int crash_percent) {
  if (static_cast<int>(troupe::random() % 100) >= crash_percent) return 0;
  const uint64_t roll = troupe::random() % 8;
  return roll == 0 ? 3 : roll == 1 ? 2 : 1;
}

// One call at a time, with short pauses between them.
void sequential_calls(System& sys, Checks& checks, ActorHandle<ResilientActor> actor) {
  const int crash_percent = static_cast<int>(troupe::random() % 35) + 5;
  int caused = 0;  // the restarts the calls so far must have caused: the largest crash_below
  CallCounter counter;
  bool dead = false;
  bool survived_a_crash = false;
  for (int call = 1; call <= kSequentialCalls; ++call) {
    const int crash_below = caused + draw_extra_crashes(crash_percent);
    caused = std::max(caused, crash_below);
    const Outcome<Reply> outcome = outcome_of(sys, actor.call(&ResilientActor::work_or_crash, crash_below));
    const std::string where = fmt::format("call {} (crash below r{}, {} restarts caused): {}", call, crash_below,
                                          caused, describe(outcome));
    if (dead) {
      checks.always("after the restarts are used up every call fails with ActorDiedError",
                    outcome.died && says_restarts_used_up(outcome.error), where);
      continue;
    }
    if (outcome.value) {
      const Reply& reply = *outcome.value;
      checks.always("a call never succeeds on an incarnation it crashes on", reply.restart >= crash_below, where);
      if (!checks.faults_planned()) {
        checks.always("without injected faults the incarnation is the number of restarts the calls caused",
                      reply.restart == caused, where);
      }
      checks.sometimes("a call succeeded after crashing 3 times", reply.restart - counter.prev_restart == 3);
      checks.sometimes("a call succeeded after a restart", reply.restart > counter.prev_restart);
      survived_a_crash = survived_a_crash || reply.restart > 0;
      counter.check(checks, reply, where);
    } else {
      dead = check_error(checks, outcome, where);
      counter.maybe_skipped = !dead;
      if (dead && !checks.faults_planned()) {
        checks.always("without injected faults a call dies exactly when its crashes exceed max_restarts",
                      caused > kMaxRestarts, where);
      }
    }
    if (!dead && !checks.faults_planned()) {
      checks.always("without injected faults a call succeeds while the restarts last", caused <= kMaxRestarts,
                    where);
    }
    pause(kPauseMaxMs);
  }
  checks.sometimes("the restarts were used up", dead);
  checks.sometimes("the actor survived its crashes", !dead && survived_a_crash);
}

// All calls in flight at once: a crash sends every later call back for a retry.
void pipelined_calls(System& sys, Checks& checks, ActorHandle<ResilientActor> actor) {
  const int crash_percent = static_cast<int>(troupe::random() % 25) + 5;
  std::vector<int> crash_below;
  std::vector<Ref<Reply>> refs;
  int planned = 0;
  for (int i = 0; i < kPipelinedCalls; ++i) {
    crash_below.push_back(planned + draw_extra_crashes(crash_percent));
    planned = std::max(planned, crash_below.back());
    refs.push_back(actor.call(&ResilientActor::work_or_crash, crash_below.back()));
  }
  int caused = 0;  // the restarts the calls up to this one must have caused
  CallCounter counter;
  bool dead = false;
  bool retried = false;
  for (int i = 0; i < kPipelinedCalls; ++i) {
    caused = std::max(caused, crash_below[static_cast<size_t>(i)]);
    const Outcome<Reply> outcome = outcome_of(sys, refs[static_cast<size_t>(i)]);
    const std::string where = fmt::format("pipelined call {} (crash below r{}, {} restarts caused): {}", i,
                                          crash_below[static_cast<size_t>(i)], caused, describe(outcome));
    if (dead) {
      checks.always("after a pipelined call died every later one fails with ActorDiedError",
                    outcome.died && says_restarts_used_up(outcome.error), where);
      continue;
    }
    if (outcome.value) {
      const Reply& reply = *outcome.value;
      // Retries run in submission order: a call runs only after every earlier one's crashes.
      checks.always("a pipelined call runs after the crashes of the calls before it", reply.restart >= caused,
                    where);
      if (!checks.faults_planned()) {
        checks.always("without injected faults a pipelined call runs on the incarnation its predecessors made",
                      reply.restart == caused, where);
      }
      retried = retried || reply.restart > 0;
      counter.check(checks, reply, where);
    } else {
      dead = check_error(checks, outcome, where);
      counter.maybe_skipped = !dead;
      if (dead && !checks.faults_planned()) {
        checks.always("without injected faults a pipelined call dies exactly when the crashes exceed max_restarts",
                      caused > kMaxRestarts, where);
      }
    }
    if (!dead && !checks.faults_planned()) {
      checks.always("without injected faults a pipelined call succeeds while the restarts last",
                    caused <= kMaxRestarts, where);
    }
  }
  if (!dead) {
    const Outcome<int> restarts = outcome_of(sys, actor.call(&ResilientActor::restarts));
    const std::string where = fmt::format("restart_count() = {}, {} restarts caused", describe(restarts), caused);
    if (restarts.value) {
      checks.always("pipelined: restart_count() counts the crashes",
                    checks.faults_planned() ? *restarts.value >= caused : *restarts.value == caused, where);
    } else {
      check_error(checks, restarts, where);
    }
  }
  checks.sometimes("pipelined calls were retried after a crash", retried && !dead);
}

void resilient_driver(System& sys, Checks& checks) {
  for (int round = 0; keep_working(sys, checks, round); ++round) {
    if (round > 0) pause(kPauseMaxMs);
    for (auto phase : {seed_run, sequential_calls, pipelined_calls}) {
      auto actor = sys.spawn<ResilientActor>(resilient_options());
      phase(sys, checks, actor);
      sys.kill(actor);  // frees its CPU for the next phase's actor, even if nodes are down
    }
  }
  // The quiet phase: no more faults, the network has healed. The cluster must serve again.
  if (sys.platform().simulated() && troupe::now().count() < checks.fault_window_ns()) {
    troupe::sleep(std::chrono::nanoseconds(checks.fault_window_ns() - troupe::now().count()));
  }
  auto fresh = sys.spawn<ResilientActor>(resilient_options());
  const Outcome<std::string> after = outcome_of(sys, fresh.call(&ResilientActor::work));
  checks.always("after the fault window a fresh actor answers Call #1", after.value == "Call #1", describe(after));
}

// Holds the balance the transfers add to.
class Bank {
 public:
  int deposit() { return ++balance_; }
  int balance() { return balance_; }

 private:
  int balance_ = 0;
};
TROUPE_ACTOR(Bank, &Bank::deposit, &Bank::balance);

class Teller {
 public:
  explicit Teller(ActorHandle<Bank> bank) : bank_(bank) {}
  // Not idempotent: adds 1 to the Bank's balance, then crashes with probability
  // `crash_percent`% (after the effect, so a retry applies it again).
  int transfer(int crash_percent) {
    int balance = this_actor::system().get(bank_.call(&Bank::deposit));
    if (static_cast<int>(troupe::random() % 100) < crash_percent) this_actor::crash();
    return balance;
  }

 private:
  ActorHandle<Bank> bank_;
};
TROUPE_ACTOR(Teller, &Teller::transfer);

// The planted bug: a non-idempotent transfer under max_task_retries, crashing after its effect.
void double_effect_driver(System& sys, Checks& checks) {
  auto bank = sys.spawn<Bank>({.max_restarts = -1, .max_task_retries = -1});
  auto teller = sys.spawn<Teller>(resilient_options(), bank);
  const int crash_percent = static_cast<int>(troupe::random() % 20) + 5;
  int acknowledged = 0;
  for (int i = 0; i < kTransfers; ++i) {
    try {
      (void)sys.get(teller.call(&Teller::transfer, crash_percent));
      ++acknowledged;
    } catch (const Error&) {
      break;  // the restarts are used up
    }
  }
  const int balance = sys.get(bank.call(&Bank::balance));
  checks.always("the balance never exceeds the acknowledged transfers", balance <= acknowledged,
                fmt::format("balance {}, {} transfers acknowledged", balance, acknowledged));
}

}  // namespace

void register_resilient_actor(Registry& registry) {
  registry.add({.name = "resilient_actor",
                .summary = "the seed's ResilientActor: driver-decided crashes, exact Call #N, retries, restarts used up",
                .fault_window_ns = kFaultWindow,
                .quiet_ns = kQuiet,
                .deadline_ns = kDeadline,
                .driver = resilient_driver,
                .buggify_sites = {std::string(kSlowWorkSite), std::string(kNoPauseSite)}});
  registry.add({.name = "resilient_actor.bug_double_effect",
                .summary = "a non-idempotent transfer retried after crashing past its effect applies it twice",
                .expect_fail = true,
                .fault_window_ns = kFaultWindow,
                .quiet_ns = kQuiet,
                .deadline_ns = kDeadline,
                .driver = double_effect_driver,
                .buggify_sites = {std::string(kSlowWorkSite), std::string(kNoPauseSite)}});
}

}  // namespace troupe::scenarios
