// Threaded actors on the threads platform: run_parallel's lanes and the process's turn (the
// protocol is in threads_platform.h).
#include <cassert>
#include <cstdlib>
#include <exception>
#include <memory>
#include <thread>
#include <utility>

#include "runtime/fiber/fiber.h"
#include "runtime/real/threads_platform_state.h"

namespace troupe {
namespace {

// The current fiber holds its dead process's gate on a lane: it switches out to its lane thread,
// which unwinds it (the forced unwind surfaces here, from Fiber::suspend).
void switch_out_to_be_unwound() {
  Fiber::suspend();
  assert(false && "a fiber of a dead process was resumed on its lane");
  std::abort();
}

// The process and slot of the fiber on this lane thread. REQUIRES: holding the gate.
FiberSlot& lane_slot(ProcessStrand& process, FiberId fiber) {
  auto it = process.fibers.find(fiber);
  assert(it != process.fibers.end() && "a fiber on a lane is missing from its process");
  return *it->second;
}

}  // namespace

void ThreadsPlatform::run_parallel(int pool, int lanes, absl::FunctionRef<void()> body) {
  ExecutionContext* context = ExecutionContext::current();
  assert(owns(context) && context->fiber.valid() &&
         "run_parallel() outside a fiber of this platform");
  assert(!context->parallel && lanes >= 1 && "run_parallel() nested, or without lanes");
  ProcessStrand* process = nullptr;
  FiberSlot* slot = state_->current_slot(&process);
  if (slot == nullptr) {  // being unwound: no lane for a dead process; run it here, in order
    body();
    return;
  }
  assert(!slot->on_lane && "run_parallel() inside run_parallel (in a turn)");
  slot->lane_pool = pool;
  slot->lane_count = lanes;
  slot->on_lane = true;
  slot->state = FiberSlot::State::kOnLane;
  Fiber::suspend();  // the strand hands this fiber to a lane thread, which resumes it here
  // On the lane thread, outside the turn. `context` is still this fiber's (slot->context).
  context->parallel = true;
  if (!process->alive.load(std::memory_order_acquire)) enter_turn();  // unwinds: died before the body
  std::exception_ptr error;
  try {
    body();
  } catch (...) {
    error = std::current_exception();
    if (is_forced_unwind(error)) throw;
  }
  // Back to the strand: take the turn, then switch out holding it; the lane thread posts this
  // fiber's resume item and gives the turn back, and the strand resumes it here.
  enter_turn();
  slot->state = FiberSlot::State::kQueued;
  Fiber::suspend();
  if (error) std::rethrow_exception(error);
}

void ThreadsPlatform::enter_turn() {
  ExecutionContext* context = ExecutionContext::current();
  assert(owns(context) && context->parallel && "enter_turn() outside a lane");
  ProcessStrand* process = state_->find(context->process);
  assert(process != nullptr);
  process->gate.acquire();
  context->parallel = false;
  FiberSlot& slot = lane_slot(*process, context->fiber);
  if (!process->alive.load(std::memory_order_acquire)) switch_out_to_be_unwound();
  slot.state = FiberSlot::State::kRunning;
}

void ThreadsPlatform::leave_turn() {
  ExecutionContext* context = ExecutionContext::current();
  assert(owns(context) && !context->parallel && "leave_turn() without the turn");
  ProcessStrand* process = state_->find(context->process);
  assert(process != nullptr);
  FiberSlot& slot = lane_slot(*process, context->fiber);
  // A turn closing while its fiber is unwound: the lane thread that unwinds it holds the gate.
  if (slot.unwinding) return;
  assert(slot.state == FiberSlot::State::kRunning);
  slot.state = FiberSlot::State::kOnLane;
  context->parallel = true;
  process->gate.release();
}

void ThreadsPlatform::State::hand_to_lane(ProcessStrand& process, FiberSlot& slot) {
  assert(slot.on_lane && slot.state == FiberSlot::State::kOnLane);
  if (!process.alive.load(std::memory_order_acquire)) {
    // Died during this step: unwound with the others by reap, from its hand-off.
    slot.on_lane = false;
    slot.state = FiberSlot::State::kRunning;
    return;
  }
  // From now on every item takes the gate. (This item did not if the process was not gated yet;
  // it touches nothing strand-owned after this, and a lane touches nothing before taking it.)
  process.gated.store(true, std::memory_order_relaxed);
  std::unique_ptr<real::LanePool>& pool = process.lane_pools[slot.lane_pool];
  if (pool == nullptr) {
    pool = std::make_unique<real::LanePool>(slot.lane_count,
                                            [this, &process](FiberSlot& lane_fiber) { run_on_lane(process, lane_fiber); });
  }
  assert(pool->limit() == slot.lane_count && "run_parallel() on one pool with different lane counts");
  pool->push(&slot);  // last: the lane may run the fiber at once
}

void ThreadsPlatform::State::run_on_lane(ProcessStrand& process, FiberSlot& slot) {
  {
    ScopedExecutionContext scope(&slot.context);
    slot.fiber->resume();
  }
  // The fiber switched out holding the turn: this thread holds the gate now.
  assert(!slot.fiber->finished() && "a fiber finished on a lane");
  bool dead = !process.alive.load(std::memory_order_acquire);
  if (!dead) {
    assert(slot.state == FiberSlot::State::kQueued && "a fiber left its lane without going back");
    slot.on_lane = false;
    dead = !post(process, {.kind = WorkItem::Kind::kResumeFiber, .fiber = slot.id});
  }
  if (dead) unwind_on_lane(process, slot);
  process.gate.release();
}

void ThreadsPlatform::State::unwind_on_lane(ProcessStrand& process, FiberSlot& slot) {
  assert(!process.alive.load(std::memory_order_acquire));
  const FiberId id = slot.id;
  slot.unwinding = true;
  slot.context.parallel = false;  // turns opened by destructors are no-ops: this thread holds it
  {
    ScopedExecutionContext scope(&slot.context);
    slot.fiber.reset();  // destructors run here, on the fiber's own lane thread
  }
  forget_fiber_owner(id);
  process.fibers.erase(id);
}

void ThreadsPlatform::State::park_on_lane(ProcessStrand& process, FiberSlot& slot) {
  slot.state = FiberSlot::State::kParkedOnLane;
  process.gate.release();
  slot.wake.acquire();  // released once by unpark, or by reap
  process.gate.acquire();
  if (!process.alive.load(std::memory_order_acquire)) switch_out_to_be_unwound();
  assert(slot.state == FiberSlot::State::kQueued);
  slot.state = FiberSlot::State::kRunning;
}

void ThreadsPlatform::State::yield_on_lane(ProcessStrand& process, FiberSlot& slot) {
  slot.state = FiberSlot::State::kOnLane;
  process.gate.release();
  std::this_thread::yield();
  process.gate.acquire();
  if (!process.alive.load(std::memory_order_acquire)) switch_out_to_be_unwound();
  slot.state = FiberSlot::State::kRunning;
}

}  // namespace troupe
