// Ref<T>: a future for a value that an actor call (or put) produces.
//
// A Ref is a small, copyable, serializable id: pass it to other actors, store it, return it from
// methods. The value lives with its owner (the process that made the call or the put); anyone
// holding the Ref can `get` it. Passing a Ref<T> where a method takes a T makes the runtime
// resolve it before the method runs (Ray's rule for top-level arguments); a method taking a
// Ref<T> receives the Ref itself.
//
// Lifetime: the owner frees a value once every copy of its Ref in the owner process is gone and
// the Ref never left the process (was never sent to an actor). A Ref that was sent keeps its
// value for the owner's lifetime (distributed reference counting comes later).
// REQUIRES: a Ref is copied and destroyed by code of the process that holds it.
//
//   troupe::Ref<int> r = counter.call(&Counter::increment);
//   int v = sys.get(r);
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "msgpack.hpp"
#include "runtime/ids.h"

namespace troupe {

namespace detail {
// Shared by the copies of one owned Ref; tells the owner when the last copy is gone.
class RefToken {
 public:
  virtual ~RefToken() = default;
  // The Ref left the process (it was encoded): its value must outlive the copies here.
  // Atomic: a threaded actor's methods may encode copies of one Ref on several threads at once.
  void mark_escaped() { escaped_.store(true, std::memory_order_relaxed); }
  bool escaped() const { return escaped_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> escaped_{false};
};
}  // namespace detail

template <typename T>
class Ref {
 public:
  using value_type = T;
  Ref() = default;
  explicit Ref(ObjectId id, std::shared_ptr<detail::RefToken> token = nullptr)
      : packed_(id.packed()), token_(std::move(token)) {}

  ObjectId id() const { return ObjectId::unpack(packed_); }
  bool valid() const { return packed_ != 0; }
  friend bool operator==(const Ref& a, const Ref& b) { return a.packed_ == b.packed_; }

  // Called whenever the Ref is encoded for another process.
  void mark_escaped() const {
    if (token_) token_->mark_escaped();
  }

  // msgpack: an array of one packed ObjectId (the token stays behind).
  template <typename Packer>
  void msgpack_pack(Packer& packer) const {
    mark_escaped();
    packer.pack_array(1);
    packer.pack(packed_);
  }
  void msgpack_unpack(const msgpack::object& object) {
    if (object.type != msgpack::type::ARRAY || object.via.array.size != 1) throw msgpack::type_error();
    packed_ = object.via.array.ptr[0].as<uint64_t>();
    token_.reset();
  }
  template <typename MsgpackObject>
  void msgpack_object(MsgpackObject* object, msgpack::zone& zone) const {
    mark_escaped();
    object->type = msgpack::type::ARRAY;
    object->via.array.size = 1;
    object->via.array.ptr = static_cast<msgpack::object*>(zone.allocate_align(sizeof(msgpack::object)));
    object->via.array.ptr[0] = msgpack::object(packed_);
  }

 private:
  uint64_t packed_ = 0;
  std::shared_ptr<detail::RefToken> token_;
};

template <typename T> struct is_ref : std::false_type {};
template <typename T> struct is_ref<Ref<T>> : std::true_type {};
template <typename T> inline constexpr bool is_ref_v = is_ref<std::remove_cvref_t<T>>::value;

}  // namespace troupe
