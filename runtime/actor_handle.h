// ActorHandle<T>: a reference to an actor, for calling its methods.
//
// Handles are small, copyable and serializable: pass them to other actors as arguments (the
// seed's DataStore/DataProcessor pattern) or store them in actor state. A call returns at once
// with a Ref to the result; calls from one caller to a sequential actor run in the order they
// were made.
//
//   troupe::ActorHandle<Counter> counter = sys.spawn<Counter>({}, 0);
//   troupe::Ref<int> r = counter.call(&Counter::increment);
//   counter.with({.max_task_retries = 3}).call(&Counter::increment);
//
// REQUIRES: used from code running on a Troupe platform (a driver or an actor).
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include "msgpack.hpp"
#include "runtime/actor_class.h"
#include "runtime/actor_options.h"
#include "runtime/detail/runtime_api.h"
#include "runtime/ref.h"

namespace troupe {

template <typename T>
class ActorHandle;

// A handle with per-call options applied: `handle.with(options).call(...)`.
template <typename T>
class CallBuilder {
 public:
  CallBuilder(ActorId actor, CallOptions options) : actor_(actor), options_(options) {}

  template <typename M, typename... A>
  [[nodiscard("a dropped Ref loses the call's result and error")]] auto call(M method, A&&... args) const {
    using Traits = detail::MethodTraits<M>;
    static_assert(std::is_base_of_v<typename Traits::Class, T>, "troupe: this method does not belong to the actor's class");
    using R = std::remove_cvref_t<typename Traits::Return>;
    const detail::ClassInfo& info = detail::class_info<T>();
    uint32_t index = detail::method_index<T>(method);
    std::string packed = detail::pack_args<typename Traits::Params>(std::forward<A>(args)...);
    detail::Runtime& runtime = detail::current_runtime();
    ObjectId id = runtime.submit_call(actor_, index, info.methods[index].name, std::move(packed), options_);
    return Ref<R>(id, runtime.ref_token(id));
  }

 private:
  ActorId actor_;
  CallOptions options_;
};

template <typename T>
class ActorHandle {
 public:
  ActorHandle() = default;
  explicit ActorHandle(ActorId id) : packed_(id.packed()) {}

  ActorId id() const { return ActorId::unpack(packed_); }
  bool valid() const { return packed_ != 0; }
  friend bool operator==(const ActorHandle& a, const ActorHandle& b) { return a.packed_ == b.packed_; }

  // Calls `method` with `args`; returns a Ref to its result (Ref<void> for void methods).
  template <typename M, typename... A>
  [[nodiscard("a dropped Ref loses the call's result and error")]] auto call(M method, A&&... args) const {
    return CallBuilder<T>(id(), {}).call(method, std::forward<A>(args)...);
  }

  // The same handle with per-call options that override the actor's.
  CallBuilder<T> with(CallOptions options) const { return CallBuilder<T>(id(), options); }

  MSGPACK_DEFINE(packed_);

 private:
  uint64_t packed_ = 0;
};

}  // namespace troupe
