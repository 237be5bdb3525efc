#include "runtime/fiber/fiber.h"

#include <boost/context/fiber.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "fmt/core.h"
#include "runtime/fiber/guard.h"

// Sanitizers must be told about every stack switch. Debian's Boost.Context is built for fcontext
// (assembly switches), and BOOST_USE_ASAN only annotates the ucontext flavour, which this library
// cannot use (its support symbols are not in the shared library); nothing annotates for TSan. So
// the switches are announced here, by hand, around every jump.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TROUPE_FIBER_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define TROUPE_FIBER_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(TROUPE_ASAN)
#define TROUPE_FIBER_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define TROUPE_FIBER_TSAN 1
#endif
#if TROUPE_FIBER_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#if TROUPE_FIBER_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace troupe {
namespace {

namespace ctx = boost::context;

// The current fiber is only read and written through these out-of-line functions. A fiber may be
// resumed by a different thread than the one it suspended on, and within one function a compiler
// may compute a thread-local's address once and reuse it after the switch (it cannot know the
// thread changed); a separate, non-inlined call recomputes it every time.
thread_local Fiber* t_current = nullptr;
[[gnu::noinline]] Fiber* get_current() { return t_current; }
[[gnu::noinline]] void set_current(Fiber* fiber) { t_current = fiber; }

[[noreturn]] void fatal(const std::string& message) {
  fmt::print(stderr, "troupe: {}\n", message);
  std::fflush(stderr);
  std::abort();
}

}  // namespace

struct Fiber::Impl {
  ctx::fiber context;      // the fiber itself, while it is suspended
  ctx::fiber caller;       // whoever resumed it, while it is running
  FiberStack stack;        // from the pool, between the first resume and the end
  bool unwinding = false;  // the destructor is unwinding the fiber's stack

  // ---- Sanitizer bookkeeping (empty without sanitizers) ----
  //
  // ASan: around each jump the running side announces where it goes, and the side that wakes up
  // confirms (and learns where it came from); a fiber's last jump passes nullptr, so its fake
  // frames die with it. TSan: each fiber has a TSan fiber, switched to just before each jump.
#if TROUPE_FIBER_ASAN
  void* resumer_fake_stack = nullptr;
  void* fiber_fake_stack = nullptr;
  const void* caller_bottom = nullptr;
  size_t caller_size = 0;
#endif
#if TROUPE_FIBER_TSAN
  void* tsan_fiber = nullptr;
  void* tsan_resumer = nullptr;
#endif

  // Boost's constructor jumps into the new stack (its entry frame) and straight back.
  void before_creating(const std::string& name) {
#if TROUPE_FIBER_TSAN
    tsan_fiber = __tsan_create_fiber(0);
    __tsan_set_fiber_name(tsan_fiber, name.c_str());
    tsan_resumer = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(tsan_fiber, 0);
#endif
  }
  void after_creating() {
#if TROUPE_FIBER_TSAN
    __tsan_switch_to_fiber(tsan_resumer, 0);
#endif
  }
  void before_entering_fiber() {
#if TROUPE_FIBER_ASAN
    __sanitizer_start_switch_fiber(&resumer_fake_stack, static_cast<char*>(stack.base) - stack.size, stack.size);
#endif
#if TROUPE_FIBER_TSAN
    tsan_resumer = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(tsan_fiber, 0);
#endif
  }
  void back_in_resumer(bool fiber_ended) {
#if TROUPE_FIBER_ASAN
    __sanitizer_finish_switch_fiber(resumer_fake_stack, nullptr, nullptr);
#endif
#if TROUPE_FIBER_TSAN
    if (fiber_ended) __tsan_destroy_fiber(tsan_fiber);
#endif
  }
  void before_leaving_fiber(bool for_good) {
#if TROUPE_FIBER_ASAN
    __sanitizer_start_switch_fiber(for_good ? nullptr : &fiber_fake_stack, caller_bottom, caller_size);
#endif
#if TROUPE_FIBER_TSAN
    __tsan_switch_to_fiber(tsan_resumer, 0);
#endif
  }
  void back_in_fiber() {
#if TROUPE_FIBER_ASAN
    __sanitizer_finish_switch_fiber(fiber_fake_stack, &caller_bottom, &caller_size);
#endif
  }

  // The fiber's entry point, on its own stack. Returns where to jump when the body is done.
  static ctx::fiber run(Fiber& self, ctx::fiber&& caller);
};

ctx::fiber Fiber::Impl::run(Fiber& self, ctx::fiber&& caller) {
  Impl& impl = *self.impl_;
  impl.back_in_fiber();
  impl.caller = std::move(caller);
  try {
    self.body_();
  } catch (const ctx::detail::forced_unwind&) {
    // Destruction: Boost catches this at the bottom of the stack and jumps back to the destroyer.
    impl.before_leaving_fiber(/*for_good=*/true);
    throw;
  } catch (const std::exception& e) {
    fatal(fmt::format("uncaught exception in fiber '{}': {}", self.name_, e.what()));
  } catch (...) {
    fatal(fmt::format("uncaught exception in fiber '{}': (not a std::exception)", self.name_));
  }
  // A body that returns during destruction caught forced_unwind and did not rethrow it: there is
  // nowhere to return to (the destroyer is waiting at the bottom of the stack).
  if (impl.unwinding) {
    fatal(fmt::format("fiber '{}' swallowed the forced unwind of its destruction (catch (...) without "
                      "rethrow)", self.name_));
  }
  impl.before_leaving_fiber(/*for_good=*/true);
  return std::move(impl.caller);
}

namespace {

// Boost.Context's StackAllocator concept over the pool. Boost calls allocate() when the fiber is
// created (on first resume) and deallocate() once the fiber has ended, on the resumer's stack.
class PoolStackAllocator {
 public:
  PoolStackAllocator(StackPool& pool, const std::string& name, FiberStack& stack)
      : pool_(&pool), name_(&name), stack_(&stack) {}

  ctx::stack_context allocate() {
    *stack_ = pool_->allocate(name_->c_str());
    ctx::stack_context result;
    result.sp = stack_->base;
    result.size = stack_->size;
    return result;
  }

  void deallocate(ctx::stack_context& context) noexcept {
    pool_->release(FiberStack{.base = context.sp, .size = context.size});
    *stack_ = FiberStack{};
  }

 private:
  StackPool* pool_;
  const std::string* name_;
  FiberStack* stack_;
};

}  // namespace

Fiber::Fiber(StackPool& pool, std::string name, absl::AnyInvocable<void()> body)
    : impl_(std::make_unique<Impl>()), pool_(pool), name_(std::move(name)), body_(std::move(body)) {}

Fiber::~Fiber() {
  if (running_) fatal(fmt::format("fiber '{}' destroyed while running", name_));
  if (!started_ || finished_) return;
  // Destroying Boost's handle switches into the fiber and throws forced_unwind from its pending
  // suspend(): destructors on the fiber stack run (and may look at Fiber::current()), then the
  // stack goes back to the pool and control comes back here.
  Fiber* previous = get_current();
  set_current(this);
  impl_->unwinding = true;
  impl_->before_entering_fiber();
  { ctx::fiber doomed = std::move(impl_->context); }
  impl_->back_in_resumer(/*fiber_ended=*/true);
  set_current(previous);
  finished_ = true;
}

void Fiber::resume() {
  if (finished_) fatal(fmt::format("resume() of fiber '{}', which has finished", name_));
  if (running_) fatal(fmt::format("resume() of fiber '{}', which is running", name_));
  fiber_internal::ensure_signal_stack();
  if (!started_) {
    started_ = true;
    impl_->before_creating(name_);
    impl_->context = ctx::fiber(std::allocator_arg, PoolStackAllocator(pool_, name_, impl_->stack),
                                [this](ctx::fiber&& caller) { return Impl::run(*this, std::move(caller)); });
    impl_->after_creating();
  }
  previous_ = get_current();
  set_current(this);
  running_ = true;
  impl_->before_entering_fiber();
  impl_->context = std::move(impl_->context).resume();
  // An empty handle means the body returned and Boost already handed the stack back.
  finished_ = !impl_->context;
  impl_->back_in_resumer(finished_);
  running_ = false;
  set_current(previous_);
}

void Fiber::suspend() {
  Fiber* self = get_current();
  if (self == nullptr) fatal("Fiber::suspend() called outside a fiber");
  Impl& impl = *self->impl_;
  if (impl.unwinding) fatal(fmt::format("fiber '{}' called suspend() while being destroyed", self->name_));
  impl.before_leaving_fiber(/*for_good=*/false);
  // A destructor unwinding the fiber makes this jump throw forced_unwind instead of returning.
  struct Arrived {
    Impl& impl;
    ~Arrived() { impl.back_in_fiber(); }
  } arrived{impl};
  impl.caller = std::move(impl.caller).resume();
  // Nothing thread-local may be used from before the jump: this may be another thread now.
}

Fiber* Fiber::current() { return get_current(); }

bool is_forced_unwind(const std::exception_ptr& e) {
  if (!e) return false;
  try {
    std::rethrow_exception(e);
  } catch (const ctx::detail::forced_unwind&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace troupe
