// resilient_actor: the seed's ResilientActor (Ray actors guide, "容错与恢复": max_restarts = 3,
// max_task_retries = 3, work() returns "Call #N", crash() ends the process like os._exit(1)).
// Faults come from inside the scenario: work_or_crash(call, p) crashes the actor with a seeded
// probability of p%, and the driver kills it with no_restart = false. A Tracker actor, which never
// crashes, logs every attempt, crash and success, so the checks are exact:
//   * the seed's run: "Call #1", kill(no_restart = false), then work(): the kill is asynchronous,
//     so that call returns "Call #2" (the old incarnation) or "Call #1" (the new one); once the
//     restart is done restart_count() is 1 and the count has started over (state is not restored);
//   * sequential calls: each get returns "Call #N" where N counts the successes since the last
//     restart, or throws ActorDiedError only once the 4th crash used up the 3 restarts, with the
//     cause saying so; a call that crashed at most 3 times succeeds; restart_count() equals the
//     crashes logged and never exceeds 3; after the death every call fails with ActorDiedError
//     and never reaches the actor;
//   * pipelined calls (all in flight at once): the same, with the retried calls run again in
//     submission order; each result matches the success the actor logged for it.
//
// resilient_actor.bug_double_effect: transfer() adds 1 to a balance held by the Tracker and may
// then crash; under max_task_retries the retry adds it again, so the balance exceeds the number
// of acknowledged transfers.
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
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

// Never crashes: counts attempts per key and keeps the log of what the actors did, in the order
// they did it (each entry is sent by a sequential actor that waits for the answer).
class Tracker {
 public:
  int record(std::string key) { return ++counts_[key]; }
  int count(std::string key) { return counts_[key]; }
  int note(std::string entry) {
    log_.push_back(std::move(entry));
    return static_cast<int>(log_.size());
  }
  std::vector<std::string> log() { return log_; }

 private:
  std::map<std::string, int> counts_;
  std::vector<std::string> log_;
};
TROUPE_ACTOR(Tracker, &Tracker::record, &Tracker::count, &Tracker::note, &Tracker::log);

class ResilientActor {
 public:
  explicit ResilientActor(ActorHandle<Tracker> tracker) : tracker_(tracker) {}

  std::string work() {
    ++call_count_;
    return fmt::format("Call #{}", call_count_);
  }
  // The seed's crash(): the process ends at once.
  std::string crash() {
    this_actor::crash();
    return "";  // never reached
  }
  // Records an attempt of call `call`; crashes with probability `crash_percent`%, else works
  // and logs the result with the incarnation it ran on.
  std::string work_or_crash(int call, int crash_percent) {
    System& sys = this_actor::system();
    (void)sys.get(tracker_.call(&Tracker::record, fmt::format("attempt {}", call)));
    if (static_cast<int>(troupe::random() % 100) < crash_percent) {
      (void)sys.get(tracker_.call(&Tracker::record, fmt::format("crash {}", call)));
      (void)sys.get(tracker_.call(&Tracker::note, fmt::format("crash {}", call)));
      this_actor::crash();
    }
    std::string result = work();
    (void)sys.get(tracker_.call(&Tracker::note, fmt::format("ok {} {} r{}", call, result, this_actor::restart_count())));
    return result;
  }
  int restarts() { return this_actor::restart_count(); }
  // Not idempotent: adds 1 to the Tracker's balance, then crashes with probability
  // `crash_percent`% (after the effect, so a retry applies it again).
  int transfer(int crash_percent) {
    int balance = this_actor::system().get(tracker_.call(&Tracker::record, std::string("balance")));
    if (static_cast<int>(troupe::random() % 100) < crash_percent) this_actor::crash();
    return balance;
  }

 private:
  ActorHandle<Tracker> tracker_;
  int call_count_ = 0;
};
TROUPE_ACTOR(ResilientActor, &ResilientActor::work, &ResilientActor::crash, &ResilientActor::work_or_crash,
             &ResilientActor::restarts, &ResilientActor::transfer);

ActorOptions resilient_options() { return {.max_restarts = kMaxRestarts, .max_task_retries = kMaxTaskRetries}; }

// What a get observed: the value, or which error with which text.
struct Outcome {
  std::optional<std::string> value;
  bool died = false;         // ActorDiedError
  bool unavailable = false;  // ActorUnavailableError
  std::string error;         // the cause (ActorDiedError) or what() (ActorUnavailableError)
};

Outcome outcome_of(System& sys, const Ref<std::string>& ref) {
  Outcome outcome;
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

std::string describe(const Outcome& outcome) {
  if (outcome.value) return fmt::format("\"{}\"", *outcome.value);
  return fmt::format("{}(\"{}\")", outcome.died ? "ActorDiedError" : "ActorUnavailableError", outcome.error);
}

// The cause of an ActorDiedError after the restarts ran out, as semantics.md documents it.
bool says_restarts_used_up(const std::string& cause) {
  return cause.find(fmt::format("its {} restarts are used up (max_restarts = {})", kMaxRestarts, kMaxRestarts)) !=
         std::string::npos;
}

int tracked(System& sys, ActorHandle<Tracker> tracker, std::string key) {
  return sys.get(tracker.call(&Tracker::count, std::move(key)));
}

// The seed's own run: work, kill with restart allowed, work again. The kill is asynchronous (a
// crash the directory carries out): the next call may still reach the old incarnation ("Call #2")
// or the new one ("Call #1"); once the restart is done, the state has started over.
void seed_run(System& sys, Checks& checks, ActorHandle<Tracker> tracker) {
  auto actor = sys.spawn<ResilientActor>(resilient_options(), tracker);
  std::string first = sys.get(actor.call(&ResilientActor::work));
  checks.always("the seed's first work() is Call #1", first == "Call #1", first);
  sys.kill(actor, {.no_restart = false});
  std::string again = sys.get(actor.call(&ResilientActor::work));
  checks.always("work() right after kill(no_restart = false) is Call #1 or, before the kill lands, Call #2",
                again == "Call #1" || again == "Call #2", again);
  checks.sometimes("work() right after the kill ran on the new incarnation", again == "Call #1");
  troupe::sleep(std::chrono::milliseconds(50));  // the kill has landed and the actor restarted
  const int restarts = sys.get(actor.call(&ResilientActor::restarts));
  checks.always("the kill is one restart", restarts == 1, fmt::format("restart_count() = {}", restarts));
  std::string next = sys.get(actor.call(&ResilientActor::work));
  const std::string expected = again == "Call #1" ? "Call #2" : "Call #1";
  checks.always("the restarted actor counts from 1", next == expected,
                fmt::format("got \"{}\", expected \"{}\"", next, expected));
}

// One call at a time; the crash probability comes from the seed.
void sequential_calls(System& sys, Checks& checks, ActorHandle<Tracker> tracker) {
  auto actor = sys.spawn<ResilientActor>(resilient_options(), tracker);
  const int crash_percent = static_cast<int>(troupe::random() % 35) + 5;
  int crashes = 0;
  int successes_since_restart = 0;
  bool dead = false;
  for (int call = 1; call <= kSequentialCalls; ++call) {
    Outcome outcome = outcome_of(sys, actor.call(&ResilientActor::work_or_crash, call, crash_percent));
    // Calls are numbered per phase; the sequential phase uses 1..kSequentialCalls.
    const int attempts = tracked(sys, tracker, fmt::format("attempt {}", call));
    const int own_crashes = tracked(sys, tracker, fmt::format("crash {}", call));
    crashes += own_crashes;
    const std::string where = fmt::format("call {}: {} after {} attempts, {} crashes ({} in all)", call,
                                          describe(outcome), attempts, own_crashes, crashes);
    checks.always("no get fails with ActorUnavailableError when retries cover the restarts", !outcome.unavailable,
                  where);
    if (dead) {
      checks.always("after the restarts are used up every call fails with ActorDiedError",
                    outcome.died && says_restarts_used_up(outcome.error), where);
      checks.always("a call to a dead actor never runs", attempts == 0, where);
      continue;
    }
    if (outcome.value) {
      successes_since_restart = own_crashes > 0 ? 1 : successes_since_restart + 1;
      checks.always("a call succeeds only while the restarts last", crashes <= kMaxRestarts, where);
      checks.always("a successful call ran once more than it crashed", attempts == own_crashes + 1, where);
      checks.always("work_or_crash returns Call #N counting from the last restart",
                    *outcome.value == fmt::format("Call #{}", successes_since_restart),
                    fmt::format("{}; expected \"Call #{}\"", where, successes_since_restart));
      const int restarts = sys.get(actor.call(&ResilientActor::restarts));
      checks.always("restart_count() is the number of crashes", restarts == crashes,
                    fmt::format("{}; restart_count() = {}", where, restarts));
      checks.sometimes("a call succeeded after crashing 3 times", own_crashes == kMaxTaskRetries);
      checks.sometimes("a call succeeded after a restart", own_crashes > 0);
      continue;
    }
    checks.always("a call fails only with ActorDiedError once the 4th crash used up the restarts",
                  outcome.died && crashes == kMaxRestarts + 1 && attempts == own_crashes, where);
    checks.always("the cause says the restarts are used up", says_restarts_used_up(outcome.error), where);
    dead = true;
  }
  checks.sometimes("the restarts were used up", dead);
  checks.sometimes("the actor survived its crashes", !dead && crashes > 0);
}

// Parses "ok <call> Call #<n> r<restart>" from the Tracker's log.
struct Success {
  int call = 0;
  int n = 0;
  int restart = 0;
};
std::optional<Success> parse_success(const std::string& entry) {
  Success success;
  if (std::sscanf(entry.c_str(), "ok %d Call #%d r%d", &success.call, &success.n, &success.restart) != 3) {
    return std::nullopt;
  }
  return success;
}

// All calls in flight at once: a crash sends every later call back for a retry.
void pipelined_calls(System& sys, Checks& checks, ActorHandle<Tracker> tracker) {
  auto actor = sys.spawn<ResilientActor>(resilient_options(), tracker);
  const int crash_percent = static_cast<int>(troupe::random() % 25) + 5;
  constexpr int kFirst = 1000;  // call numbers apart from the sequential phase's
  std::vector<Ref<std::string>> refs;
  for (int i = 0; i < kPipelinedCalls; ++i) {
    refs.push_back(actor.call(&ResilientActor::work_or_crash, kFirst + i, crash_percent));
  }
  std::vector<Outcome> outcomes;
  for (const Ref<std::string>& ref : refs) outcomes.push_back(outcome_of(sys, ref));

  // The log: which call succeeded with which N on which incarnation; crashes in order.
  std::map<int, Success> last_success;  // by call
  std::map<int, int> successes_on;      // by incarnation: how many so far
  int crashes = 0;
  for (const std::string& entry : sys.get(tracker.call(&Tracker::log))) {
    if (entry.rfind("crash ", 0) == 0) {
      if (std::stoi(entry.substr(6)) >= kFirst) ++crashes;
      continue;
    }
    std::optional<Success> success = parse_success(entry);
    if (!success || success->call < kFirst) continue;
    checks.always("a pipelined call runs on the incarnation of the crashes before it", success->restart == crashes,
                  fmt::format("{} after {} crashes", entry, crashes));
    const int expected = ++successes_on[success->restart];
    checks.always("pipelined Call #N counts the successes on its incarnation", success->n == expected,
                  fmt::format("{}; expected Call #{}", entry, expected));
    last_success[success->call] = *success;
  }
  const bool dead = crashes > kMaxRestarts;
  for (int i = 0; i < kPipelinedCalls; ++i) {
    const Outcome& outcome = outcomes[static_cast<size_t>(i)];
    const int call = kFirst + i;
    const std::string where = fmt::format("pipelined call {}: {} ({} crashes in all)", call, describe(outcome), crashes);
    // With max_task_retries = max_restarts, each crash costs every call in flight one retry, so a
    // call runs out of retries only when the restarts run out too: never ActorUnavailableError.
    checks.always("pipelined calls never fail with ActorUnavailableError when retries cover the restarts",
                  !outcome.unavailable, where);
    if (outcome.value) {
      auto it = last_success.find(call);
      checks.always("a pipelined result is the one the actor logged",
                    it != last_success.end() && *outcome.value == fmt::format("Call #{}", it->second.n), where);
    } else {
      checks.always("a pipelined call fails with ActorDiedError only once the restarts are used up",
                    dead && outcome.died && says_restarts_used_up(outcome.error), where);
    }
  }
  if (!dead) {
    const int restarts = sys.get(actor.call(&ResilientActor::restarts));
    checks.always("pipelined: restart_count() is the number of crashes", restarts == crashes,
                  fmt::format("restart_count() = {}, {} crashes", restarts, crashes));
  }
  checks.always("restart_count() never exceeds max_restarts", crashes <= kMaxRestarts + 1,
                fmt::format("{} crashes", crashes));
  checks.sometimes("pipelined calls were retried after a crash", crashes > 0 && !dead);
}

void resilient_driver(System& sys, Checks& checks) {
  auto tracker = sys.spawn<Tracker>({});
  seed_run(sys, checks, tracker);
  sequential_calls(sys, checks, tracker);
  pipelined_calls(sys, checks, tracker);
}

// The planted bug: a non-idempotent transfer under max_task_retries, crashing after its effect.
void double_effect_driver(System& sys, Checks& checks) {
  auto tracker = sys.spawn<Tracker>({});
  auto actor = sys.spawn<ResilientActor>(resilient_options(), tracker);
  const int crash_percent = static_cast<int>(troupe::random() % 20) + 5;
  int acknowledged = 0;
  for (int i = 0; i < kTransfers; ++i) {
    try {
      (void)sys.get(actor.call(&ResilientActor::transfer, crash_percent));
      ++acknowledged;
    } catch (const Error&) {
      break;  // the restarts are used up
    }
  }
  const int balance = tracked(sys, tracker, "balance");
  checks.always("the balance is the number of acknowledged transfers", balance == acknowledged,
                fmt::format("balance {}, {} transfers acknowledged", balance, acknowledged));
}

}  // namespace

void register_resilient_actor(Registry& registry) {
  registry.add({.name = "resilient_actor",
                .summary = "the seed's ResilientActor: seeded crashes, exact Call #N, retries, restarts used up",
                .driver = resilient_driver});
  registry.add({.name = "resilient_actor.bug_double_effect",
                .summary = "a non-idempotent transfer retried after crashing past its effect applies it twice",
                .expect_fail = true,
                .driver = double_effect_driver});
}

}  // namespace troupe::scenarios
