// Packing call and constructor arguments, and turning exceptions into error payloads.
//
// Arguments travel as one msgpack array. Each argument is converted to the parameter's own type
// first (so "my_db" becomes a std::string and 3 becomes the int64_t a method takes), which fixes
// the bytes regardless of how the caller spelt it. A Ref<U> passed for a non-Ref parameter is
// packed as ext kRefArgExt and resolved by the receiving actor before the method runs.
#pragma once

#include <exception>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "runtime/ref.h"
#include "runtime/wire/codec.h"
#include "runtime/wire/messages.h"
#include "runtime/wire/serializable.h"

namespace troupe::detail {

// The type a constructor argument is sent as: strings for character pointers and arrays, the
// value type for a Ref (resolved before the constructor runs), the decayed type otherwise.
template <typename D>
struct WireType {
  using type = D;
};
template <> struct WireType<const char*> { using type = std::string; };
template <> struct WireType<char*> { using type = std::string; };
template <typename T> struct WireType<Ref<T>> { using type = T; };
template <typename A>
using wire_t = typename WireType<std::decay_t<A>>::type;

template <typename T> struct RefValue { using type = void; };
template <typename T> struct RefValue<Ref<T>> { using type = T; };

// Packs one argument `a` for a parameter of type P.
template <typename P, typename A>
void pack_arg(msgpack::packer<wire::StringWriter>& packer, A&& a) {
  using D = std::remove_cvref_t<A>;
  if constexpr (is_ref_v<D> && !is_ref_v<P>) {
    static_assert(std::is_convertible_v<typename RefValue<D>::type, P>,
                  "troupe: a Ref<U> passed for a parameter of type P needs U convertible to P");
    a.mark_escaped();
    uint64_t packed = a.id().packed();
    char data[8];
    for (int i = 0; i < 8; ++i) data[i] = static_cast<char>(packed >> (56 - 8 * i));
    packer.pack_ext(8, wire::kRefArgExt);
    packer.pack_ext_body(data, 8);
  } else {
    require_serializable<P>();
    static_assert(std::is_constructible_v<P, A&&>, "troupe: argument cannot be converted to the parameter's type");
    packer.pack(P(std::forward<A>(a)));
  }
}

// Packs `args` as an array for parameters `Params` (a std::tuple of parameter types).
template <typename Params, typename... A>
std::string pack_args(A&&... args) {
  static_assert(std::tuple_size_v<Params> == sizeof...(A), "troupe: wrong number of arguments for this method");
  wire::StringWriter writer;
  msgpack::packer<wire::StringWriter> packer(writer);
  packer.pack_array(sizeof...(A));
  [&]<size_t... I>(std::index_sequence<I...>) {
    (pack_arg<std::tuple_element_t<I, Params>>(packer, std::forward<A>(args)), ...);
  }(std::index_sequence_for<A...>{});
  return writer.take();
}

// The readable name of a C++ type from its typeid name ("std::out_of_range").
std::string demangle(const char* mangled);

// The payload for the exception in flight. Rethrows a fiber's forced unwind (never swallow it).
wire::ObjectPayload exception_payload(std::exception_ptr error);

// Encodes a method's result (nil for void).
template <typename R>
wire::ObjectPayload value_payload(const R& value) {
  return wire::ObjectPayload{.bytes = wire::encode(value)};
}
inline wire::ObjectPayload void_payload() { return wire::ObjectPayload{.bytes = wire::encode(msgpack::type::nil_t())}; }

}  // namespace troupe::detail
