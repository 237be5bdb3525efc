// The non-template parts of the public API: errors at get, this_actor, clock, registries.
#include <cxxabi.h>

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

#include "fmt/format.h"
#include "runtime/actor_class.h"
#include "runtime/clock.h"
#include "runtime/fiber/fiber.h"
#include "runtime/platform.h"
#include "runtime/system.h"
#include "runtime/this_actor.h"

namespace troupe {
namespace detail {

Runtime& current_runtime() {
  ExecutionContext* context = ExecutionContext::current();
  Runtime* runtime = context == nullptr || context->host == nullptr ? nullptr : context->host->user_runtime();
  if (runtime == nullptr) {
    std::fputs("troupe: an actor handle, Ref or System call was used outside a Troupe driver or actor\n", stderr);
    std::abort();
  }
  return *runtime;
}

std::string demangle(const char* mangled) {
  int status = 0;
  char* readable = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string result = status == 0 && readable != nullptr ? readable : mangled;
  std::free(readable);
  // libstdc++ spells some std types with an inline namespace; users wrote the short form.
  for (const std::string_view inline_ns : {"std::__cxx11::", "std::__1::"}) {
    for (size_t at = result.find(inline_ns); at != std::string::npos; at = result.find(inline_ns)) {
      result.replace(at, inline_ns.size(), "std::");
    }
  }
  return result;
}

wire::ObjectPayload exception_payload(std::exception_ptr error) {
  if (is_forced_unwind(error)) std::rethrow_exception(error);
  wire::ObjectPayload payload{.status = static_cast<uint8_t>(wire::ObjectStatus::kTaskError)};
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    payload.error_type = demangle(typeid(e).name());
    payload.error_message = e.what();
  } catch (...) {
    payload.error_type = "unknown exception";
    payload.error_message = "(not derived from std::exception)";
  }
  return payload;
}

std::vector<std::string> method_names(std::string_view list) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string_view item = list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    size_t colons = item.rfind("::");
    if (colons != std::string_view::npos) item = item.substr(colons + 2);
    while (!item.empty() && (item.front() == ' ' || item.front() == '&')) item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    names.emplace_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return names;
}

void throw_unregistered_method(std::string_view class_name) {
  throw std::invalid_argument(
      fmt::format("troupe: this method of {} is not listed in TROUPE_ACTOR({}, ...)", class_name, class_name));
}

namespace {
// Written during static initialisation only, read afterwards: no lock needed after main().
std::map<std::string, Constructor, std::less<>>& constructors() {
  static std::map<std::string, Constructor, std::less<>> registry;
  return registry;
}
}  // namespace

bool register_constructor(std::string key, Constructor ctor) {
  constructors().emplace(std::move(key), ctor);
  return true;
}

const Constructor* find_constructor(std::string_view key) {
  auto it = constructors().find(key);
  return it == constructors().end() ? nullptr : &it->second;
}

void throw_object_error(const wire::ObjectPayload& payload, ObjectId id) {
  switch (static_cast<wire::ObjectStatus>(payload.status)) {
    case wire::ObjectStatus::kTaskError:
      throw TaskError(payload.error_type, payload.error_message, fmt::format("the call for {}", id));
    case wire::ObjectStatus::kActorDied:
      throw ActorDiedError(payload.error_message);
    case wire::ObjectStatus::kActorUnavailable:
      throw ActorUnavailableError(payload.error_message);
    case wire::ObjectStatus::kUnschedulable:
      throw ActorUnschedulableError(payload.error_message);
    case wire::ObjectStatus::kObjectLost:
      throw Error("object lost: " + payload.error_message);
    case wire::ObjectStatus::kOk:
      break;
  }
  throw Error(fmt::format("{}: unknown error status {}", id, payload.status));
}

void throw_get_timeout(ObjectId id, std::chrono::nanoseconds timeout) {
  throw GetTimeoutError(fmt::format("get({}) timed out after {}ns", id, timeout.count()));
}

Nanos deadline_after(std::chrono::nanoseconds timeout) {
  return current_runtime().platform().now() + timeout.count();
}

}  // namespace detail

void System::fill_spec(wire::ActorSpec& spec, const ActorOptions& options) {
  spec.name = options.name;
  spec.ns = options.ns;
  spec.detached = options.lifetime == Lifetime::kDetached;
  spec.get_if_exists = options.get_if_exists;
  spec.num_cpus = options.num_cpus;
  spec.memory_bytes = options.memory_bytes;
  spec.resources = options.resources;
  spec.max_pending_calls = options.max_pending_calls;
  spec.max_restarts = options.max_restarts;
  spec.max_task_retries = options.max_task_retries;
  spec.retry_exceptions = options.retry_exceptions.all;
  spec.retry_exception_types = options.retry_exceptions.types;
  for (const std::string& type : options.retry_exceptions.types) {
    if (type.empty()) throw std::invalid_argument("spawn: retry_exceptions names an empty exception type");
  }
  spec.restart_backoff_ns = options.restart_backoff.count();
  spec.restart_backoff_max_ns = options.restart_backoff_max.count();
  if (options.restart_backoff.count() < 0 || options.restart_backoff_max.count() < 0) {
    throw std::invalid_argument("spawn: restart_backoff and restart_backoff_max must not be negative");
  }
  if (options.max_restarts < -1 || options.max_task_retries < -1) {
    throw std::invalid_argument("spawn: max_restarts and max_task_retries must be -1 (forever) or at least 0");
  }
  if (options.get_if_exists && options.name.empty()) {
    throw std::invalid_argument("spawn: get_if_exists needs a name");
  }
}

namespace this_actor {

namespace {
detail::Runtime& hosting_runtime() {
  detail::Runtime& runtime = detail::current_runtime();
  if (!runtime.hosted_actor().valid()) throw std::logic_error("troupe::this_actor:: called outside an actor");
  return runtime;
}
}  // namespace

ActorId id() { return hosting_runtime().hosted_actor(); }
System& system() { return hosting_runtime().system(); }
void exit() { hosting_runtime().exit_actor(); }
void crash() { hosting_runtime().crash_actor(); }
int restart_count() { return hosting_runtime().restart_count(); }
NodeId node() {
  hosting_runtime();
  return ExecutionContext::current()->node;
}

}  // namespace this_actor

void sleep(std::chrono::nanoseconds duration) {
  ExecutionContext* context = ExecutionContext::current();
  assert(context != nullptr && context->fiber.valid() && "troupe::sleep must be called on a fiber");
  Platform& platform = *context->platform;
  Nanos deadline = platform.now() + duration.count();
  FiberId self = context->fiber;
  ProcessId process = context->process;
  TimerId timer = platform.start_timer(process, deadline, [&platform, self] { platform.unpark(self); });
  while (platform.now() < deadline) platform.park({.what = "sleep"});
  platform.cancel_timer(timer);
}

std::chrono::nanoseconds now() {
  ExecutionContext* context = ExecutionContext::current();
  assert(context != nullptr);
  return std::chrono::nanoseconds(context->platform->now());
}

void yield() { ExecutionContext::current()->platform->yield(); }

uint64_t random() { return ExecutionContext::current()->platform->random_u64(); }

}  // namespace troupe
