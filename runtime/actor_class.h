// TROUPE_ACTOR: making a plain C++ class an actor class, and the tables the runtime builds from it.
//
//   class Counter {
//    public:
//     explicit Counter(int start) : value_(start) {}
//     int increment() { return ++value_; }
//     int get_value() const { return value_; }
//     std::string repr() const { return fmt::format("Counter({})", value_); }  // optional
//    private:
//     int value_;
//   };
//   TROUPE_ACTOR(Counter, &Counter::increment, &Counter::get_value);
//
// Write TROUPE_ACTOR in the namespace of the class (it is found by argument-dependent lookup),
// after the class, listing every method callers may call. A method's index in the list is its
// wire identity, and its name (after the last "::") shows in traces and errors. Parameters and
// return values must be serializable (runtime/wire/serializable.h). An optional
// `std::string repr() const` (Ray's __repr__) is shown next to the actor's id in traces and
// errors.
//
// Constructors are registered when `spawn<T>(options, args...)` is compiled: the argument types
// chosen there name the constructor the worker process runs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <typeinfo>
#include <utility>
#include <vector>

#include "runtime/detail/args.h"
#include "runtime/detail/method_traits.h"
#include "runtime/wire/codec.h"
#include "runtime/wire/messages.h"

#define TROUPE_ACTOR(Class, ...)                                              \
  struct TroupeActorDefinition_##Class {                                      \
    using type = Class;                                                       \
    static constexpr std::string_view name = #Class;                          \
    static constexpr std::string_view method_list = #__VA_ARGS__;             \
    static constexpr auto methods = std::make_tuple(__VA_ARGS__);             \
  };                                                                          \
  [[maybe_unused]] inline TroupeActorDefinition_##Class troupe_actor_definition(Class*) { return {}; }

namespace troupe::detail {

template <typename T>
concept RegisteredActor = requires { troupe_actor_definition(static_cast<T*>(nullptr)); };

template <typename T>
concept HasRepr = requires(const T& t) {
  { t.repr() } -> std::convertible_to<std::string>;
};

template <typename T>
using Definition = decltype(troupe_actor_definition(static_cast<T*>(nullptr)));

// Invokes a method on an object, with its arguments as an unpacked msgpack array.
using MethodInvoker = wire::ObjectPayload (*)(void* self, const msgpack::object& args);

struct MethodEntry {
  std::string name;
  MethodInvoker invoke;
};

// What the runtime knows of an actor class, type-erased.
struct ClassInfo {
  std::string name;
  std::vector<MethodEntry> methods;
  void (*destroy)(void* self);
  std::string (*repr)(const void* self);  // nullptr when the class has none
};

[[noreturn]] void throw_unregistered_method(std::string_view class_name);

// Splits "&Counter::increment, &Counter::get_value" into {"increment", "get_value"}.
std::vector<std::string> method_names(std::string_view list);

template <typename T, size_t I>
wire::ObjectPayload invoke_method(void* self, const msgpack::object& args) {
  constexpr auto method = std::get<I>(Definition<T>::methods);
  using Traits = MethodTraits<std::remove_const_t<decltype(method)>>;
  typename Traits::Params params;
  if (absl::Status status = wire::convert(args, params, "the arguments"); !status.ok()) {
    return wire::ObjectPayload{.status = static_cast<uint8_t>(wire::ObjectStatus::kTaskError),
                               .error_type = "troupe::ArgumentError",
                               .error_message = std::string(status.message())};
  }
  try {
    T& object = *static_cast<T*>(self);
    if constexpr (std::is_void_v<typename Traits::Return>) {
      std::apply([&](auto&&... a) { (object.*method)(std::move(a)...); }, std::move(params));
      return void_payload();
    } else {
      using R = std::remove_cvref_t<typename Traits::Return>;
      require_serializable<R>();
      return value_payload<R>(std::apply([&](auto&&... a) -> decltype(auto) { return (object.*method)(std::move(a)...); },
                                         std::move(params)));
    }
  } catch (...) {
    return exception_payload(std::current_exception());
  }
}

template <typename T>
const ClassInfo& class_info() {
  static_assert(RegisteredActor<T>,
                "troupe: this class is not an actor class; add TROUPE_ACTOR(Class, &Class::method, ...) after it, "
                "in its namespace");
  static const ClassInfo info = [] {
    using Def = Definition<T>;
    ClassInfo result;
    result.name = std::string(Def::name);
    std::vector<std::string> names = method_names(Def::method_list);
    constexpr size_t count = std::tuple_size_v<decltype(Def::methods)>;
    [&]<size_t... I>(std::index_sequence<I...>) {
      (result.methods.push_back(MethodEntry{names.at(I), &invoke_method<T, I>}), ...);
    }(std::make_index_sequence<count>{});
    result.destroy = [](void* self) { delete static_cast<T*>(self); };
    if constexpr (HasRepr<T>) {
      result.repr = [](const void* self) { return std::string(static_cast<const T*>(self)->repr()); };
    } else {
      result.repr = nullptr;
    }
    return result;
  }();
  return info;
}

// The index of `method` in T's TROUPE_ACTOR list. Throws std::invalid_argument if absent.
template <typename T, typename M>
uint32_t method_index(M method) {
  using Def = Definition<T>;
  constexpr size_t count = std::tuple_size_v<decltype(Def::methods)>;
  int64_t found = -1;
  [&]<size_t... I>(std::index_sequence<I...>) {
    ((found < 0 && [&] {
       using Listed = std::remove_const_t<std::tuple_element_t<I, std::remove_const_t<decltype(Def::methods)>>>;
       if constexpr (std::is_same_v<Listed, M>) {
         return std::get<I>(Def::methods) == method;
       } else {
         return false;
       }
     }() && (found = static_cast<int64_t>(I), true)),
     ...);
  }(std::make_index_sequence<count>{});
  if (found < 0) throw_unregistered_method(Def::name);
  return static_cast<uint32_t>(found);
}

// A registered constructor: builds the object from its unpacked argument array, or throws what
// the constructor threw (or std::invalid_argument for undecodable arguments).
struct Constructor {
  const ClassInfo* info;
  void* (*construct)(const msgpack::object& args);
};

// Registers `ctor` under `key`; returns true. Called during static initialisation only.
bool register_constructor(std::string key, Constructor ctor);
// The constructor registered under `key`, or nullptr.
const Constructor* find_constructor(std::string_view key);

// The class's mangled name (unique in the program, so two classes named Counter in different
// namespaces get different keys, and identical under g++ and clang++, which share the Itanium
// ABI) and the argument types.
template <typename T, typename... P>
std::string constructor_key() {
  return std::string(typeid(T).name()) + "(" + typeid(std::tuple<P...>).name() + ")";
}

template <typename T, typename... P>
void* construct(const msgpack::object& args) {
  std::tuple<P...> params;
  if (absl::Status status = wire::convert(args, params, "the constructor arguments"); !status.ok()) {
    throw std::invalid_argument(std::string(status.message()));
  }
  return std::apply([](auto&&... a) { return static_cast<void*>(new T(std::move(a)...)); }, std::move(params));
}

// Instantiated by spawn<T>(args...): registers T's constructor for those argument types in every
// process of the binary before main() runs.
template <typename T, typename... P>
struct ConstructorRegistration {
  static inline const bool registered =
      register_constructor(constructor_key<T, P...>(), Constructor{&class_info<T>(), &construct<T, P...>});
};

}  // namespace troupe::detail
