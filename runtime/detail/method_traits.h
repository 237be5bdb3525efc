// Compile-time facts about member functions: class, return type, decayed parameter types.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>

namespace troupe::detail {

template <typename M> struct MethodTraits;

#define TROUPE_DETAIL_METHOD_TRAITS(QUALIFIERS)                                 \
  template <typename C, typename R, typename... A>                              \
  struct MethodTraits<R (C::*)(A...) QUALIFIERS> {                              \
    using Class = C;                                                            \
    using Return = R;                                                           \
    using Params = std::tuple<std::remove_cvref_t<A>...>;                       \
    static constexpr size_t arity = sizeof...(A);                               \
  };
TROUPE_DETAIL_METHOD_TRAITS()
TROUPE_DETAIL_METHOD_TRAITS(const)
TROUPE_DETAIL_METHOD_TRAITS(noexcept)
TROUPE_DETAIL_METHOD_TRAITS(const noexcept)
TROUPE_DETAIL_METHOD_TRAITS(&)
TROUPE_DETAIL_METHOD_TRAITS(const&)
#undef TROUPE_DETAIL_METHOD_TRAITS

}  // namespace troupe::detail
