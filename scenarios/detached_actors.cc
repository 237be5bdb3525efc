// detached_actors: the seed's DetachedActor (Ray actors guide, "分离 Actor"): created with
// lifetime detached by a party that then shuts down, and found by name afterwards by another
// party, its state intact. In the seed the creator is a driver (ray.shutdown(), ray.init(),
// ray.get_actor("DetachedActor")); here it is an Owner actor whose worker process ends (Ray's
// fate-sharing follows the creating process, docs/semantics.md "Owner dies"), by one of three
// ends drawn per round: this_actor::exit() (a graceful shutdown), kill, or this_actor::crash().
// The Owner also creates an ordinary (owned) actor of the same class, which dies with it.
//
// Checks, with exact values:
//   * the seed's run: the owner creates DetachedActor named "DetachedActor" and ends; the driver
//     finds it with get_actor("DetachedActor") (the same actor the owner created) and its
//     increments return 1, 2, 3;
//   * rounds with fresh names: the owner increments both actors 1 to 5 times (1, 2, ...), then
//     ends. The owned actor answers the next values until the directory has heard of its owner's
//     end, then every call fails with ActorDiedError("its owner p<N> died (...)"). The detached
//     one survives: a Finder actor (another party) finds it by name and its increments continue
//     exactly where the owner stopped; then the driver and the Finder increment it at once, each
//     seeing increasing values and together every next value exactly once.
// The driver works in rounds until the fault window has passed. Plain actors without restarts or
// retries: the scenario tolerates delay faults (kDelayFaults); the owners' ends are the
// scenario's own.
//
// detached_actors.bug_not_detached: the owner creates "DetachedActor" without lifetime detached,
// so it fate-shares with its owner: once the owned actor has died, the name is gone too.
#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/troupe.h"
#include "scenarios/scenario.h"

namespace troupe::scenarios {
namespace {

constexpr int kFinderIncrements = 3;
constexpr int kConcurrentIncrements = 4;
// How long the driver waits for the owned actor to die with its owner (delay faults may hold the
// directory's messages for a while), polling every millisecond.
constexpr Nanos kOwnedDeathWaitMax = 3 * kSecond;
constexpr std::string_view kOwnerLingerSite = "detached_actors.owner.linger";

class DetachedActor {
 public:
  int increment() { return ++counter_; }

 private:
  int counter_ = 0;
};
TROUPE_ACTOR(DetachedActor, &DetachedActor::increment);

// What an Owner created.
struct Created {
  ActorHandle<DetachedActor> detached;  // named, lifetime detached (unless the planted bug)
  ActorHandle<DetachedActor> owned;     // anonymous, owned by the Owner's process
  std::vector<int> detached_values;     // what the Owner's increments returned
  std::vector<int> owned_values;
  MSGPACK_DEFINE(detached, owned, detached_values, owned_values);
};

class Owner {
 public:
  explicit Owner(bool detach) : detach_(detach) {}
  Created create(std::string name, int increments) {
    System& sys = this_actor::system();
    Created created;
    // BUG (when !detach_): the "detached" actor is owned, and dies with this process.
    created.detached = sys.spawn<DetachedActor>(
        {.name = name, .lifetime = detach_ ? Lifetime::kDetached : Lifetime::kOwned});
    created.owned = sys.spawn<DetachedActor>({});
    for (int i = 0; i < increments; ++i) {
      created.detached_values.push_back(sys.get(created.detached.call(&DetachedActor::increment)));
      created.owned_values.push_back(sys.get(created.owned.call(&DetachedActor::increment)));
    }
    return created;
  }
  // The seed's ray.shutdown(): the owner ends once this call and those queued before it ran.
  void shutdown() {
    if (buggify(kOwnerLingerSite)) troupe::sleep(std::chrono::microseconds(troupe::random() % 500));
    this_actor::exit();
  }
  void crash() { this_actor::crash(); }

 private:
  bool detach_;
};
TROUPE_ACTOR(Owner, &Owner::create, &Owner::shutdown, &Owner::crash);

// Another party: finds the actor by name and increments it.
struct FinderReply {
  uint64_t found = 0;  // the packed ActorId get_actor returned, 0 for none
  std::vector<int> values;
  MSGPACK_DEFINE(found, values);
};

class Finder {
 public:
  FinderReply find_and_increment(std::string name, int increments) {
    System& sys = this_actor::system();
    FinderReply reply;
    std::optional<ActorHandle<DetachedActor>> actor = sys.get_actor<DetachedActor>(name);
    if (!actor) return reply;
    reply.found = actor->id().packed();
    for (int i = 0; i < increments; ++i) {
      try {
        reply.values.push_back(sys.get(actor->call(&DetachedActor::increment)));
      } catch (const ActorDiedError&) {
        break;  // reported as fewer values
      }
    }
    return reply;
  }
};
TROUPE_ACTOR(Finder, &Finder::find_and_increment);

enum class OwnerEnd { kExit, kKill, kCrash };

std::string_view end_name(OwnerEnd end) {
  switch (end) {
    case OwnerEnd::kExit: return "exit()";
    case OwnerEnd::kKill: return "kill";
    case OwnerEnd::kCrash: return "crash()";
  }
  return "?";
}

void end_owner(System& sys, ActorHandle<Owner> owner, OwnerEnd end) {
  switch (end) {
    case OwnerEnd::kExit:
      sys.get(owner.call(&Owner::shutdown));
      return;
    case OwnerEnd::kKill:
      sys.kill(owner);
      return;
    case OwnerEnd::kCrash:
      try {
        sys.get(owner.call(&Owner::crash));
      } catch (const ActorDiedError&) {
        // the crash, as expected
      } catch (const ActorUnavailableError&) {
        // the crash, heard of as a lost call before the directory's word
      }
      return;
  }
}

std::string show(const std::optional<ActorHandle<DetachedActor>>& found) {
  return found ? fmt::format("{}", found->id()) : "nothing";
}

// Calls the owned actor until it fails; its answers must continue from `next`. Returns false on a
// failed check.
bool owned_dies(System& sys, Checks& checks, ActorHandle<DetachedActor> owned, int next, std::string_view where) {
  const Nanos give_up = sys.platform().now() + kOwnedDeathWaitMax;
  int answered = 0;
  while (true) {
    try {
      const int value = sys.get(owned.call(&DetachedActor::increment));
      if (!checks.always("the owned actor counts on until it dies", value == next,
                         fmt::format("{}: got {}, expected {}", where, value, next))) {
        return false;
      }
      ++next;
      ++answered;
    } catch (const ActorDiedError& e) {
      checks.sometimes("the owned actor answered after its owner ended", answered > 0);
      return checks.always("the owned actor dies with its owner",
                           e.cause().rfind("its owner p", 0) == 0 && e.cause().find(" died (") != std::string::npos,
                           fmt::format("{}: the cause was \"{}\"", where, e.cause()));
    }
    if (!checks.always("the owned actor dies with its owner", sys.platform().now() < give_up,
                       fmt::format("{}: still answering after {} calls", where, answered))) {
      return false;
    }
    troupe::sleep(std::chrono::milliseconds(1));
  }
}

// One owner's life: it creates the actors named `name` and increments them `increments` times,
// ends by `end`; then the owned actor dies and the detached one is found with its count intact.
// Returns false on a failed check.
bool owner_round(System& sys, Checks& checks, bool detach, const std::string& name, int increments, OwnerEnd end,
                 ActorHandle<Finder> finder, int finder_increments) {
  const std::string where = fmt::format("'{}' after the owner's {}", name, end_name(end));
  auto owner = sys.spawn<Owner>({}, detach);
  const Created created = sys.get(owner.call(&Owner::create, name, increments));
  const std::vector<int> counted = range_inclusive(1, increments);
  if (!checks.always("the owner's increments count from 1", created.detached_values == counted &&
                         created.owned_values == counted,
                     fmt::format("'{}': detached {}, owned {}", name, created.detached_values, created.owned_values))) {
    return false;
  }
  end_owner(sys, owner, end);
  for (OwnerEnd e : {OwnerEnd::kExit, OwnerEnd::kKill, OwnerEnd::kCrash}) {
    checks.sometimes(fmt::format("an owner ended by {}", end_name(e)), e == end);
  }
  if (!owned_dies(sys, checks, created.owned, increments + 1, where)) return false;

  // Another party finds the detached actor by name; its count goes on.
  const FinderReply found = sys.get(finder.call(&Finder::find_and_increment, name, finder_increments));
  if (!checks.always("the detached actor outlives its owner and is found by name",
                     found.found == created.detached.id().packed(),
                     fmt::format("{}: expected {}, found {}", where, created.detached.id(),
                                 found.found == 0 ? "nothing" : fmt::format("{}", ActorId::unpack(found.found)))) ||
      !checks.always("the detached actor's count goes on where its owner left it",
                     found.values == range_inclusive(increments + 1, increments + finder_increments),
                     fmt::format("{}: got {}", where, found.values))) {
    return false;
  }
  std::optional<ActorHandle<DetachedActor>> mine = sys.get_actor<DetachedActor>(name);
  return checks.always("the driver finds the same detached actor", mine && mine->id() == created.detached.id(),
                       fmt::format("{}: expected {}, found {}", where, created.detached.id(), show(mine)));
}

// The driver and the Finder increment the detached actor at once, from `base`.
bool concurrent_increments(System& sys, Checks& checks, const std::string& name, ActorHandle<DetachedActor> actor,
                           ActorHandle<Finder> finder, int base) {
  Ref<FinderReply> theirs = finder.call(&Finder::find_and_increment, name, kConcurrentIncrements);
  std::vector<int> mine;
  for (int i = 0; i < kConcurrentIncrements; ++i) mine.push_back(sys.get(actor.call(&DetachedActor::increment)));
  const FinderReply found = sys.get(theirs);
  std::vector<int> all = mine;
  all.insert(all.end(), found.values.begin(), found.values.end());
  std::sort(all.begin(), all.end());
  const bool increasing = std::is_sorted(mine.begin(), mine.end()) &&
                          std::is_sorted(found.values.begin(), found.values.end());
  bool interleaved = !mine.empty() && !found.values.empty() && mine.front() < found.values.back() &&
                     found.values.front() < mine.back();
  checks.sometimes("the driver's and the finder's increments interleaved", interleaved);
  return checks.always("concurrent increments see every next value exactly once, each caller's increasing",
                       increasing && all == range_inclusive(base + 1, base + 2 * kConcurrentIncrements),
                       fmt::format("'{}': driver {}, finder {}", name, mine, found.values));
}

void detached_driver(System& sys, Checks& checks, bool detach) {
  auto finder = sys.spawn<Finder>({});
  // The seed's run: created, the owner shuts down, the driver finds it and counts 1, 2, 3.
  if (!owner_round(sys, checks, detach, "DetachedActor", 0, OwnerEnd::kExit, finder, 0)) return;
  std::optional<ActorHandle<DetachedActor>> seed_actor = sys.get_actor<DetachedActor>("DetachedActor");
  if (!seed_actor) return;  // owner_round checked it
  std::vector<int> values;
  for (int i = 0; i < 3; ++i) values.push_back(sys.get(seed_actor->call(&DetachedActor::increment)));
  const std::vector<int> expected = {1, 2, 3};
  if (!checks.always("the seed's found DetachedActor counts 1, 2, 3", values == expected,
                     fmt::format("got {}, expected {}", values, expected))) {
    return;
  }
  sys.kill(*seed_actor);

  for (int round = 0; keep_working(sys, checks, round); ++round) {
    if (round > 0) troupe::sleep(std::chrono::milliseconds(50 + troupe::random() % 100));
    const std::string name = fmt::format("DetachedActor.{}", round);
    const int increments = 1 + static_cast<int>(troupe::random() % 5);
    const auto end = static_cast<OwnerEnd>(troupe::random() % 3);
    if (!owner_round(sys, checks, detach, name, increments, end, finder, kFinderIncrements)) return;
    std::optional<ActorHandle<DetachedActor>> actor = sys.get_actor<DetachedActor>(name);
    if (!actor) return;  // owner_round checked it
    if (!concurrent_increments(sys, checks, name, *actor, finder, increments + kFinderIncrements)) return;
    sys.kill(*actor);  // a detached actor is never collected: free its CPU
  }
}

}  // namespace

void register_detached_actors(Registry& registry) {
  registry.add({.name = "detached_actors",
                .summary = "the seed's DetachedActor outlives its owner (exit, kill, crash) and counts on; owned actors die",
                .driver = [](System& sys, Checks& checks) { detached_driver(sys, checks, true); },
                .buggify_sites = {std::string(kOwnerLingerSite)},
                .tolerates = kDelayFaults});
  registry.add({.name = "detached_actors.bug_not_detached",
                .summary = "the owner creates DetachedActor without lifetime detached: it dies with its owner",
                .expect_fail = true,
                .driver = [](System& sys, Checks& checks) { detached_driver(sys, checks, false); },
                .buggify_sites = {std::string(kOwnerLingerSite)},
                .tolerates = kDelayFaults});
}

}  // namespace troupe::scenarios
