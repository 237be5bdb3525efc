// troupe::gather: wait for several results at once (asyncio.gather, ray.get(list)).
//
//   std::vector<std::string> replies = troupe::gather(refs);          // same order as refs
//   auto [a, b] = troupe::gather(left.call(&Node::sum), right.call(&Node::sum));
//
// Waits until every Ref is ready, then returns the values in input order, or throws the error of
// the first failed Ref in input order. Unlike System::get(std::vector), which stops at the first
// error it meets, gather never leaves calls it was given still running behind an exception. The
// fiber parks once for all of them, so an async actor's other calls run meanwhile.
//
// REQUIRES: called from a driver or an actor (a fiber of a Troupe platform).
#pragma once

#include <optional>
#include <tuple>
#include <type_traits>
#include <vector>

#include "runtime/detail/runtime_api.h"
#include "runtime/ref.h"
#include "runtime/system.h"

namespace troupe {

namespace detail {
// Parks until every object in `ids` is ready.
inline void wait_all(const std::vector<ObjectId>& ids) {
  if (!ids.empty()) current_runtime().wait_objects(ids, ids.size(), std::nullopt);
}
}  // namespace detail

template <typename T>
auto gather(const std::vector<Ref<T>>& refs) {
  System& sys = detail::current_runtime().system();
  std::vector<ObjectId> ids;
  ids.reserve(refs.size());
  for (const Ref<T>& ref : refs) ids.push_back(ref.id());
  detail::wait_all(ids);
  if constexpr (std::is_void_v<T>) {
    for (const Ref<T>& ref : refs) sys.get(ref);
  } else {
    return sys.get(refs);
  }
}

template <typename... T>
std::tuple<T...> gather(const Ref<T>&... refs) {
  static_assert(sizeof...(T) >= 1, "troupe::gather needs at least one Ref");
  static_assert((!std::is_void_v<T> && ...), "troupe::gather(a, b, ...) takes Refs with values; use the vector "
                                             "form for Ref<void>");
  System& sys = detail::current_runtime().system();
  detail::wait_all({refs.id()...});
  return std::tuple<T...>{sys.get(refs)...};  // braces: left to right, so the first error wins
}

}  // namespace troupe
