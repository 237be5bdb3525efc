// named_actors: the seed's NamedActor (Ray actors guide, "命名 Actor") and BaseActor ("动态选项"):
// actors registered under a name in a namespace, found with get_actor, created once with
// get_if_exists.
//
// Checks, with exact values:
//   * the seed's runs: NamedActor("Alice") named "my_named_actor" (detached) is found by
//     get_actor and greets "Hello from Alice"; BaseActor spawned twice with num_cpus 2, name
//     "my_actor", lifetime detached and get_if_exists is the same actor both times and answers
//     "working";
//   * a second spawn of a taken name fails with ActorNameTakenError("the actor name
//     'my_named_actor' is taken in namespace 'default' by <id> (NamedActor)"); the same name in
//     another namespace is another actor, and get_actor finds each in its own namespace only;
//   * kill frees the name: the killer's own get_actor finds nothing right after kill (its messages
//     to the directory arrive in order), calls fail with ActorDiedError naming the kill, and a new
//     actor can take the name;
//   * rounds of concurrent clients: three client actors get-or-create the round's name at once
//     (spawn with get_if_exists); all get the same actor, which greets with the greeting of one of
//     them (the one whose spawn created it), and get_actor in the driver names that same actor.
// The driver works in rounds (a fresh name per round, alternating namespaces) until the fault
// window has passed. Every actor restarts and retries forever (the seed's have no restarts; here a
// name must outlive a crash), so the scenario tolerates every fault kind: a crashed, partitioned or
// falsely suspected named actor restarts under the same id, and get_actor keeps naming it; the
// directory is never a crash target, and its messages are delayed by faults, never lost.
//
// named_actors.bug_hand_rolled_get_or_create: the clients get-or-create by hand (get_actor, and
// spawn when it found nothing), the race get_if_exists exists to avoid: two clients both find
// nothing, both spawn, and one of them fails with ActorNameTakenError.
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/troupe.h"
#include "scenarios/scenario.h"

namespace troupe::scenarios {
namespace {

constexpr int kClients = 3;
constexpr std::string_view kClientPauseSite = "named_actors.client.pause_before_lookup";

// Names must outlive crashes: every actor here restarts and retries forever (a restart keeps the
// actor's id, so its name keeps naming it; state comes back from the constructor's arguments).
constexpr int kForever = -1;

class NamedActor {
 public:
  explicit NamedActor(std::string name) : name_(std::move(name)) {}
  std::string greet() const { return fmt::format("Hello from {}", name_); }

 private:
  std::string name_;
};
TROUPE_ACTOR(NamedActor, &NamedActor::greet);

class BaseActor {
 public:
  std::string work() { return "working"; }
};
TROUPE_ACTOR(BaseActor, &BaseActor::work);

// What a client found or created: the actor's id and its greeting.
struct Found {
  uint64_t actor = 0;  // ActorId::packed()
  std::string greeting;
  MSGPACK_DEFINE(actor, greeting);
};

class Client {
 public:
  Client(int id, bool hand_rolled) : id_(id), hand_rolled_(hand_rolled) {}
  // Gets the actor named `name` in `ns`, creating it (detached, greeting as "client<id>") if
  // there is none; returns it and its greeting.
  Found get_or_create(std::string name, std::string ns) {
    System& sys = this_actor::system();
    if (buggify(kClientPauseSite)) troupe::sleep(std::chrono::microseconds(troupe::random() % 200));
    const ActorOptions options{.max_restarts = kForever,
                               .max_task_retries = kForever,
                               .name = name,
                               .ns = ns,
                               .lifetime = Lifetime::kDetached,
                               .get_if_exists = !hand_rolled_};
    ActorHandle<NamedActor> actor;
    if (hand_rolled_) {
      std::optional<ActorHandle<NamedActor>> found = sys.get_actor<NamedActor>(name, ns);
      // BUG: another client may create it between this lookup and the spawn.
      actor = found ? *found : sys.spawn<NamedActor>(options, fmt::format("client{}", id_));
    } else {
      actor = sys.spawn<NamedActor>(options, fmt::format("client{}", id_));
    }
    return Found{.actor = actor.id().packed(), .greeting = sys.get(actor.call(&NamedActor::greet))};
  }

 private:
  int id_;
  bool hand_rolled_;
};
TROUPE_ACTOR(Client, &Client::get_or_create);

std::string show(const std::optional<ActorHandle<NamedActor>>& found) {
  return found ? fmt::format("{}", found->id()) : "nothing";
}

// Calls greet on a killed actor: the cause of the ActorDiedError, or what came back instead.
std::string death_of(System& sys, const ActorHandle<NamedActor>& actor) {
  try {
    return fmt::format("returned \"{}\"", sys.get(actor.call(&NamedActor::greet)));
  } catch (const ActorDiedError& e) {
    return e.cause();
  }
}

// The seed's NamedActor and BaseActor runs, name conflicts, namespaces, and kill freeing a name.
bool seed_runs(System& sys, Checks& checks) {
  auto actor = sys.spawn<NamedActor>({.max_restarts = kForever,
                                      .max_task_retries = kForever,
                                      .name = "my_named_actor",
                                      .lifetime = Lifetime::kDetached},
                                     std::string("Alice"));
  std::optional<ActorHandle<NamedActor>> retrieved = sys.get_actor<NamedActor>("my_named_actor");
  if (!checks.always("get_actor finds the named actor", retrieved && retrieved->id() == actor.id(),
                     fmt::format("expected {}, found {}", actor.id(), show(retrieved)))) {
    return false;
  }
  const std::string greeting = sys.get(retrieved->call(&NamedActor::greet));
  if (!checks.always("the seed's greet() is \"Hello from Alice\"", greeting == "Hello from Alice",
                     fmt::format("got \"{}\"", greeting))) {
    return false;
  }

  const ActorOptions base_options{.num_cpus = 2,
                                  .max_restarts = kForever,
                                  .max_task_retries = kForever,
                                  .name = "my_actor",
                                  .lifetime = Lifetime::kDetached,
                                  .get_if_exists = true};
  auto base = sys.spawn<BaseActor>(base_options);
  auto again = sys.spawn<BaseActor>(base_options);
  const std::string work = sys.get(again.call(&BaseActor::work));
  if (!checks.always("get_if_exists returns the same BaseActor", again.id() == base.id(),
                     fmt::format("first {}, second {}", base.id(), again.id())) ||
      !checks.always("the seed's work() is \"working\"", work == "working", fmt::format("got \"{}\"", work))) {
    return false;
  }
  sys.kill(base);

  // A taken name.
  std::string conflict = "no error";
  try {
    (void)sys.spawn<NamedActor>({.name = "my_named_actor"}, std::string("Bob"));
  } catch (const ActorNameTakenError& e) {
    conflict = e.what();
  }
  const std::string expected_conflict = fmt::format(
      "the actor name 'my_named_actor' is taken in namespace 'default' by {} (NamedActor)", actor.id());
  if (!checks.always("a taken name fails with ActorNameTakenError", conflict == expected_conflict,
                     fmt::format("got \"{}\", expected \"{}\"", conflict, expected_conflict))) {
    return false;
  }

  // Kill frees the name; the killer's next lookup already sees it.
  sys.kill(actor);
  std::optional<ActorHandle<NamedActor>> after_kill = sys.get_actor<NamedActor>("my_named_actor");
  const std::string cause = death_of(sys, actor);
  const std::string expected_cause = fmt::format("{} was killed by kill()", actor.id());
  if (!checks.always("the killer's get_actor finds nothing after kill", !after_kill.has_value(), show(after_kill)) ||
      !checks.always("a call to a killed actor fails naming the kill", cause == expected_cause,
                     fmt::format("got \"{}\", expected \"{}\"", cause, expected_cause))) {
    return false;
  }
  auto reborn = sys.spawn<NamedActor>({.max_restarts = kForever,
                                       .max_task_retries = kForever,
                                       .name = "my_named_actor",
                                       .lifetime = Lifetime::kDetached},
                                      std::string("Bob"));
  std::optional<ActorHandle<NamedActor>> found = sys.get_actor<NamedActor>("my_named_actor");
  const std::string reborn_greeting = sys.get(reborn.call(&NamedActor::greet));
  const bool ok = checks.always("a freed name can be taken again",
                                reborn.id() != actor.id() && found && found->id() == reborn.id() &&
                                    reborn_greeting == "Hello from Bob",
                                fmt::format("old {}, new {}, get_actor {}, greet \"{}\"", actor.id(), reborn.id(),
                                            show(found), reborn_greeting));
  sys.kill(reborn);
  return ok;
}

// One round: the clients get-or-create `name` in `ns` at once; then the driver checks the name
// maps to that one actor in `ns` only, and kills it.
bool clients_round(System& sys, Checks& checks, const std::vector<ActorHandle<Client>>& clients,
                   const std::string& name, const std::string& ns, const std::string& other_ns) {
  // Asked in a rotated order, so that any client may be the first to reach the directory.
  std::vector<Ref<Found>> asks(clients.size());
  const size_t first = troupe::random() % clients.size();
  for (size_t i = 0; i < clients.size(); ++i) {
    const size_t c = (first + i) % clients.size();
    asks[c] = clients[c].call(&Client::get_or_create, name, ns);
  }
  std::vector<Found> found;
  for (size_t c = 0; c < asks.size(); ++c) {
    try {
      found.push_back(sys.get(asks[c]));
    } catch (const TaskError& e) {
      // The name-taken error is the planted race itself; its text names object and actor ids,
      // which shift whenever a fault adds or removes a restart, so the message gives only what
      // the failure is (troupe shrink needs the same message from a run with fewer faults).
      const std::string what = e.type_name() == "troupe::ActorNameTakenError"
                                   ? "its spawn threw troupe::ActorNameTakenError: another client took the name "
                                     "between its get_actor and its spawn"
                                   : e.what();
      checks.always("every client gets the one actor of the name", false,
                    fmt::format("client {} for '{}' in '{}': {}", c, name, ns, what));
      return false;
    }
  }
  std::set<uint64_t> ids;
  std::set<std::string> greetings;
  for (const Found& f : found) {
    ids.insert(f.actor);
    greetings.insert(f.greeting);
  }
  const ActorId id = ActorId::unpack(found[0].actor);
  const std::string& greeting = found[0].greeting;
  bool from_a_client = false;
  for (int c = 0; c < kClients; ++c) from_a_client = from_a_client || greeting == fmt::format("Hello from client{}", c);
  if (!checks.always("every client gets the one actor of the name", ids.size() == 1,
                     fmt::format("'{}' in '{}': {} different actors", name, ns, ids.size())) ||
      !checks.always("the actor greets as the client that created it", greetings.size() == 1 && from_a_client,
                     fmt::format("'{}' in '{}': greetings {}", name, ns, fmt::join(greetings, ", ")))) {
    return false;
  }
  checks.sometimes("the get-or-create race was won by a client other than the first",
                   greeting != "Hello from client0");
  std::optional<ActorHandle<NamedActor>> mine = sys.get_actor<NamedActor>(name, ns);
  std::optional<ActorHandle<NamedActor>> other = sys.get_actor<NamedActor>(name, other_ns);
  if (!checks.always("get_actor names the clients' actor", mine && mine->id() == id,
                     fmt::format("'{}' in '{}': expected {}, found {}", name, ns, id, show(mine))) ||
      !checks.always("a name is not found in another namespace", !other.has_value(),
                     fmt::format("'{}' in '{}': found {}", name, other_ns, show(other)))) {
    return false;
  }
  // The same name in the other namespace is another actor.
  auto twin = sys.spawn<NamedActor>({.max_restarts = kForever, .max_task_retries = kForever, .name = name, .ns = other_ns},
                                    std::string("twin"));
  std::optional<ActorHandle<NamedActor>> twin_found = sys.get_actor<NamedActor>(name, other_ns);
  const std::string twin_greeting = sys.get(twin.call(&NamedActor::greet));
  if (!checks.always("the same name in another namespace is another actor",
                     twin.id() != id && twin_found && twin_found->id() == twin.id() &&
                         twin_greeting == "Hello from twin",
                     fmt::format("'{}': {} in '{}', {} in '{}' (get_actor {}), greet \"{}\"", name, id, ns, twin.id(),
                                 other_ns, show(twin_found), twin_greeting))) {
    return false;
  }
  const ActorInfo info = sys.actor_info(ActorHandle<NamedActor>(id));
  if (!checks.always("a named actor lives until it is killed", info.state != ActorInfo::State::kDead,
                     fmt::format("'{}' in '{}': {} is dead: {}", name, ns, id, info.death_cause))) {
    return false;
  }
  checks.sometimes("a named actor restarted and its name still named it", info.restarts > 0);
  sys.kill(ActorHandle<NamedActor>(id));
  sys.kill(twin);
  std::optional<ActorHandle<NamedActor>> gone = sys.get_actor<NamedActor>(name, ns);
  return checks.always("the killer's get_actor finds nothing after kill", !gone.has_value(),
                       fmt::format("'{}' in '{}': found {}", name, ns, show(gone)));
}

void named_driver(System& sys, Checks& checks, bool hand_rolled) {
  if (!seed_runs(sys, checks)) return;
  std::vector<ActorHandle<Client>> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.push_back(sys.spawn<Client>({.max_restarts = kForever, .max_task_retries = kForever}, c, hand_rolled));
  }
  for (int round = 0; keep_working(sys, checks, round); ++round) {
    if (round > 0) troupe::sleep(std::chrono::milliseconds(50 + troupe::random() % 100));
    const std::string ns = round % 2 == 0 ? "" : "team";
    const std::string other_ns = round % 2 == 0 ? "team" : "";
    if (!clients_round(sys, checks, clients, fmt::format("service.{}", round), ns, other_ns)) return;
  }
}

}  // namespace

void register_named_actors(Registry& registry) {
  registry.add({.name = "named_actors",
                .summary = "the seed's NamedActor and BaseActor: get_actor, get_if_exists, name conflicts, kill frees, namespaces",
                .driver = [](System& sys, Checks& checks) { named_driver(sys, checks, false); },
                .buggify_sites = {std::string(kClientPauseSite)}});
  registry.add({.name = "named_actors.bug_hand_rolled_get_or_create",
                .summary = "clients get-or-create by hand (get_actor, then spawn): two both spawn and one fails",
                .expect_fail = true,
                .driver = [](System& sys, Checks& checks) { named_driver(sys, checks, true); },
                .buggify_sites = {std::string(kClientPauseSite)}});
}

}  // namespace troupe::scenarios
