// Which types may cross a process boundary, and the compile-time error for those that may not.
//
// Every argument, return value and put() value is encoded with msgpack, also in simulation, so
// actors cannot share memory by accident. `troupe::Serializable<T>` accepts the types msgpack-cxx
// knows (arithmetic, enums, bool, std::string, containers, optionals, tuples and pairs of
// serializable types; not unordered containers, whose encoding would follow hash order and
// differ between runs), Troupe's own Ref and ActorHandle, and classes with MSGPACK_DEFINE. For a
// type with a hand-written msgpack adaptor, specialise `troupe::is_serializable<T>` as true.
//
// Enums need msgpack's adaptor too: write TROUPE_SERIALIZABLE_ENUM(my::Color) at global scope.
//
// Passing anything else fails to compile with:
//   "troupe: this type cannot be sent to an actor (add MSGPACK_DEFINE(...) to it, or
//    specialise troupe::is_serializable<T> for a custom msgpack adaptor)"
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "msgpack.hpp"

namespace troupe {

// Opt-in for types with a custom msgpack adaptor.
template <typename T>
struct is_serializable : std::false_type {};

namespace detail {

// MSGPACK_DEFINE(...) declares a non-template msgpack_unpack member.
template <typename T>
concept HasMsgpackDefine = requires { &T::msgpack_unpack; };

template <typename T> struct SerializableImpl;

}  // namespace detail

template <typename T>
concept Serializable = detail::SerializableImpl<std::remove_cvref_t<T>>::value;

namespace detail {

template <typename T>
struct SerializableImpl {
  static constexpr bool value = std::is_arithmetic_v<T> || is_serializable<T>::value ||
                                HasMsgpackDefine<T> || requires { typename T::troupe_wire_type; };
};
template <> struct SerializableImpl<std::string> : std::true_type {};
template <typename T, typename A> struct SerializableImpl<std::vector<T, A>> {
  static constexpr bool value = Serializable<T>;
};
template <typename T> struct SerializableImpl<std::deque<T>> { static constexpr bool value = Serializable<T>; };
template <typename T> struct SerializableImpl<std::list<T>> { static constexpr bool value = Serializable<T>; };
template <typename T, size_t N> struct SerializableImpl<std::array<T, N>> {
  static constexpr bool value = Serializable<T>;
};
template <typename T> struct SerializableImpl<std::optional<T>> { static constexpr bool value = Serializable<T>; };
template <typename T, typename C> struct SerializableImpl<std::set<T, C>> {
  static constexpr bool value = Serializable<T>;
};
template <typename K, typename V, typename C> struct SerializableImpl<std::map<K, V, C>> {
  static constexpr bool value = Serializable<K> && Serializable<V>;
};
template <typename A, typename B> struct SerializableImpl<std::pair<A, B>> {
  static constexpr bool value = Serializable<A> && Serializable<B>;
};
template <typename... Ts> struct SerializableImpl<std::tuple<Ts...>> {
  static constexpr bool value = (Serializable<Ts> && ...);
};

}  // namespace detail

// Fails compilation with the message above when T is not serializable. Use in templates.
template <typename T>
constexpr void require_serializable() {
  static_assert(Serializable<T>,
                "troupe: this type cannot be sent to an actor (add MSGPACK_DEFINE(...) to it; for an enum write "
                "TROUPE_SERIALIZABLE_ENUM(E) at global scope; or specialise troupe::is_serializable<T> for a custom "
                "msgpack adaptor)");
}

}  // namespace troupe

// Makes the enum `E` (fully qualified) sendable: msgpack's enum adaptor plus the opt-in above.
// Use at global scope.
#define TROUPE_SERIALIZABLE_ENUM(E) \
  MSGPACK_ADD_ENUM(E);              \
  template <>                       \
  struct troupe::is_serializable<E> : std::true_type {}
