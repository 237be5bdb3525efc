// The non-template parts of the public API: errors at get, this_actor, clock, registries.
#include <cxxabi.h>

#include <cassert>
#include <cmath>
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

namespace {

// Explicit limits: a threaded actor's group gets that many OS threads on the real platform.
constexpr int kMaxThreadedConcurrency = 1024;
constexpr int kMaxAsyncConcurrency = 1'000'000;

std::string_view concurrency_name(Concurrency mode) {
  switch (mode) {
    case Concurrency::kSequential: return "kSequential";
    case Concurrency::kThreaded: return "kThreaded";
    case Concurrency::kAsync: return "kAsync";
  }
  return "?";
}

// Checks one limit (the default group's or a named group's) against the actor's mode.
void check_limit(int limit, Concurrency mode, std::string_view what) {
  int most = mode == Concurrency::kThreaded ? kMaxThreadedConcurrency : kMaxAsyncConcurrency;
  if (limit < 1 || limit > most) {
    throw std::invalid_argument(fmt::format("spawn: {} is {}; a {} actor allows 1 to {}", what, limit,
                                            concurrency_name(mode), most));
  }
}

void fill_concurrency(wire::ActorSpec& spec, const ActorOptions& options, const detail::ClassInfo& info) {
  const Concurrency mode = options.concurrency;
  if (options.max_concurrency < 0) {
    throw std::invalid_argument(fmt::format("spawn: max_concurrency is {}; use 0 for the default, or a positive limit",
                                            options.max_concurrency));
  }
  int limit = options.max_concurrency;
  if (limit == 0) limit = mode == Concurrency::kAsync ? kDefaultAsyncMaxConcurrency : 1;
  if (mode == Concurrency::kSequential) {
    if (limit > 1) {
      throw std::invalid_argument(fmt::format(
          "spawn: max_concurrency = {} needs .concurrency = troupe::Concurrency::kThreaded or kAsync "
          "(a sequential actor runs one call at a time)", limit));
    }
    if (!options.concurrency_groups.empty()) {
      throw std::invalid_argument(
          "spawn: concurrency_groups need .concurrency = troupe::Concurrency::kThreaded or kAsync "
          "(a sequential actor runs one call at a time)");
    }
  }
  check_limit(limit, mode, "max_concurrency");
  spec.concurrency = static_cast<uint8_t>(mode);
  spec.max_concurrency = limit;
  std::map<std::string_view, std::string_view> method_owner;  // method -> group that claimed it
  for (const ConcurrencyGroup& group : options.concurrency_groups) {
    if (group.name.empty()) throw std::invalid_argument("spawn: a concurrency group needs a name");
    for (const wire::ConcurrencyGroupSpec& earlier : spec.concurrency_groups) {
      if (earlier.name == group.name) {
        throw std::invalid_argument(fmt::format("spawn: concurrency group '{}' is defined twice", group.name));
      }
    }
    check_limit(group.max_concurrency, mode, fmt::format("max_concurrency of concurrency group '{}'", group.name));
    wire::ConcurrencyGroupSpec& out = spec.concurrency_groups.emplace_back();
    out.name = group.name;
    out.max_concurrency = group.max_concurrency;
    for (const std::string& method : group.methods) {
      uint32_t index = 0;
      while (index < info.methods.size() && info.methods[index].name != method) ++index;
      if (index == info.methods.size()) {
        std::string known;
        for (const detail::MethodEntry& entry : info.methods) known += (known.empty() ? "" : ", ") + entry.name;
        throw std::invalid_argument(fmt::format("spawn: concurrency group '{}' names method '{}', which {} does not "
                                                "have (its methods: {})", group.name, method, info.name, known));
      }
      auto [claimed, fresh] = method_owner.emplace(info.methods[index].name, group.name);
      if (!fresh) {
        throw std::invalid_argument(fmt::format("spawn: method '{}' is in two concurrency groups, '{}' and '{}'",
                                                method, claimed->second, group.name));
      }
      out.methods.push_back(index);
    }
  }
}

// num_gpus: a share of one GPU to 0.0001, or whole GPUs (Ray's rule). `what` names the field.
int32_t gpu_units(double num_gpus, std::string_view what = "spawn: num_gpus") {
  if (!(num_gpus >= 0) || num_gpus > 1e6) {
    throw std::invalid_argument(fmt::format("{} = {} (expected 0 to 1,000,000)", what, num_gpus));
  }
  const double scaled = num_gpus * wire::kGpuUnits;
  const auto units = static_cast<int64_t>(std::llround(scaled));
  if (std::abs(scaled - static_cast<double>(units)) > 1e-6) {
    throw std::invalid_argument(fmt::format("{} = {} is finer than the precision of 0.0001", what, num_gpus));
  }
  if (units > wire::kGpuUnits && units % wire::kGpuUnits != 0) {
    throw std::invalid_argument(fmt::format(
        "{} = {}: above 1, only whole GPUs (a share of a device must be at most 1)", what, num_gpus));
  }
  return static_cast<int32_t>(units);
}

}  // namespace

void System::fill_spec(wire::ActorSpec& spec, const ActorOptions& options, const detail::ClassInfo& info) {
  fill_concurrency(spec, options, info);
  spec.gpu_units = gpu_units(options.num_gpus);
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
  fill_scheduling(spec, options.scheduling);
  fill_runtime_env(spec, options.runtime_env);
}

void System::fill_runtime_env(wire::ActorSpec& spec, const RuntimeEnv& env) {
  if (env.env_vars.size() > kRuntimeEnvVarsMax) {
    throw std::invalid_argument(fmt::format("spawn: runtime_env sets {} environment variables (the limit is {})",
                                            env.env_vars.size(), kRuntimeEnvVarsMax));
  }
  size_t bytes = env.working_dir.size();
  for (const auto& [name, value] : env.env_vars) {
    if (name.empty() || name.find_first_of(std::string_view("=\0", 2)) != std::string::npos) {
      throw std::invalid_argument(fmt::format(
          "spawn: runtime_env names an environment variable '{}': a name must be non-empty, without '=' or NUL", name));
    }
    if (name == "CUDA_VISIBLE_DEVICES") {
      throw std::invalid_argument(
          "spawn: runtime_env sets CUDA_VISIBLE_DEVICES, which the runtime sets from the actor's GPUs (use num_gpus)");
    }
    if (value.find('\0') != std::string::npos) {
      throw std::invalid_argument(fmt::format("spawn: runtime_env variable {} holds a NUL byte", name));
    }
    bytes += name.size() + value.size();
  }
  if (env.working_dir.find('\0') != std::string::npos) {
    throw std::invalid_argument("spawn: runtime_env working_dir holds a NUL byte");
  }
  if (bytes > kRuntimeEnvBytesMax) {
    throw std::invalid_argument(
        fmt::format("spawn: runtime_env holds {} bytes (the limit is {})", bytes, kRuntimeEnvBytesMax));
  }
  spec.env_vars = env.env_vars;
  spec.working_dir = env.working_dir;
}

void System::fill_scheduling(wire::ActorSpec& spec, const SchedulingStrategy& scheduling) {
  if (std::holds_alternative<Spread>(scheduling)) {
    spec.scheduling = wire::ActorSpec::kSpread;
  } else if (const auto* affinity = std::get_if<NodeAffinity>(&scheduling)) {
    spec.scheduling = wire::ActorSpec::kNodeAffinity;
    spec.affinity_node = affinity->node.value;
    spec.affinity_soft = affinity->soft;
  } else if (const auto* group = std::get_if<PlacementGroup>(&scheduling)) {
    if (!group->pg.valid()) {
      throw std::invalid_argument(
          "spawn: PlacementGroup{.pg} is not a placement group (use the handle create_placement_group returned)");
    }
    if (group->bundle < -1 || group->bundle >= static_cast<int64_t>(group->pg.bundles)) {
      throw std::invalid_argument(fmt::format(
          "spawn: PlacementGroup{{.bundle = {}}} is out of range: the group has {} bundles (use 0 to {}, or -1 for "
          "any bundle)",
          group->bundle, group->pg.bundles, static_cast<int64_t>(group->pg.bundles) - 1));
    }
    spec.scheduling = wire::ActorSpec::kPlacementGroup;
    spec.placement_group = group->pg.id;
    spec.bundle = group->bundle;
  }
}

PlacementGroupHandle System::create_placement_group(const PlacementGroupOptions& options) {
  if (options.bundles.empty()) {
    throw std::invalid_argument("create_placement_group: a placement group needs at least one bundle");
  }
  wire::CreatePlacementGroup request{.name = options.name, .strategy = static_cast<uint8_t>(options.strategy)};
  for (size_t i = 0; i < options.bundles.size(); ++i) {
    const Bundle& bundle = options.bundles[i];
    if (!(bundle.cpus >= 0) || bundle.memory_bytes < 0) {
      throw std::invalid_argument(fmt::format(
          "create_placement_group: bundle {}: cpus {} and memory_bytes {} must not be negative", i, bundle.cpus,
          bundle.memory_bytes));
    }
    bool any = bundle.cpus > 0 || bundle.gpus > 0 || bundle.memory_bytes > 0;
    for (const auto& [resource, amount] : bundle.resources) {
      if (!(amount >= 0)) {
        throw std::invalid_argument(fmt::format(
            "create_placement_group: bundle {}: resource '{}' = {} must not be negative", i, resource, amount));
      }
      any |= amount > 0;
    }
    if (!any) {
      throw std::invalid_argument(fmt::format(
          "create_placement_group: bundle {} reserves nothing (give it cpus, gpus, memory_bytes or resources)", i));
    }
    request.bundles.push_back({.cpus = bundle.cpus, .memory_bytes = bundle.memory_bytes,
                               .gpu_units = gpu_units(bundle.gpus, fmt::format("create_placement_group: bundle {} gpus", i)),
                               .resources = bundle.resources});
  }
  static_assert(Lifetime{} == Lifetime::kOwned, "PlacementGroupOptions::lifetime defaults to Lifetime{}");
  request.detached = options.lifetime == Lifetime::kDetached;
  const auto count = static_cast<uint32_t>(request.bundles.size());
  return {.id = runtime_.create_placement_group(std::move(request)), .bundles = count};
}

namespace {
std::string group_name(const PlacementGroupHandle& pg) {
  return fmt::format("pg{}.{}", static_cast<uint32_t>(pg.id >> 32), static_cast<uint32_t>(pg.id));
}
}  // namespace

bool System::placement_group_ready(const PlacementGroupHandle& pg, std::optional<std::chrono::nanoseconds> timeout) {
  std::optional<Nanos> deadline;
  if (timeout) deadline = detail::deadline_after(*timeout);
  std::optional<wire::DescribeReply> reply =
      runtime_.describe({.group = pg.id, .wait_ready = true}, deadline);
  if (!reply) return false;
  if (!reply->found) throw Error(fmt::format("placement_group_ready: {} is not a placement group", group_name(pg)));
  if (reply->state == wire::DescribeReply::kGroupRemoved) {
    throw Error(fmt::format("placement_group_ready: placement group {} was removed{}{}", group_name(pg),
                            reply->death_cause.empty() ? "" : ": ", reply->death_cause));
  }
  return reply->state == wire::DescribeReply::kGroupCreated;
}

void System::remove_placement_group(const PlacementGroupHandle& pg) { runtime_.remove_placement_group(pg.id); }

PlacementGroupInfo System::placement_group_info(const PlacementGroupHandle& pg) {
  wire::DescribeReply reply = *runtime_.describe({.group = pg.id}, std::nullopt);
  if (!reply.found) throw Error(fmt::format("placement_group_info: {} is not a placement group", group_name(pg)));
  PlacementGroupInfo info{.state = static_cast<PlacementGroupInfo::State>(reply.state),
                          .pending_reason = reply.pending_reason};
  for (uint32_t node : reply.bundle_nodes) info.bundle_nodes.push_back(NodeId{node});
  info.removal_reason = reply.death_cause;
  return info;
}

ActorInfo System::actor_info(ActorId actor) {
  wire::DescribeReply reply = *runtime_.describe({.actor = actor.packed()}, std::nullopt);
  if (!reply.found) throw Error(fmt::format("actor_info: the directory does not know {}", actor));
  ActorInfo info;
  switch (reply.state) {
    case wire::ActorState::kAlive: info.state = ActorInfo::State::kAlive; break;
    case wire::ActorState::kRestarting: info.state = ActorInfo::State::kRestarting; break;
    case wire::ActorState::kDead: info.state = ActorInfo::State::kDead; break;
    default: info.state = ActorInfo::State::kPending;
  }
  if (reply.placed) info.node = NodeId{reply.node};
  info.gpu_ids = std::move(reply.gpu_ids);
  info.restarts = reply.restarts;
  info.pending_reason = std::move(reply.pending_reason);
  info.death_cause = std::move(reply.death_cause);
  return info;
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
void exit() { hosting_runtime().exit_actor(); }  // exit_actor and crash_actor take the turn
void crash() { hosting_runtime().crash_actor(); }
int restart_count() { return hosting_runtime().restart_count(); }
std::vector<uint32_t> gpu_ids() { return hosting_runtime().gpu_ids(); }
std::optional<std::string> env(const std::string& name) { return hosting_runtime().env(name); }
std::string working_dir() { return hosting_runtime().working_dir(); }
NodeId node() {
  hosting_runtime();
  return ExecutionContext::current()->node;
}

}  // namespace this_actor

void sleep(std::chrono::nanoseconds duration) {
  ExecutionContext* context = ExecutionContext::current();
  assert(context != nullptr && context->fiber.valid() && "troupe::sleep must be called on a fiber");
  ProcessTurn turn;
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

void yield() {
  ProcessTurn turn;
  ExecutionContext::current()->platform->yield();
}

uint64_t random() {
  ProcessTurn turn;
  return ExecutionContext::current()->platform->random_u64();
}

}  // namespace troupe
