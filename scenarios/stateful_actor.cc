// stateful_actor: the seed's StatefulActor (Ray actors guide, "状态恢复": set_state(key, value),
// get_state(key), a constructor that loads a checkpoint) made durable: set_state checkpoints the
// whole state to the cluster object store (troupe::storage, runtime/storage.h) before it
// replies, and the constructor restores the latest checkpoint, so a restart loses no
// acknowledged write. The store is the platform's, not an actor's: no crash can take it away.
// Storage faults (transient errors, lost writes) are retried until the store answers: a put that
// failed, applied or not, is simply put again (it writes the whole state, so it is idempotent).
// Split brain (the `suspect` fault, docs/semantics.md "Split brain"): a falsely suspected
// instance keeps serving the callers that have not heard of its restart until the directory's
// fence reaches it, while its successor has already restored the checkpoint. Without more, the
// old instance could checkpoint and acknowledge a write the successor never sees. So the
// checkpoint is fenced (runtime/storage.h, "Fencing"): each instance takes the token
// restart_count() + 1, which grows with each incarnation; its constructor restores with a fenced
// get (raising the key's fence to its token) and every checkpoint put carries the same token.
// Once the successor's get is acknowledged, the old instance's put is refused as fenced: it was
// replaced, and it ends itself with this_actor::crash() before replying, so the write is never
// acknowledged. Its caller sees the worker die and, by Ray's rules, retries the call on the new
// incarnation if it has retries left (max_task_retries), else gets ActorUnavailableError (the
// write may or may not have run; here it did not).
// Faults come from inside the scenario too: set_state crashes with a seeded probability before
// or after its checkpoint, and the driver sometimes kills the actor with no_restart = false.
// Two buggify sites make it harder: a slow checkpoint (a wider window for a crash mid-write) and
// a crash right after the checkpoint, before the reply (the write is kept, the caller retries).
// The driver writes in rounds until the scenario's fault window has passed.
// Checks, after every write and at the end:
//   * every acknowledged set_state is visible through get_state, also across restarts;
//   * a write whose call failed (ActorUnavailableError: it may or may not have run) is visible
//     only if no acknowledged write to its key came after it;
//   * no other key or value ever appears.
//
// stateful_actor.bug_checkpoint_after_reply: the checkpoint is written lazily, at the start of the
// next set_state, i.e. after the reply; a crash before it loses an acknowledged write.
// stateful_actor.bug_no_checkpoint: the state is never checkpointed; a restart loses it.
#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fmt/format.h"
#include "runtime/troupe.h"
#include "scenarios/scenario.h"

namespace troupe::scenarios {
namespace {

constexpr int kWrites = 24;  // per round
constexpr int kKeys = 4;
constexpr int kRoundPauseMaxMs = 60;

constexpr std::string_view kSlowCheckpointSite = "stateful_actor.set_state.slow_checkpoint";
constexpr std::string_view kCrashBeforeReplySite = "stateful_actor.set_state.crash_before_reply";

using State = std::map<std::string, std::string>;

// Where the actor keeps its checkpoint: one key for the whole state.
constexpr std::string_view kCheckpointKey = "stateful_actor/checkpoint";
// A transient storage failure is retried after a pause of min(attempt, 10) ms, at most this
// many times (about 100 simulated seconds: longer than any fault window).
constexpr int kStorageAttemptsMax = 10'000;

// Runs `operation` until it does not fail transiently. A failed put may or may not have been
// applied; putting the same whole state again is harmless, so the caller need not know.
template <typename Operation>
auto retry_storage(Operation operation) {
  for (int attempt = 1;; ++attempt) {
    try {
      return operation();
    } catch (const StorageError& error) {
      if (!error.transient() || attempt == kStorageAttemptsMax) throw;
      troupe::sleep(std::chrono::milliseconds(std::min(attempt, 10)));
    }
  }
}

enum class Checkpointing { kBeforeReply, kOnNextCall, kNever };

class StatefulActor {
 public:
  // `checkpointing` is a Checkpointing, sent as its int.
  StatefulActor(int crash_percent, int checkpointing)
      : crash_percent_(crash_percent),
        checkpointing_(static_cast<Checkpointing>(checkpointing)),
        token_(static_cast<uint64_t>(this_actor::restart_count()) + 1) {
    assert(token_ > 0);
    // Fences the checkpoint: from now on no older incarnation can write it.
    state_ = retry_storage([this] { return storage::get_value<State>(kCheckpointKey, {.fence = token_}); })
                 .value_or(State{});
  }

  std::string set_state(std::string key, std::string value) {
    if (checkpointing_ == Checkpointing::kOnNextCall) {
      maybe_crash();  // BUG: the previous call's write is acknowledged and not yet saved
      checkpoint();
    }
    state_[key] = value;
    maybe_crash();  // before the checkpoint: the write is lost, and was never acknowledged
    if (checkpointing_ == Checkpointing::kBeforeReply) {
      if (buggify(kSlowCheckpointSite)) troupe::sleep(std::chrono::milliseconds(3));
      checkpoint();
    }
    maybe_crash();  // after the checkpoint: the write is kept, though the call fails or retries
    if (buggify(kCrashBeforeReplySite)) this_actor::crash();
    return "ok";
  }
  std::optional<std::string> get_state(std::string key) {
    auto it = state_.find(key);
    if (it == state_.end()) return std::nullopt;
    return it->second;
  }
  State get_all() { return state_; }
  int restarts() { return this_actor::restart_count(); }

 private:
  void maybe_crash() {
    if (static_cast<int>(troupe::random() % 100) < crash_percent_) this_actor::crash();
  }
  // Saves the whole state; if a successor has fenced the checkpoint, this instance was replaced:
  // it crashes rather than reply for a write its successor will never see.
  void checkpoint() {
    bool replaced = false;
    try {
      retry_storage([this] { storage::put_value(kCheckpointKey, state_, {.fence = token_}); });
    } catch (const StorageError& error) {
      if (!error.fenced()) throw;
      replaced = true;
    }
    if (replaced) this_actor::crash();
  }

  int crash_percent_;
  Checkpointing checkpointing_;
  uint64_t token_;  // this incarnation's fencing token: restart_count() + 1
  State state_;
};
TROUPE_ACTOR(StatefulActor, &StatefulActor::set_state, &StatefulActor::get_state, &StatefulActor::get_all,
             &StatefulActor::restarts);

// What the driver knows of one key: the last acknowledged value, and the values of failed writes
// made after it (each may or may not have run).
struct KeyModel {
  std::optional<std::string> acknowledged;
  std::set<std::string> maybe;
};

// Checks the actor's whole state against the model. Returns false on a failed check.
bool check_state(Checks& checks, const State& seen, const std::map<std::string, KeyModel>& model, int write) {
  for (const auto& [key, value] : seen) {
    if (!checks.always("no key appears that was never written", model.contains(key),
                       fmt::format("after write {}: key {} = {}", write, key, value))) {
      return false;
    }
  }
  for (const auto& [key, expected] : model) {
    auto it = seen.find(key);
    const std::optional<std::string> got = it == seen.end() ? std::nullopt : std::optional(it->second);
    const bool acknowledged = got.has_value() && got == expected.acknowledged;
    const bool maybe = got.has_value() ? expected.maybe.contains(*got) : !expected.acknowledged.has_value();
    const std::string detail = fmt::format("after write {}: key {} holds {}, last acknowledged {}, {} failed writes since",
                                           write, key, got.value_or("(nothing)"),
                                           expected.acknowledged.value_or("(none)"), expected.maybe.size());
    if (expected.acknowledged && !maybe) {
      if (!checks.always("every acknowledged write is visible", acknowledged, detail)) return false;
    }
    if (!checks.always("only acknowledged or failed writes are visible", acknowledged || maybe, detail)) return false;
    checks.sometimes("a failed write turned out to have run", got.has_value() && expected.maybe.contains(*got));
    checks.sometimes("a failed write turned out not to have run",
                     !expected.maybe.empty() && !(got.has_value() && expected.maybe.contains(*got)));
  }
  return true;
}

void stateful_driver(System& sys, Checks& checks, Checkpointing checkpointing) {
  const int crash_percent = static_cast<int>(troupe::random() % 12) + 3;
  auto actor = sys.spawn<StatefulActor>({.max_restarts = -1, .max_task_retries = 2}, crash_percent,
                                        static_cast<int>(checkpointing));
  std::map<std::string, KeyModel> model;
  int failed = 0;
  int write = 0;
  for (int round = 0; keep_working(sys, checks, round); ++round) {
    if (round > 0) troupe::sleep(std::chrono::milliseconds(troupe::random() % (kRoundPauseMaxMs + 1)));
    for (int in_round = 1; in_round <= kWrites; ++in_round) {
      ++write;
      const std::string key = fmt::format("key{}", troupe::random() % kKeys + 1);
      const std::string value = fmt::format("value{}", write);
      KeyModel& entry = model[key];
      try {
        std::string reply = sys.get(actor.call(&StatefulActor::set_state, key, value));
        checks.always("set_state replies ok", reply == "ok", reply);
        entry.acknowledged = value;
        entry.maybe.clear();
      } catch (const ActorUnavailableError&) {
        entry.maybe.insert(value);
        ++failed;
      }
      if (troupe::random() % 8 == 0) sys.kill(actor, {.no_restart = false});
      // Read back with retries: a restart in progress must not fail the read.
      State seen = sys.get(actor.with({.max_task_retries = -1}).call(&StatefulActor::get_all));
      if (!check_state(checks, seen, model, write)) return;
      std::optional<std::string> single = sys.get(actor.with({.max_task_retries = -1}).call(&StatefulActor::get_state, key));
      auto it = seen.find(key);
      checks.always("get_state agrees with the whole state", single == (it == seen.end() ? std::nullopt : std::optional(it->second)),
                    fmt::format("get_state({}) = {}", key, single.value_or("(nothing)")));
    }
  }
  const int restarts = sys.get(actor.with({.max_task_retries = -1}).call(&StatefulActor::restarts));
  checks.sometimes("acknowledged writes survived a restart", restarts > 0);
  checks.sometimes("a write failed", failed > 0);
}

std::vector<std::string> stateful_sites() {
  return {std::string(kSlowCheckpointSite), std::string(kCrashBeforeReplySite)};
}

}  // namespace

void register_stateful_actor(Registry& registry) {
  registry.add({.name = "stateful_actor",
                .summary = "the seed's StatefulActor checkpointing before each reply: no acknowledged write is lost",
                .driver = [](System& sys, Checks& checks) { stateful_driver(sys, checks, Checkpointing::kBeforeReply); },
                .buggify_sites = stateful_sites()});
  registry.add({.name = "stateful_actor.bug_checkpoint_after_reply",
                .summary = "checkpoints lazily on the next call, after the reply: a crash loses an acknowledged write",
                .expect_fail = true,
                .driver = [](System& sys, Checks& checks) { stateful_driver(sys, checks, Checkpointing::kOnNextCall); },
                .buggify_sites = stateful_sites()});
  registry.add({.name = "stateful_actor.bug_no_checkpoint",
                .summary = "never checkpoints: a restart loses every write",
                .expect_fail = true,
                .driver = [](System& sys, Checks& checks) { stateful_driver(sys, checks, Checkpointing::kNever); },
                .buggify_sites = stateful_sites()});
}

}  // namespace troupe::scenarios
