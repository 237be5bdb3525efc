// lifecycle: the seed's LifecycleActor (Ray actors guide, "Actor 生命周期钩子") and ResourceActor
// ("销毁 Actor"). Checks exact values: repr() is "Actor state: initialized" after the constructor
// and "Actor state: working" after work(); calls submitted together see the transitions in order;
// after kill, a call that was running and a call made later both fail with ActorDiedError whose
// cause names the kill, while calls answered before the kill keep their results. The driver
// repeats this with fresh actors until its fault window has passed.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "runtime/troupe.h"
#include "scenarios/scenario.h"

namespace troupe::scenarios {
namespace {

class LifecycleActor {
 public:
  LifecycleActor() : state_("initialized") {}
  std::string repr() const { return fmt::format("Actor state: {}", state_); }
  std::string work() {
    state_ = "working";
    return state_;
  }

 private:
  std::string state_;
};
TROUPE_ACTOR(LifecycleActor, &LifecycleActor::repr, &LifecycleActor::work);

class ResourceActor {
 public:
  std::string work() { return "working"; }
  // Works for `ms` simulated milliseconds.
  std::string work_for(int64_t ms) {
    troupe::sleep(std::chrono::milliseconds(ms));
    return "worked";
  }
};
TROUPE_ACTOR(ResourceActor, &ResourceActor::work, &ResourceActor::work_for);

// The cause of the ActorDiedError that getting `ref` throws, or nullopt if it returns a value.
std::optional<std::string> death_cause(System& sys, const Ref<std::string>& ref) {
  try {
    (void)sys.get(ref);
    return std::nullopt;
  } catch (const ActorDiedError& e) {
    return e.cause();
  }
}

void expect_text(Checks& checks, std::string_view name, const std::string& got, const std::string& expected) {
  checks.always(name, got == expected, fmt::format("got \"{}\", expected \"{}\"", got, expected));
}

void expect_killed(Checks& checks, std::string_view name, const std::optional<std::string>& cause) {
  checks.always(name, cause.has_value() && cause->find("kill") != std::string::npos,
                cause ? fmt::format("the cause was \"{}\"", *cause) : "the call returned a value");
}

void lifecycle_round(System& sys, Checks& checks) {
  // The seed's hooks: the constructor sets the state, work() changes it, repr() shows it.
  auto actor = sys.spawn<LifecycleActor>({});
  expect_text(checks, "repr after the constructor", sys.get(actor.call(&LifecycleActor::repr)),
              "Actor state: initialized");
  expect_text(checks, "work returns the new state", sys.get(actor.call(&LifecycleActor::work)), "working");
  expect_text(checks, "repr after work", sys.get(actor.call(&LifecycleActor::repr)), "Actor state: working");

  // A fresh actor, with the three calls in flight together: they still see the transitions in
  // submission order.
  auto fresh = sys.spawn<LifecycleActor>({});
  std::vector<Ref<std::string>> refs = {fresh.call(&LifecycleActor::repr), fresh.call(&LifecycleActor::work),
                                        fresh.call(&LifecycleActor::repr)};
  std::vector<std::string> seen = sys.get(refs);
  checks.always("pipelined calls see the transitions in order",
                seen == std::vector<std::string>{"Actor state: initialized", "working", "Actor state: working"},
                fmt::format("got \"{}\", \"{}\", \"{}\"", seen[0], seen[1], seen[2]));

  // The seed's ResourceActor: work, then kill. A call running at the kill and a call made after
  // it fail with ActorDiedError naming the kill.
  auto resource = sys.spawn<ResourceActor>({});
  Ref<std::string> before = resource.call(&ResourceActor::work);
  expect_text(checks, "work before the kill", sys.get(before), "working");
  Ref<std::string> running = resource.call(&ResourceActor::work_for, int64_t{50});
  troupe::sleep(std::chrono::milliseconds(troupe::random() % 5 + 1));
  sys.kill(resource);
  expect_killed(checks, "a call running at the kill fails with ActorDiedError", death_cause(sys, running));
  expect_killed(checks, "a call after the kill fails with ActorDiedError",
                death_cause(sys, resource.call(&ResourceActor::work)));
  expect_text(checks, "a result got before the kill stays readable", sys.get(before), "working");

  // Killing one actor leaves the others alive, with their state.
  expect_text(checks, "other actors survive the kill", sys.get(actor.call(&LifecycleActor::repr)),
              "Actor state: working");
  sys.kill(actor);
  expect_killed(checks, "a killed LifecycleActor fails later calls", death_cause(sys, actor.call(&LifecycleActor::work)));
}

// Rounds with fresh actors and a pause between them, until the fault window has passed.
void lifecycle_driver(System& sys, Checks& checks) {
  for (int round = 0; keep_working(sys, checks, round); ++round) {
    if (round > 0) troupe::sleep(std::chrono::milliseconds(150 + troupe::random() % 200));
    lifecycle_round(sys, checks);
  }
}

}  // namespace

void register_lifecycle(Registry& registry) {
  registry.add({.name = "lifecycle",
                .summary = "the seed's LifecycleActor and ResourceActor: repr transitions, kill fails calls",
                .driver = lifecycle_driver,
                .tolerates = kDelayFaults});
}

}  // namespace troupe::scenarios
