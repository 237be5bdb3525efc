#include "sim/storage.h"

#include <algorithm>
#include <cassert>
#include <memory>
#include <utility>

#include "fmt/format.h"
#include "sim/world.h"

namespace troupe::sim {
namespace {

std::string_view op_name(int op) {
  static constexpr std::string_view kNames[] = {"put", "get", "remove"};
  return kNames[op];
}

// 1 - (1 - a)(1 - b): the chance that at least one of two independent events happens.
double either(double a, double b) { return 1 - (1 - a) * (1 - b); }

}  // namespace

// One operation between its issue and its acknowledgement. Shared by the parked fiber and the
// World action that acknowledges it: if the writer's process dies, its fiber (and its share) is
// unwound, and the action finds the process dead.
struct Storage::Pending {
  Op op = Op::kGet;
  uint64_t number = 0;
  std::string key;
  std::optional<std::string> value;  // for kPut
  uint64_t fence = 0;                // the fencing token; 0: unfenced
  NodeId node;
  ProcessId process;
  FiberId fiber;
  bool done = false;
  absl::StatusOr<std::optional<std::string>> result;

  std::string name() const {
    if (fence == 0) return fmt::format("{} #{} {}", op_name(static_cast<int>(op)), number, describe_storage_key(key));
    return fmt::format("{} #{} {} fence {}", op_name(static_cast<int>(op)), number, describe_storage_key(key), fence);
  }
  bool write() const { return op != Op::kGet; }
};

Storage::Storage(World& world, StorageOptions options, Rng rng)
    : world_(world), options_(options), rng_(rng) {
  assert(options_.write_latency_ns >= 0);
  assert(options_.read_latency_ns >= 0);
  assert(options_.jitter_ns >= 0);
  assert(options_.capacity_bytes >= 0);
}

absl::Status Storage::put(std::string_view key, std::string value, StorageOperationOptions options) {
  return run(Op::kPut, key, std::move(value), options.fence).status();
}

absl::StatusOr<std::optional<std::string>> Storage::get(std::string_view key, StorageOperationOptions options) {
  return run(Op::kGet, key, {}, options.fence);
}

absl::Status Storage::remove(std::string_view key, StorageOperationOptions options) {
  return run(Op::kRemove, key, {}, options.fence).status();
}

void Storage::inject_fault(StorageFaultWindow window) {
  assert(window.error_rate >= 0 && window.error_rate <= 1);
  assert(window.loss_rate >= 0 && window.loss_rate <= 1);
  faults_.push_back(window);
  world_.trace({.kind = TraceKind::kFault,
                .detail = fmt::format("storage errors {} loss {} until {}ns", window.error_rate, window.loss_rate,
                                      window.until)});
}

std::optional<std::string> Storage::peek(std::string_view key) const {
  auto it = contents_.find(key);
  if (it == contents_.end()) return std::nullopt;
  return it->second;
}

uint64_t Storage::peek_fence(std::string_view key) const {
  auto it = fences_.find(key);
  return it == fences_.end() ? 0 : it->second;
}

void Storage::raise_fence(const std::string& key, uint64_t token) {
  if (token == 0) return;
  uint64_t& fence = fences_[key];
  fence = std::max(fence, token);
  assert(fence >= token);
}

absl::StatusOr<std::optional<std::string>> Storage::run(Op op, std::string_view key, std::optional<std::string> value,
                                                        uint64_t fence) {
  ExecutionContext* context = ExecutionContext::current();
  assert(context != nullptr && context->platform == &world_ && "sim::Storage used outside its World");
  assert(context->fiber.valid() && "storage operations block: call them on a fiber");
  auto pending = std::make_shared<Pending>();
  pending->op = op;
  pending->number = next_operation_++;
  pending->key = std::string(key);
  pending->value = std::move(value);
  pending->fence = fence;
  pending->node = context->node;
  pending->process = context->process;
  pending->fiber = context->fiber;
  const uint64_t bytes = pending->value ? pending->value->size() : 0;
  world_.trace({.kind = TraceKind::kStorage, .bytes = bytes, .detail = pending->name()});
  absl::Status valid = validate_storage_key(key);
  if (valid.ok() && pending->value) valid = validate_storage_value(key, *pending->value);
  if (!valid.ok()) {
    world_.trace({.kind = TraceKind::kStorageFailure, .detail = fmt::format("{}: rejected: {}", pending->name(),
                                                                             valid.message())});
    return valid;
  }
  const Nanos latency = (pending->write() ? options_.write_latency_ns : options_.read_latency_ns) +
                        (options_.jitter_ns > 0 ? rng_.uniform_int(0, options_.jitter_ns) : 0);
  world_.at(world_.now() + latency, [this, pending] { acknowledge(*pending); });
  while (!pending->done) world_.park({.what = "storage"});
  assert(pending->done);
  return std::move(pending->result);
}

StorageFaultWindow Storage::active_faults() {
  const Nanos now = world_.now();
  std::erase_if(faults_, [now](const StorageFaultWindow& fault) { return fault.until <= now; });
  StorageFaultWindow combined;
  for (const StorageFaultWindow& fault : faults_) {
    combined.error_rate = either(combined.error_rate, fault.error_rate);
    combined.loss_rate = either(combined.loss_rate, fault.loss_rate);
    combined.until = std::max(combined.until, fault.until);
  }
  return combined;
}

void Storage::acknowledge(Pending& pending) {
  assert(!pending.done);
  const auto fail = [&](std::string what) {
    world_.trace({.kind = TraceKind::kStorageFailure, .node = pending.node, .process = pending.process,
                  .detail = fmt::format("{}: {}", pending.name(), what)});
  };
  if (!world_.process_alive(pending.process)) {
    // Nobody is waiting: the fiber was unwound with its process. A write is dropped unapplied.
    fail(pending.write() ? "lost: the writer's process died before the acknowledgement" : "abandoned: the reader died");
    return;
  }
  const StorageFaultWindow faults = active_faults();
  if (faults.error_rate > 0 && rng_.bernoulli(faults.error_rate)) {
    // A fenced get writes its fence: like a write, it took effect or not.
    const bool applied = (pending.write() || pending.fence > 0) && rng_.bernoulli(0.5);
    absl::Status status = absl::OkStatus();
    if (applied && pending.write()) status = apply(pending);
    if (applied && !pending.write()) raise_fence(pending.key, pending.fence);
    if (!pending.write()) {
      fail(pending.fence == 0 ? "injected error (read)"
                              : fmt::format("injected error (read; fence {})", applied ? "raised" : "not raised"));
    } else {
      fail(fmt::format("injected error ({})", applied && status.ok() ? "applied" : "not applied"));
    }
    pending.result = absl::UnavailableError(
        pending.write() ? "injected storage error: the write may have been applied" : "injected storage error");
  } else if (pending.write() && faults.loss_rate > 0 && rng_.bernoulli(faults.loss_rate)) {
    fail("injected loss (not applied)");
    pending.result = absl::AbortedError("the write was lost before it was acknowledged (injected storage fault); it was not applied");
  } else if (pending.op == Op::kGet) {
    raise_fence(pending.key, pending.fence);  // the same instant as the read
    auto it = contents_.find(pending.key);
    pending.result = it == contents_.end() ? std::nullopt : std::optional<std::string>(it->second);
    world_.trace({.kind = TraceKind::kStorage, .node = pending.node, .process = pending.process,
                  .bytes = pending.result->has_value() ? (*pending.result)->size() : 0,
                  .detail = fmt::format("{}: {}", pending.name(), pending.result->has_value() ? "found" : "not found")});
  } else {
    absl::Status status = apply(pending);
    if (status.ok()) {
      world_.trace({.kind = TraceKind::kStorage, .node = pending.node, .process = pending.process,
                    .detail = fmt::format("{}: ok", pending.name())});
    } else {
      fail(fmt::format("rejected: {}", status.message()));
    }
    if (status.ok()) {
      pending.result = std::optional<std::string>();
    } else {
      pending.result = status;
    }
  }
  pending.done = true;
  world_.unpark(pending.fiber);
}

absl::Status Storage::apply(const Pending& pending) {
  assert(pending.write());
  const uint64_t fence = peek_fence(pending.key);
  if (!storage_fence_admits(pending.fence, fence)) return storage_fenced_error(pending.fence, fence);
  auto it = contents_.find(pending.key);
  const int64_t old_bytes = it == contents_.end() ? 0 : static_cast<int64_t>(it->first.size() + it->second.size());
  if (pending.op == Op::kRemove) {
    if (it != contents_.end()) contents_.erase(it);
    bytes_ -= old_bytes;
    assert(bytes_ >= 0);
    raise_fence(pending.key, pending.fence);
    return absl::OkStatus();
  }
  assert(pending.op == Op::kPut && pending.value.has_value());
  const int64_t new_bytes = static_cast<int64_t>(pending.key.size() + pending.value->size());
  if (bytes_ - old_bytes + new_bytes > options_.capacity_bytes) {
    return absl::ResourceExhaustedError(fmt::format("the store is full: {} + {} bytes would pass capacity_bytes ({})",
                                                    bytes_ - old_bytes, new_bytes, options_.capacity_bytes));
  }
  contents_.insert_or_assign(pending.key, *pending.value);
  bytes_ += new_bytes - old_bytes;
  raise_fence(pending.key, pending.fence);
  return absl::OkStatus();
}

}  // namespace troupe::sim
