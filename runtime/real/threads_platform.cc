#include "runtime/real/threads_platform.h"

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "runtime/buggify.h"
#include "runtime/buggify_sites.h"
#include "runtime/fiber/fiber.h"
#include "runtime/real/threads_gpus.h"
#include "runtime/real/threads_platform_state.h"

namespace troupe {

struct ThreadsPlatform::Chaos {
  Chaos(uint64_t seed, absl::AnyInvocable<void(TraceEvent)> record) : sites(seed, std::move(record)) {}
  std::mutex mutex;
  BuggifySites sites;  // guarded by mutex
};

ThreadsPlatform::ThreadsPlatform(ThreadsPlatformOptions options)
    : storage_(make_threads_store(options.storage)), state_(std::make_unique<State>(this, std::move(options))) {
  gpus_ = std::make_unique<real::ThreadsGpus>(state_->nodes);
  if (state_->options.chaos) {
    const uint64_t seed = state_->options.seed;
    chaos_ = std::make_unique<Chaos>(seed, [this](TraceEvent event) { state_->record(std::move(event)); });
    std::fputs(fmt::format("troupe: chaos on: buggify sites enabled 1 run in {}, firing 1 time in {}, seed {}\n",
                           kBuggifyEnabledOneIn, kBuggifyFiresOneIn, seed).c_str(), stderr);
    state_->record({.kind = TraceKind::kFault, .detail = fmt::format("chaos on, buggify seed {}", seed)});
  }
}

ThreadsPlatform::~ThreadsPlatform() {
  {
    std::lock_guard lock(state_->run_mutex);
    assert(!state_->running && "ThreadsPlatform destroyed while run() is active");
  }
  state_->timers.stop();
  // No pool thread runs now: this thread owns every strand. Kill everyone first (untraced: the
  // run is over), so that code running while fibers unwind finds every process dead and its
  // sends, spawns and timers dropped.
  std::erase(state_->processes, nullptr);  // ids start_process_as skipped
  for (auto& process : state_->processes) {
    std::lock_guard lock(process->mutex);
    process->alive.store(false, std::memory_order_release);
  }
  for (auto& process : state_->processes) {
    // A lane thread may hold the turn of a process with threaded calls: wait for it.
    process->gate.acquire();
    if (!process->reaped) state_->reap(*process);
    process->gate.release();
  }
  // Bodies still running on lanes go on until their next turn or their end, where their fibers
  // are unwound on their lane threads (reap woke those parked in a turn); then the lanes exit.
  for (auto& process : state_->processes) {
    for (auto& [number, pool] : process->lane_pools) pool->join();
  }
  for (auto& process : state_->processes) {
    ScopedExecutionContext scope(&process->callback_context);
    process->host.reset();
  }
  state_->processes.clear();
}

bool ThreadsPlatform::owns(const ExecutionContext* context) const {
  return context != nullptr && context->platform == state_->context_platform();
}

Nanos ThreadsPlatform::now() const { return state_->now(); }

std::vector<NodeInfo> ThreadsPlatform::nodes() const { return state_->nodes; }

absl::StatusOr<ProcessId> ThreadsPlatform::start_process(NodeId node, std::string name,
                                                         std::unique_ptr<ProcessHost> host) {
  return start_process_as(ProcessId{}, node, std::move(name), std::move(host));
}

absl::StatusOr<ProcessId> ThreadsPlatform::start_process_as(ProcessId id, NodeId node, std::string name,
                                                            std::unique_ptr<ProcessHost> host) {
  assert(host != nullptr);
  if (node.value >= state_->nodes.size()) {
    return absl::NotFoundError(fmt::format("no node {} (the platform has {})", node, state_->nodes.size()));
  }
  auto process = std::make_unique<ProcessStrand>();
  ProcessStrand& p = *process;
  p.node = node;
  p.name = std::move(name);
  p.host = std::move(host);
  // on_start is the first item; the process is published already scheduled, so nothing can run
  // or queue ahead of it.
  p.queue.push_back({.kind = WorkItem::Kind::kCallback, .body = [&p] { p.host->on_start(); }});
  p.scheduled = true;
  {
    std::unique_lock lock(state_->processes_mutex);
    std::vector<std::unique_ptr<ProcessStrand>>& processes = state_->processes;
    if (!id.valid()) id = ProcessId{static_cast<uint32_t>(processes.size() + 1)};
    if (id.value <= processes.size() && processes[id.value - 1] != nullptr) {
      return absl::AlreadyExistsError(fmt::format("process {} exists already", id));
    }
    if (id.value > kProcessIdMax) {
      return absl::InvalidArgumentError(fmt::format("process id {} exceeds the limit of {}", id.value, kProcessIdMax));
    }
    if (id.value > processes.size()) processes.resize(id.value);
    p.id = id;
    p.rng = state_->root_rng.fork(kStreamProcessBase + p.id.value);
    p.callback_context = {.platform = state_->context_platform(), .node = node, .process = p.id, .host = p.host.get(), .fiber = {}};
    processes[id.value - 1] = std::move(process);
  }
  state_->record({.kind = TraceKind::kProcessStart, .node = node, .process = p.id, .detail = p.name});
  state_->ready.push_back(&p);
  return p.id;
}

// A process killed from one of its own fibers does not return here: the fiber switches out and
// the strand, seeing the process dead, unwinds every fiber of it, this one included (the forced
// unwind surfaces from Fiber::suspend below). From a callback of the process, the call returns
// and the strand reaps once the callback ends. From anywhere else it returns at once; the
// process's strand reaps once its current step (if any) ends.
void ThreadsPlatform::kill_process(ProcessId id, std::string_view why) {
  ProcessStrand* process = state_->find(id);
  if (process == nullptr) return;
  state_->mark_dead(*process, why);
  ExecutionContext* context = ExecutionContext::current();
  bool on_own_fiber = owns(context) && context->process == id &&
                      context->fiber.valid();
  if (!on_own_fiber || process->reaping) return;  // while unwinding, there is nothing left to do
  // On a lane the fiber must hold the turn (its lane thread then unwinds it); a fiber that a lane
  // thread is unwinding already has nothing left to do.
  assert(!context->parallel && "kill_process() from a threaded call outside a ProcessTurn");
  if (auto it = process->fibers.find(context->fiber); it != process->fibers.end() && it->second->unwinding) return;
  Fiber::suspend();
  assert(false && "a fiber of a dead process was resumed");
  std::abort();
}

void ThreadsPlatform::watch_process(ProcessId watcher, ProcessId target) {
  ProcessStrand* watched = state_->find(target);
  assert(watched != nullptr);
  std::string why;
  {
    std::lock_guard lock(watched->mutex);
    if (watched->alive.load(std::memory_order_relaxed)) {
      watched->watchers.push_back(watcher);
      return;
    }
    why = watched->exit_reason;
  }
  state_->notify_exit(watcher, target, std::move(why));  // already dead: tell at once
}

void ThreadsPlatform::spawn(ProcessId id, std::string name, absl::AnyInvocable<void()> body) {
  ProcessStrand* process = state_->find(id);
  assert(process != nullptr && "spawn in an unknown process");
  if (process == nullptr) return;
  FiberId fiber{state_->next_fiber.fetch_add(1, std::memory_order_relaxed)};
  state_->record({.kind = TraceKind::kFiberSpawn, .node = process->node, .process = id, .call = fiber.value,
                  .detail = name});
  state_->post(*process, {.kind = WorkItem::Kind::kStartFiber, .fiber = fiber, .name = std::move(name),
                          .body = std::move(body)});
}

void ThreadsPlatform::park(const WaitReason& reason) {
  ProcessStrand* process = nullptr;
  FiberSlot* slot = state_->current_slot(&process);
  if (slot == nullptr) return;  // its process is unwinding it: a spurious wake-up
  slot->state = FiberSlot::State::kParked;
  slot->set_waiting(reason);
  state_->record({.kind = TraceKind::kFiberPark, .node = process->node, .process = process->id,
                  .call = slot->id.value, .detail = std::string(reason.what)});
  if (slot->on_lane) {  // inside a turn on its lane: gives the turn back while parked
    state_->park_on_lane(*process, *slot);
    return;
  }
  Fiber::suspend();
  // Resumed by a resume item, which unpark queued.
  assert(slot->state == FiberSlot::State::kRunning);
}

void ThreadsPlatform::unpark(FiberId fiber) {
  ExecutionContext* context = ExecutionContext::current();
  assert(owns(context) && "unpark() outside a process of this platform");
  ProcessStrand* process = state_->find(context->process);
  assert(process != nullptr);
  auto it = process->fibers.find(fiber);
  if (it == process->fibers.end()) {
    // Gone (or not started yet). A fiber of another process would be missed here, for good.
    assert(!state_->fiber_owner(fiber).valid() && "unpark() of a fiber of another process");
    return;
  }
  FiberSlot& slot = *it->second;
  if (slot.state == FiberSlot::State::kParkedOnLane) {  // its lane thread resumes it
    slot.state = FiberSlot::State::kQueued;
    slot.clear_waiting();
    slot.wake.release();
    return;
  }
  if (slot.state != FiberSlot::State::kParked) return;
  slot.state = FiberSlot::State::kQueued;
  slot.clear_waiting();
  state_->post(*process, {.kind = WorkItem::Kind::kResumeFiber, .fiber = fiber});
}

void ThreadsPlatform::yield() {
  ProcessStrand* process = nullptr;
  FiberSlot* slot = state_->current_slot(&process);
  if (slot == nullptr) return;
  if (slot->on_lane) {
    state_->yield_on_lane(*process, *slot);
    return;
  }
  slot->state = FiberSlot::State::kQueued;
  // If the process died meanwhile the item is dropped; the strand unwinds this fiber instead.
  state_->post(*process, {.kind = WorkItem::Kind::kResumeFiber, .fiber = slot->id});
  Fiber::suspend();
  assert(slot->state == FiberSlot::State::kRunning);
}

TimerId ThreadsPlatform::start_timer(ProcessId process, Nanos deadline, absl::AnyInvocable<void()> callback) {
  return state_->timers.add(process, deadline, std::move(callback));
}

void ThreadsPlatform::cancel_timer(TimerId timer) { state_->timers.cancel(timer); }

// A dead process sends nothing: code running while its fibers unwind cannot reach anyone, as
// with a real crash.
void ThreadsPlatform::send(ProcessId from, ProcessId to, std::string payload, Channel /*channel*/) {
  ProcessStrand* source = state_->find(from);
  ProcessStrand* target = state_->find(to);
  NodeId source_node = source != nullptr ? source->node : NodeId{};
  if (state_->tracing()) {
    state_->record({.kind = TraceKind::kSend, .node = source_node, .process = from, .peer = to,
                    .bytes = payload.size()});
  }
  const char* dropped = nullptr;
  if (source != nullptr && !source->alive.load(std::memory_order_acquire)) {
    dropped = "dead sender";
  } else if (target == nullptr) {
    dropped = "unknown process";
  } else if (!state_->post(*target, {.kind = WorkItem::Kind::kCallback,
                                     .body = [this, target, from, payload = std::move(payload)]() mutable {
                                       state_->deliver(*target, from, std::move(payload));
                                     }})) {
    dropped = "dead process";
  }
  if (dropped != nullptr && state_->tracing()) {
    state_->record({.kind = TraceKind::kDrop, .node = source_node, .process = from, .peer = to, .detail = dropped});
  }
}

bool ThreadsPlatform::run_in(ProcessId id, absl::AnyInvocable<void()> callback) {
  ProcessStrand* process = state_->find(id);
  return process != nullptr && state_->post(*process, {.kind = WorkItem::Kind::kCallback, .body = std::move(callback)});
}

ProcessHost* ThreadsPlatform::host_of(ProcessId id) {
  ProcessStrand* process = state_->find(id);
  return process != nullptr ? process->host.get() : nullptr;
}

uint64_t ThreadsPlatform::random_u64() {
  ExecutionContext* context = ExecutionContext::current();
  if (owns(context) && context->process.valid()) {
    // Only the process's own strand runs with its context installed: no lock needed.
    ProcessStrand* process = state_->find(context->process);
    assert(process != nullptr);
    return process->rng.next_u64();
  }
  std::lock_guard lock(state_->outside_rng_mutex);
  return state_->outside_rng.next_u64();
}

absl::Status ThreadsPlatform::run() {
  ExecutionContext* context = ExecutionContext::current();
  assert(!owns(context) && "run() called from a pool thread");
  (void)context;
  {
    std::lock_guard lock(state_->run_mutex);
    assert(!state_->running && "ThreadsPlatform::run() is not reentrant");
    if (state_->stop_requested) {  // stop() came first
      state_->stop_requested = false;
      return absl::OkStatus();
    }
    state_->running = true;
  }
  state_->ready.start();
  state_->timers.start();
  std::vector<std::thread> workers;
  workers.reserve(state_->threads);
  for (int i = 0; i < state_->threads; ++i) workers.emplace_back([this] { state_->worker_loop(); });
  bool past_deadline = false;
  {
    std::unique_lock lock(state_->run_mutex);
    auto stopped = [this] { return state_->stop_requested; };
    if (state_->options.deadline < 0) {
      state_->stop_requested_changed.wait(lock, stopped);
    } else {
      past_deadline = !state_->stop_requested_changed.wait_until(
          lock, state_->origin + std::chrono::nanoseconds(state_->options.deadline), stopped);
    }
  }
  // Each worker finishes its current item, hands its process back to the ready queue, and exits.
  state_->ready.stop();
  state_->timers.stop();
  for (std::thread& worker : workers) worker.join();
  {
    std::lock_guard lock(state_->run_mutex);
    state_->stop_requested = false;
    state_->running = false;
  }
  if (past_deadline) {
    return absl::DeadlineExceededError(fmt::format("deadline of {:.3f}s (real time) passed with work unfinished\n{}",
                                                   state_->options.deadline / 1e9, state_->wait_report()));
  }
  return absl::OkStatus();
}

void ThreadsPlatform::stop() {
  {
    std::lock_guard lock(state_->run_mutex);
    state_->stop_requested = true;
  }
  state_->stop_requested_changed.notify_all();
}

std::string ThreadsPlatform::wait_report() { return state_->wait_report(); }

void ThreadsPlatform::trace(TraceEvent event) { state_->record(std::move(event)); }

bool ThreadsPlatform::buggify(std::string_view site) {
  if (chaos_ == nullptr) return false;
  std::lock_guard lock(chaos_->mutex);
  return chaos_->sites.evaluate(site);
}

}  // namespace troupe
