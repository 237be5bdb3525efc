// System: what a driver (or an actor, through this_actor::system()) does with the cluster —
// spawn actors, get and wait for results, put values, find named actors, kill actors.
//
//   void driver(troupe::System& sys) {
//     auto counter = sys.spawn<Counter>({.name = "c"}, 0);
//     troupe::Ref<int> r = counter.call(&Counter::increment);
//     fmt::print("{}\n", sys.get(r));                           // 1
//     auto again = sys.get_actor<Counter>("c");                  // std::optional<ActorHandle>
//     sys.kill(counter);
//   }
//
// Every method may block the calling fiber (never the platform thread). Errors are typed
// exceptions (runtime/errors.h) thrown here, at the caller.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "runtime/actor_handle.h"
#include "runtime/actor_options.h"
#include "runtime/detail/runtime_api.h"
#include "runtime/errors.h"
#include "runtime/ref.h"
#include "runtime/wire/codec.h"

namespace troupe {

// The result of System::wait: both lists keep the order of the input.
template <typename T>
struct WaitResult {
  std::vector<Ref<T>> ready;
  std::vector<Ref<T>> not_ready;
};

namespace detail {
// Throws the typed exception for an error payload; `what` names the object for messages.
[[noreturn]] void throw_object_error(const wire::ObjectPayload& payload, ObjectId id);
[[noreturn]] void throw_get_timeout(ObjectId id, std::chrono::nanoseconds timeout);
Nanos deadline_after(std::chrono::nanoseconds timeout);

template <typename T>
T value_from(const wire::ObjectPayload& payload, ObjectId id) {
  if (payload.status != 0) throw_object_error(payload, id);
  if constexpr (std::is_void_v<T>) {
    return;
  } else {
    absl::StatusOr<T> value = wire::decode<T>(payload.bytes, "the result");
    if (!value.ok()) throw Error(std::string(value.status().message()));
    return std::move(*value);
  }
}
}  // namespace detail

class System {
 public:
  explicit System(detail::Runtime& runtime) : runtime_(runtime) {}
  System(const System&) = delete;
  System& operator=(const System&) = delete;

  // Creates an actor of class T (registered with TROUPE_ACTOR) with constructor arguments `args`.
  // Returns at once for an anonymous actor; for a named one, after the name is registered.
  // Throws ActorNameTakenError when the name is in use (unless get_if_exists).
  template <typename T, typename... A>
  ActorHandle<T> spawn(const ActorOptions& options, A&&... args) {
    using Key = detail::ConstructorRegistration<T, detail::wire_t<A>...>;
    (void)Key::registered;
    static_assert(std::is_constructible_v<T, detail::wire_t<A>...>,
                  "troupe: the actor class has no constructor taking these arguments");
    wire::ActorSpec spec;
    spec.class_name = detail::class_info<T>().name;
    spec.ctor_key = detail::constructor_key<T, detail::wire_t<A>...>();
    spec.ctor_args = detail::pack_args<std::tuple<detail::wire_t<A>...>>(std::forward<A>(args)...);
    fill_spec(spec, options, detail::class_info<T>());
    return ActorHandle<T>(runtime_.create_actor(std::move(spec)));
  }
  template <typename T>
  ActorHandle<T> spawn() {
    return spawn<T>(ActorOptions{});
  }

  // The value of `ref`, waiting as long as it takes. Throws the call's error.
  template <typename T>
  T get(const Ref<T>& ref) {
    std::optional<wire::ObjectPayload> payload = runtime_.get_object(ref.id(), std::nullopt);
    return detail::value_from<T>(*payload, ref.id());
  }

  // The value of `ref`, or GetTimeoutError after `timeout` (the call itself goes on).
  template <typename T>
  T get(const Ref<T>& ref, std::chrono::nanoseconds timeout) {
    std::optional<wire::ObjectPayload> payload = runtime_.get_object(ref.id(), detail::deadline_after(timeout));
    if (!payload) detail::throw_get_timeout(ref.id(), timeout);
    return detail::value_from<T>(*payload, ref.id());
  }

  // The values of `refs`, in order (Ray's ray.get(list)). Throws the first error met.
  template <typename T>
  std::vector<T> get(const std::vector<Ref<T>>& refs) {
    std::vector<T> values;
    values.reserve(refs.size());
    for (const Ref<T>& ref : refs) values.push_back(get(ref));
    return values;
  }

  // Waits until `num_returns` of `refs` are ready, or `timeout` passes. `ready` holds at most
  // num_returns refs; both lists keep input order. REQUIRES: num_returns <= refs.size().
  template <typename T>
  WaitResult<T> wait(const std::vector<Ref<T>>& refs, size_t num_returns = 1,
                     std::optional<std::chrono::nanoseconds> timeout = std::nullopt) {
    if (num_returns > refs.size()) throw std::invalid_argument("wait: num_returns exceeds the number of refs");
    std::vector<ObjectId> ids;
    ids.reserve(refs.size());
    for (const Ref<T>& ref : refs) ids.push_back(ref.id());
    std::optional<Nanos> deadline;
    if (timeout) deadline = detail::deadline_after(*timeout);
    std::vector<bool> is_ready = runtime_.wait_objects(ids, num_returns, deadline);
    WaitResult<T> result;
    for (size_t i = 0; i < refs.size(); ++i) {
      if (is_ready[i] && result.ready.size() < num_returns) {
        result.ready.push_back(refs[i]);
      } else {
        result.not_ready.push_back(refs[i]);
      }
    }
    return result;
  }

  // Stores `value` in the cluster; the Ref can be passed to actors. Owned by this process.
  template <typename T>
  Ref<std::remove_cvref_t<T>> put(T&& value) {
    using V = std::remove_cvref_t<T>;
    require_serializable<V>();
    ObjectId id = runtime_.put_object(wire::encode(value));
    return Ref<V>(id, runtime_.ref_token(id));
  }

  // The live actor named `name` in namespace `ns` (default namespace when empty), if any.
  // Throws Error when it exists but is of another class.
  template <typename T>
  std::optional<ActorHandle<T>> get_actor(const std::string& name, const std::string& ns = "") {
    std::optional<detail::NamedActor> found = runtime_.lookup_actor(name, ns);
    if (!found) return std::nullopt;
    if (found->class_name != detail::class_info<T>().name) {
      throw Error("get_actor: '" + name + "' is a " + found->class_name + ", not a " + detail::class_info<T>().name);
    }
    return ActorHandle<T>(found->id);
  }

  // Kills the actor: its current, queued and future calls fail with ActorDiedError.
  template <typename T>
  void kill(const ActorHandle<T>& actor, KillOptions options = {}) {
    runtime_.kill_actor(actor.id(), options.no_restart);
  }

  // Placement groups (runtime/scheduling.h). create_placement_group returns at once; the
  // directory reserves all bundles or none, when they fit. Throws std::invalid_argument for a
  // group without bundles or a bundle with invalid amounts (gpus: as num_gpus).
  PlacementGroupHandle create_placement_group(const PlacementGroupOptions& options);
  // Waits until `pg` is reserved: true; false when `timeout` passed first (an infeasible group
  // never becomes ready: placement_group_info says why). Throws Error when it was removed.
  bool placement_group_ready(const PlacementGroupHandle& pg,
                             std::optional<std::chrono::nanoseconds> timeout = std::nullopt);
  // Frees the group's reservation; the actors placed in it (or waiting for it) are killed.
  void remove_placement_group(const PlacementGroupHandle& pg);
  // The group's state, pending reason and bundle nodes. Throws Error for an unknown group.
  PlacementGroupInfo placement_group_info(const PlacementGroupHandle& pg);

  // What the directory knows of the actor: state, node, GPUs, restarts, why it is pending or
  // dead (Ray's `ray list actors`). Throws Error for an actor the directory does not know.
  template <typename T>
  ActorInfo actor_info(const ActorHandle<T>& actor) {
    return actor_info(actor.id());
  }
  ActorInfo actor_info(ActorId actor);

  Platform& platform() { return runtime_.platform(); }

  // How many objects this process holds: results and puts it owns whose Refs are still alive
  // (or were sent to other processes), and values it fetched from other owners.
  size_t objects_held() const { return runtime_.object_count(); }

 private:
  // Validates `options` (std::invalid_argument naming the field) and copies them into `spec`.
  static void fill_spec(wire::ActorSpec& spec, const ActorOptions& options, const detail::ClassInfo& info);
  static void fill_runtime_env(wire::ActorSpec& spec, const RuntimeEnv& env);
  static void fill_scheduling(wire::ActorSpec& spec, const SchedulingStrategy& scheduling);
  detail::Runtime& runtime_;
};

}  // namespace troupe
