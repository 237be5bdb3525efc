// Ref<T>: a future for a value that an actor call (or put) produces.
//
// A Ref is a small, copyable, serializable id: pass it to other actors, store it, return it from
// methods. The value lives with its owner (the process that made the call or the put); anyone
// holding the Ref can `get` it. Passing a Ref<T> where a method takes a T makes the runtime
// resolve it before the method runs (Ray's rule for top-level arguments); a method taking a
// Ref<T> receives the Ref itself.
//
//   troupe::Ref<int> r = counter.call(&Counter::increment);
//   int v = sys.get(r);
#pragma once

#include <cstdint>
#include <type_traits>

#include "msgpack.hpp"
#include "runtime/ids.h"

namespace troupe {

template <typename T>
class Ref {
 public:
  using value_type = T;
  Ref() = default;
  explicit Ref(ObjectId id) : packed_(id.packed()) {}

  ObjectId id() const { return ObjectId::unpack(packed_); }
  bool valid() const { return packed_ != 0; }
  friend bool operator==(const Ref& a, const Ref& b) { return a.packed_ == b.packed_; }

  MSGPACK_DEFINE(packed_);

 private:
  uint64_t packed_ = 0;
};

template <typename T> struct is_ref : std::false_type {};
template <typename T> struct is_ref<Ref<T>> : std::true_type {};
template <typename T> inline constexpr bool is_ref_v = is_ref<std::remove_cvref_t<T>>::value;

}  // namespace troupe
