// The pool's side of the threads platform: a worker pops a ready process, runs a batch of its
// work items with the right ExecutionContext installed, and reaps the process once it is dead.
#include <cassert>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "runtime/fiber/fiber.h"
#include "runtime/real/threads_platform_state.h"

namespace troupe {
namespace {

// Items a worker runs from one process before putting it back at the end of the ready queue.
constexpr int kBatchItems = 64;

}  // namespace

void ThreadsPlatform::State::worker_loop() {
  while (ProcessStrand* process = ready.pop()) drain(*process);
}

// Runs up to kBatchItems of `process`'s items. The caller holds the strand (scheduled == true).
void ThreadsPlatform::State::drain(ProcessStrand& process) {
  for (int done = 0;; ++done) {
    WorkItem item;
    {
      std::lock_guard lock(process.mutex);
      if (!process.alive.load(std::memory_order_relaxed)) break;
      if (process.queue.empty()) {
        process.scheduled = false;
        return;
      }
      if (done == kBatchItems || ready.stopping()) {
        // Keep the strand (scheduled stays true) and hand it back to the ready queue.
        if (done == kBatchItems) {
          ready.push_back(&process);
        } else {
          ready.push_front(&process);
        }
        return;
      }
      item = std::move(process.queue.front());
      process.queue.pop_front();
    }
    // A process with threaded calls shares its turn with its lanes (threads_platform.h).
    const bool gated = process.gated.load(std::memory_order_relaxed);
    if (gated) process.gate.acquire();
    run_item(process, item);
    if (gated) process.gate.release();
  }
  // Dead: the strand stays taken (scheduled == true) forever, so nobody queues it again.
  const bool gated = process.gated.load(std::memory_order_relaxed);
  if (gated) process.gate.acquire();
  if (!process.reaped) reap(process);
  if (gated) process.gate.release();
}

void ThreadsPlatform::State::run_item(ProcessStrand& process, WorkItem& item) {
  switch (item.kind) {
    case WorkItem::Kind::kCallback:
      run_callback(process, item.body);
      return;
    case WorkItem::Kind::kTimer: {
      absl::AnyInvocable<void()> callback = timers.take(item.timer);
      if (callback == nullptr) return;  // cancelled after it fired
      record({.kind = TraceKind::kTimer, .node = process.node, .process = process.id, .call = item.timer});
      run_callback(process, callback);
      return;
    }
    case WorkItem::Kind::kStartFiber:
      start_fiber(process, item);
      return;
    case WorkItem::Kind::kResumeFiber: {
      auto it = process.fibers.find(item.fiber);
      if (it == process.fibers.end()) return;
      assert(it->second->state == FiberSlot::State::kQueued && "a resume item for a fiber that is not queued");
      resume_fiber(process, *it->second);
      return;
    }
  }
}

// Runs and then destroys `callback` in the process's callback context.
void ThreadsPlatform::State::run_callback(ProcessStrand& process, absl::AnyInvocable<void()>& callback) {
  assert(callback != nullptr);
  ScopedExecutionContext scope(&process.callback_context);
  try {
    callback();
  } catch (...) {
    crash(process, std::current_exception());
  }
  callback = nullptr;
}

// A message's work item: hands the bytes to the host, in the process's callback context.
void ThreadsPlatform::State::deliver(ProcessStrand& process, ProcessId from, std::string payload) {
  if (tracing()) {
    record({.kind = TraceKind::kDeliver, .node = process.node, .process = process.id, .peer = from,
            .bytes = payload.size()});
  }
  process.host->on_message(from, std::move(payload));
}

void ThreadsPlatform::State::start_fiber(ProcessStrand& process, WorkItem& item) {
  assert(item.fiber.valid());
  assert(process.fibers.count(item.fiber) == 0);
  auto body = [this, &process, body = std::move(item.body)]() mutable {
    try {
      body();
    } catch (...) {
      if (is_forced_unwind(std::current_exception())) throw;  // its process is being destroyed
      crash(process, std::current_exception());
    }
  };
  auto slot = std::make_unique<FiberSlot>();
  slot->id = item.fiber;
  slot->context = {.platform = context_platform(), .node = process.node, .process = process.id,
                   .host = process.host.get(), .fiber = item.fiber};
  slot->fiber = std::make_unique<Fiber>(stacks, std::move(item.name), std::move(body));
  FiberSlot& ref = *slot;
  process.fibers.emplace(item.fiber, std::move(slot));
  note_fiber_owner(item.fiber, process.id);
  resume_fiber(process, ref);
}

void ThreadsPlatform::State::resume_fiber(ProcessStrand& process, FiberSlot& slot) {
  slot.state = FiberSlot::State::kRunning;
  {
    ScopedExecutionContext scope(&slot.context);
    slot.fiber->resume();
  }
  // Only this fiber ran, so `slot` still exists: reaping happens after this item, on this thread.
  if (slot.fiber->finished()) {
    record({.kind = TraceKind::kFiberExit, .node = process.node, .process = process.id, .call = slot.id.value});
    forget_fiber_owner(slot.id);
    auto node = process.fibers.extract(slot.id);
    ScopedExecutionContext scope(&node.mapped()->context);
    node.mapped().reset();
    return;
  }
  if (slot.state == FiberSlot::State::kOnLane) {  // entered run_parallel
    hand_to_lane(process, slot);
    return;
  }
  // It parked or yielded, or it is on its way out: its process died while it ran (it killed
  // itself, or another thread killed it), and the strand reaps it next.
  assert(slot.state != FiberSlot::State::kRunning || !process.alive.load(std::memory_order_acquire));
}

// Drops a dead process's queued work, unwinds its fibers in id order and cancels its timers.
// Runs on the process's strand, or in the platform's destructor once the pool has stopped.
void ThreadsPlatform::State::reap(ProcessStrand& process) {
  assert(!process.alive.load(std::memory_order_acquire));
  assert(!process.reaped);
  process.reaping = true;
  std::deque<WorkItem> dropped;
  {
    std::lock_guard lock(process.mutex);
    dropped.swap(process.queue);
  }
  {
    ScopedExecutionContext scope(&process.callback_context);
    dropped.clear();
  }
  // Fibers on lanes are unwound by their lane threads, at their next turn or the end of their
  // body (those parked in a turn are woken for it); the others here, in id order.
  std::vector<FiberId> here;
  for (auto& [id, slot] : process.fibers) {
    if (!slot->on_lane) {
      here.push_back(id);
    } else if (slot->state == FiberSlot::State::kParkedOnLane) {
      slot->state = FiberSlot::State::kQueued;
      slot->wake.release();
    }
  }
  for (FiberId id : here) {
    auto node = process.fibers.extract(id);
    if (node.empty()) continue;
    forget_fiber_owner(node.key());
    ScopedExecutionContext scope(&node.mapped()->context);
    node.mapped()->fiber.reset();  // unwinds its stack if it had started (destructors run)
  }
  for (auto& [number, pool] : process.lane_pools) pool->close();
  timers.cancel_process(process.id);
  process.reaped = true;
}

}  // namespace troupe
