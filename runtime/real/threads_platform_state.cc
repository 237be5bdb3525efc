#include "runtime/real/threads_platform_state.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <thread>
#include <utility>

#include "fmt/format.h"
#include "runtime/real/threads_gpus.h"

namespace troupe {
namespace {

std::vector<NodeInfo> make_nodes(const std::vector<ThreadsNodeOptions>& options) {
  std::vector<NodeInfo> nodes;
  if (options.empty()) {
    nodes.push_back({.id = NodeId{0}, .name = "local", .cpus = 64, .memory_bytes = int64_t{64} << 30});
    return nodes;
  }
  for (const ThreadsNodeOptions& node : options) {
    auto id = NodeId{static_cast<uint32_t>(nodes.size())};
    nodes.push_back({.id = id, .name = node.name.empty() ? fmt::format("node{}", id.value) : node.name,
                     .cpus = node.cpus, .memory_bytes = node.memory_bytes, .gpus = node.gpus,
                     .gpu_memory_bytes = node.gpu_memory_bytes, .gpu_flops = node.gpu_flops,
                     .gpu_bandwidth_bytes_per_s = node.gpu_bandwidth_bytes_per_s,
                     .gpu_lost = std::vector<bool>(static_cast<size_t>(std::max(node.gpus, 0)), false)});
  }
  return nodes;
}

int pool_size(int requested) {
  if (requested > 0) return requested;
  return std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
}

// What an exception that escaped a callback or a fiber body was, for the crash report.
std::string describe(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return fmt::format("uncaught exception: {}", e.what());
  } catch (...) {
    return "uncaught exception of a type not derived from std::exception";
  }
}

}  // namespace

ThreadsPlatform::State::State(ThreadsPlatform* platform, ThreadsPlatformOptions options_in)
    : platform(platform),
      options(std::move(options_in)),
      origin(std::chrono::steady_clock::now()),
      nodes(make_nodes(options.nodes)),
      threads(pool_size(options.threads)),
      root_rng(options.seed),
      stacks(options.stacks),
      timers(origin,
             [this](ProcessId pid, TimerId timer) {
               ProcessStrand* process = find(pid);
               return process != nullptr && post(*process, WorkItem{.kind = WorkItem::Kind::kTimer, .timer = timer});
             }),
      outside_rng(root_rng.fork(kStreamProcessBase)) {}

ProcessStrand* ThreadsPlatform::State::find(ProcessId id) {
  std::shared_lock lock(processes_mutex);
  if (!id.valid() || id.value > processes.size()) return nullptr;
  return processes[id.value - 1].get();
}

// Queues `item` on `process`, scheduling the process if it was idle. Returns false, dropping the
// item, if the process is dead.
bool ThreadsPlatform::State::post(ProcessStrand& process, WorkItem item) {
  bool schedule = false;
  {
    std::lock_guard lock(process.mutex);
    if (!process.alive.load(std::memory_order_relaxed)) return false;
    process.queue.push_back(std::move(item));
    if (!process.scheduled) process.scheduled = schedule = true;
  }
  if (schedule) ready.push_back(&process);
  return true;
}

// Marks `process` dead and makes sure a strand will reap it. Returns false if it already was.
bool ThreadsPlatform::State::mark_dead(ProcessStrand& process, std::string_view why) {
  bool schedule = false;
  std::vector<ProcessId> watchers;
  {
    std::lock_guard lock(process.mutex);
    if (!process.alive.load(std::memory_order_relaxed)) return false;
    process.alive.store(false, std::memory_order_release);
    process.exit_reason = std::string(why);
    watchers.swap(process.watchers);
    if (!process.scheduled) process.scheduled = schedule = true;
  }
  record({.kind = TraceKind::kProcessExit, .node = process.node, .process = process.id, .detail = std::string(why)});
  platform->gpus_->process_ended(process.id);  // its GPU memory is free again
  if (schedule) ready.push_back(&process);
  for (ProcessId watcher : watchers) notify_exit(watcher, process.id, std::string(why));
  return true;
}

void ThreadsPlatform::State::notify_exit(ProcessId watcher, ProcessId target, std::string why) {
  ProcessStrand* strand = find(watcher);
  if (strand == nullptr) return;
  post(*strand, {.kind = WorkItem::Kind::kCallback, .body = [strand, target, why = std::move(why)] {
                   strand->host->on_process_exit(target, why);
                 }});
}

// A callback or fiber body of `process` threw: the process crashes, as a real one would.
void ThreadsPlatform::State::crash(ProcessStrand& process, const std::exception_ptr& error) {
  std::string why = describe(error);
  fmt::print(stderr, "troupe: process {} ({}) crashed: {}\n", process.id, process.name, why);
  mark_dead(process, why);
}

// The fiber running now and its process. REQUIRES: on a fiber of this platform.
FiberSlot* ThreadsPlatform::State::current_slot(ProcessStrand** process) {
  ExecutionContext* context = ExecutionContext::current();
  assert(context != nullptr && "not on a fiber (no execution context)");
  assert(context->platform == context_platform() && "on a fiber of another platform");
  assert(context->fiber.valid() && "in a callback, not on a fiber");
  *process = find(context->process);
  assert(*process != nullptr);
  if ((*process)->reaping) return nullptr;
  auto it = (*process)->fibers.find(context->fiber);
  assert(it != (*process)->fibers.end());
  if (it->second->unwinding) return nullptr;  // a lane thread is unwinding it
  assert(it->second->state == FiberSlot::State::kRunning);
  return it->second.get();
}

void ThreadsPlatform::State::note_fiber_owner(FiberId fiber, ProcessId process) {
#ifndef NDEBUG
  std::lock_guard lock(fiber_owners_mutex);
  bool inserted = fiber_owners.emplace(fiber, process).second;
  assert(inserted);
#endif
}

void ThreadsPlatform::State::forget_fiber_owner(FiberId fiber) {
#ifndef NDEBUG
  std::lock_guard lock(fiber_owners_mutex);
  size_t erased = fiber_owners.erase(fiber);
  assert(erased == 1);
#endif
}

ProcessId ThreadsPlatform::State::fiber_owner(FiberId fiber) {
#ifndef NDEBUG
  std::lock_guard lock(fiber_owners_mutex);
  auto it = fiber_owners.find(fiber);
  if (it != fiber_owners.end()) return it->second;
#endif
  return ProcessId{};
}

std::string ThreadsPlatform::State::wait_report() {
  std::vector<ProcessStrand*> live;
  {
    std::shared_lock lock(processes_mutex);
    for (auto& process : processes) {
      if (process != nullptr && process->alive.load(std::memory_order_acquire)) live.push_back(process.get());
    }
  }
  std::string report;
  for (ProcessStrand* process : live) {
    const bool gated = process->gated.load(std::memory_order_acquire);
    if (gated) process->gate.acquire();
    for (const auto& [id, slot] : process->fibers) {
      std::string doing = process->host->describe_fiber(id);
      report += fmt::format("  {} {} ({}) fiber {} '{}'{} waits for {}\n", process->node, process->id, process->name, id,
                            slot->fiber->name(), doing.empty() ? "" : fmt::format(" ({})", doing),
                            slot->state == FiberSlot::State::kParked || slot->state == FiberSlot::State::kParkedOnLane
                                ? slot->describe_waiting()
                                : std::string("(runnable)"));
    }
    if (gated) process->gate.release();
  }
  if (report.empty()) report = "  (no fiber is parked)\n";
  for (ProcessStrand* process : live) {
    const bool gated = process->gated.load(std::memory_order_acquire);
    if (gated) process->gate.acquire();
    report += process->host->describe_state();
    if (gated) process->gate.release();
  }
  return report;
}

Nanos ThreadsPlatform::State::now() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - origin).count();
}

void ThreadsPlatform::State::record(TraceEvent event) {
  if (options.trace == nullptr) return;
  if (event.time == 0) event.time = now();
  if (!event.process.valid()) {
    ExecutionContext* context = ExecutionContext::current();
    if (context != nullptr && context->platform == context_platform()) {
      event.process = context->process;
      event.node = context->node;
    }
  }
  std::lock_guard lock(trace_mutex);
  options.trace->record(std::move(event));
}

}  // namespace troupe
