#include "runtime/fiber/stack_pool.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "fmt/format.h"
#include "runtime/fiber/guard.h"

#if defined(__SANITIZE_ADDRESS__) || defined(TROUPE_ASAN)
#include <sanitizer/asan_interface.h>
#define TROUPE_UNPOISON(addr, size) ASAN_UNPOISON_MEMORY_REGION(addr, size)
#else
#define TROUPE_UNPOISON(addr, size) ((void)(addr), (void)(size))
#endif

namespace troupe {
namespace fiber_internal {
namespace {

[[noreturn]] void fatal(const std::string& message) {
  fmt::print(stderr, "troupe: {}\n", message);
  std::fflush(stderr);
  std::abort();
}

size_t page_bytes() {
  static const size_t bytes = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return bytes;
}

// ---- The guard table -------------------------------------------------------------------------
//
// Writers (allocate/release, any thread) serialize on a mutex and fill a slot before publishing
// it with a release store of `guard_begin`; the signal handler scans slots [0, high-water) with
// acquire loads and reads the name only of the slot that matches. A matching slot belongs to the
// stack the faulting thread is running on, which nobody releases while it faults.

struct GuardSlot {
  std::atomic<uintptr_t> guard_begin{0};  // 0: free
  size_t guard_bytes = 0;
  size_t stack_bytes = 0;
  char name[kGuardNameBytes] = {};
};

GuardSlot g_slots[kGuardSlots];
std::atomic<size_t> g_slots_high_water{0};

constexpr uint32_t kNoSlot = UINT32_MAX;

struct GuardWriters {
  std::mutex mutex;
  std::vector<uint32_t> free_slots;                  // below the high-water mark
  struct Live {
    uint32_t slot = 0;  // or kNoSlot
    size_t stack_bytes = 0;
  };
  // Stack base -> its slot and size: every live stack. Looked up, and walked only to sum (in
  // live_stack_usage, where order cannot matter): a hash map, so registering a stack (every
  // fiber's first resume) allocates no tree node.
  absl::flat_hash_map<uintptr_t, Live> slot_of;
  bool warned_full = false;
};

GuardWriters& writers() {
  static GuardWriters* instance = new GuardWriters;  // never destroyed: used until exit
  return *instance;
}

uint32_t claim_slot(GuardWriters& w) {
  if (!w.free_slots.empty()) {
    const uint32_t slot = w.free_slots.back();
    w.free_slots.pop_back();
    return slot;
  }
  const size_t next = g_slots_high_water.load(std::memory_order_relaxed);
  if (next == kGuardSlots) return kNoSlot;
  g_slots_high_water.store(next + 1, std::memory_order_release);
  return static_cast<uint32_t>(next);
}

// ---- The signal handler (async-signal-safe code only) ----------------------------------------

struct sigaction g_previous_segv;
struct sigaction g_previous_bus;

const GuardSlot* find_guard(uintptr_t address) {
  const size_t used = g_slots_high_water.load(std::memory_order_acquire);
  for (size_t i = 0; i < used; ++i) {
    const uintptr_t begin = g_slots[i].guard_begin.load(std::memory_order_acquire);
    if (begin != 0 && address >= begin && address - begin < g_slots[i].guard_bytes) return &g_slots[i];
  }
  return nullptr;
}

// A tiny append-only buffer: the handler may not call printf or allocate.
struct SignalMessage {
  char text[160];
  size_t length = 0;
  void append(const char* s, size_t max = SIZE_MAX) {
    for (size_t i = 0; i < max && s[i] != '\0' && length < sizeof(text); ++i) text[length++] = s[i];
  }
  void append_decimal(size_t value) {
    char digits[24];
    size_t count = 0;
    do {
      digits[count++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    while (count > 0 && length < sizeof(text)) text[length++] = digits[--count];
  }
  void write_to_stderr() const {
    size_t written = 0;
    while (written < length) {
      const ssize_t n = ::write(STDERR_FILENO, text + written, length - written);
      if (n > 0) {
        written += static_cast<size_t>(n);
      } else if (n < 0 && errno != EINTR) {
        return;
      }
    }
  }
};

void on_fault(int signal, siginfo_t* info, void* /*context*/) {
  const GuardSlot* slot = find_guard(reinterpret_cast<uintptr_t>(info->si_addr));
  if (slot != nullptr) {
    SignalMessage message;
    message.append("troupe: fiber stack overflow in fiber '");
    message.append(slot->name, kGuardNameBytes);
    message.append("' (stack of ");
    message.append_decimal(slot->stack_bytes);
    message.append(" bytes)\n");
    message.write_to_stderr();
    std::abort();
  }
  // Not an overflow: hand the fault back to whoever handled it before us (the default action,
  // or a sanitizer). Returning re-executes the faulting instruction; a signal sent with kill()
  // has no instruction to re-execute, so it is raised again (delivered once we return).
  const int saved_errno = errno;
  sigaction(signal, signal == SIGBUS ? &g_previous_bus : &g_previous_segv, nullptr);
  if (info->si_code <= 0) raise(signal);
  errno = saved_errno;
}

// ---- Alternate signal stacks, one per thread that runs fibers --------------------------------

constexpr size_t kSignalStackBytes = 64 * 1024;

struct ThreadSignalStack {
  void* memory = nullptr;  // ours to free, or nullptr when the thread had one already
  bool checked = false;

  ~ThreadSignalStack() {
    if (memory == nullptr) return;
    stack_t current;
    if (sigaltstack(nullptr, &current) == 0 && current.ss_sp == memory) {
      stack_t disable{};
      disable.ss_flags = SS_DISABLE;
      sigaltstack(&disable, nullptr);
    }
    munmap(memory, kSignalStackBytes);
  }
};

thread_local ThreadSignalStack t_signal_stack;

}  // namespace

void install_overflow_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_sigaction = &on_fault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGSEGV, &action, &g_previous_segv) != 0 || sigaction(SIGBUS, &action, &g_previous_bus) != 0) {
      fatal(fmt::format("sigaction for the fiber overflow handler failed: {}", std::strerror(errno)));
    }
  });
}

void ensure_signal_stack() {
  ThreadSignalStack& mine = t_signal_stack;
  if (mine.checked) return;
  mine.checked = true;
  stack_t current;
  if (sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE) == 0) return;
  void* memory = mmap(nullptr, kSignalStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) fatal(fmt::format("mmap of a signal stack failed: {}", std::strerror(errno)));
  stack_t stack{};
  stack.ss_sp = memory;
  stack.ss_size = kSignalStackBytes;
  if (sigaltstack(&stack, nullptr) != 0) fatal(fmt::format("sigaltstack failed: {}", std::strerror(errno)));
  mine.memory = memory;
}

void register_guard(const FiberStack& stack, size_t guard_bytes, const char* name) {
  const uintptr_t base = reinterpret_cast<uintptr_t>(stack.base);
  GuardWriters& w = writers();
  std::lock_guard lock(w.mutex);
  const uint32_t slot = claim_slot(w);
  const bool inserted = w.slot_of.emplace(base, GuardWriters::Live{.slot = slot, .stack_bytes = stack.size}).second;
  if (!inserted) fatal(fmt::format("fiber stack {} registered twice", fmt::ptr(stack.base)));
  if (slot == kNoSlot) {
    if (!w.warned_full) {
      fmt::print(stderr, "troupe: more than {} fiber stacks live; overflows of the extra ones are reported "
                 "as plain SIGSEGV\n", kGuardSlots);
    }
    w.warned_full = true;
    return;
  }
  GuardSlot& entry = g_slots[slot];
  entry.guard_bytes = guard_bytes;
  entry.stack_bytes = stack.size;
  const size_t length = name == nullptr ? 0 : strnlen(name, kGuardNameBytes - 1);
  if (length > 0) std::memcpy(entry.name, name, length);
  entry.name[length] = '\0';
  entry.guard_begin.store(base - stack.size - guard_bytes, std::memory_order_release);
}

void unregister_guard(const FiberStack& stack) {
  GuardWriters& w = writers();
  std::lock_guard lock(w.mutex);
  const auto it = w.slot_of.find(reinterpret_cast<uintptr_t>(stack.base));
  if (it == w.slot_of.end()) fatal(fmt::format("fiber stack {} released but not live", fmt::ptr(stack.base)));
  const uint32_t slot = it->second.slot;
  w.slot_of.erase(it);
  if (slot == kNoSlot) return;
  g_slots[slot].guard_begin.store(0, std::memory_order_release);
  w.free_slots.push_back(slot);
}

LiveStackUsage live_stack_usage() {
  const size_t page = page_bytes();
  LiveStackUsage usage;
  GuardWriters& w = writers();
  std::lock_guard lock(w.mutex);
  std::vector<unsigned char> pages;
  for (const auto& [base, live] : w.slot_of) {  // a sum: the hash order cannot show
    usage.stacks += 1;
    usage.reserved_bytes += live.stack_bytes;
    pages.assign(live.stack_bytes / page, 0);
    void* low = reinterpret_cast<void*>(base - live.stack_bytes);
    if (mincore(low, live.stack_bytes, pages.data()) != 0) {
      fatal(fmt::format("mincore of a fiber stack failed: {}", std::strerror(errno)));
    }
    for (unsigned char state : pages) usage.resident_bytes += (state & 1) != 0 ? page : 0;
  }
  return usage;
}

}  // namespace fiber_internal

LiveStackUsage live_stack_usage() { return fiber_internal::live_stack_usage(); }

// ---- StackPool -------------------------------------------------------------------------------

namespace {

using fiber_internal::fatal;
using fiber_internal::page_bytes;

// Maps [guard page | usable stack] and returns the usable part.
FiberStack map_stack(size_t stack_bytes) {
  const size_t guard = page_bytes();
  void* memory = mmap(nullptr, guard + stack_bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (memory == MAP_FAILED) {
    fatal(fmt::format("mmap of a fiber stack of {} bytes failed: {}", stack_bytes, std::strerror(errno)));
  }
  if (mprotect(memory, guard, PROT_NONE) != 0) {
    fatal(fmt::format("mprotect of a fiber stack guard page failed: {}", std::strerror(errno)));
  }
  return FiberStack{.base = static_cast<char*>(memory) + guard + stack_bytes, .size = stack_bytes};
}

void unmap_stack(const FiberStack& stack) {
  const size_t guard = page_bytes();
  void* memory = static_cast<char*>(stack.base) - stack.size - guard;
  if (munmap(memory, guard + stack.size) != 0) {
    fatal(fmt::format("munmap of a fiber stack failed: {}", std::strerror(errno)));
  }
}

}  // namespace

StackPool::StackPool(StackPoolOptions options) : options_(options) {
  if (options_.stack_bytes == 0) fatal("StackPoolOptions::stack_bytes must be positive");
  const size_t page = page_bytes();
  options_.stack_bytes = (options_.stack_bytes + page - 1) / page * page;
  fiber_internal::install_overflow_handler();
}

StackPool::~StackPool() {
  std::lock_guard lock(mutex_);
  if (live_ != 0) fatal(fmt::format("StackPool destroyed with {} stacks still live", live_));
  for (const FiberStack& stack : cache_) unmap_stack(stack);
}

FiberStack StackPool::allocate(const char* fiber_name) {
  FiberStack stack;
  {
    std::lock_guard lock(mutex_);
    if (live_ >= options_.max_live) fatal(fmt::format("StackPoolOptions::max_live ({}) exceeded", options_.max_live));
    ++live_;
    if (!cache_.empty()) {
      stack = cache_.back();
      cache_.pop_back();
    }
  }
  if (stack.base == nullptr) stack = map_stack(options_.stack_bytes);
  fiber_internal::register_guard(stack, page_bytes(), fiber_name);
  return stack;
}

void StackPool::release(FiberStack stack) {
  if (stack.base == nullptr || stack.size != options_.stack_bytes) {
    fatal(fmt::format("StackPool::release of a stack it did not hand out ({} bytes at {})", stack.size, fmt::ptr(stack.base)));
  }
  fiber_internal::unregister_guard(stack);
  // Frames that never returned (Boost's fiber entry, frames abandoned by a switch) leave ASan's
  // stack redzones poisoned; the next fiber on this memory would trip over them.
  TROUPE_UNPOISON(static_cast<char*>(stack.base) - stack.size, stack.size);
  bool cached = false;
  {
    std::lock_guard lock(mutex_);
    if (live_ == 0) fatal("StackPool::release with no stack live");
    --live_;
    if (cache_.size() < options_.max_cached) {
      cache_.push_back(stack);
      cached = true;
    }
  }
  if (!cached) unmap_stack(stack);
}

size_t StackPool::live() const {
  std::lock_guard lock(mutex_);
  return live_;
}

size_t StackPool::cached() const {
  std::lock_guard lock(mutex_);
  return cache_.size();
}

}  // namespace troupe
