#include "tools/bench/memory_meter.h"

#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <string>

namespace troupe::bench {
namespace {

std::atomic<bool> g_counting{false};
std::atomic<int64_t> g_live{0};
std::atomic<int64_t> g_peak{0};

void count_allocated(void* block) {
  if (block == nullptr || !g_counting.load(std::memory_order_relaxed)) return;
  const auto bytes = static_cast<int64_t>(malloc_usable_size(block));
  const int64_t live = g_live.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  int64_t peak = g_peak.load(std::memory_order_relaxed);
  while (live > peak && !g_peak.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
  }
}

void count_freed(void* block) {
  if (block == nullptr || !g_counting.load(std::memory_order_relaxed)) return;
  g_live.fetch_sub(static_cast<int64_t>(malloc_usable_size(block)), std::memory_order_relaxed);
}

void* allocate(size_t bytes) {
  void* block = std::malloc(bytes == 0 ? 1 : bytes);
  if (block == nullptr) throw std::bad_alloc();
  count_allocated(block);
  return block;
}

void* allocate_aligned(size_t bytes, std::align_val_t alignment) {
  const size_t align = static_cast<size_t>(alignment);
  void* block = nullptr;
  if (posix_memalign(&block, align < sizeof(void*) ? sizeof(void*) : align, bytes == 0 ? 1 : bytes) != 0) {
    throw std::bad_alloc();
  }
  count_allocated(block);
  return block;
}

void release(void* block) noexcept {
  count_freed(block);
  std::free(block);
}

int64_t page_bytes() { return static_cast<int64_t>(sysconf(_SC_PAGESIZE)); }

}  // namespace

void MemoryMeter::start() {
  g_counting.store(false, std::memory_order_relaxed);
  g_live.store(0, std::memory_order_relaxed);
  g_peak.store(0, std::memory_order_relaxed);
  g_counting.store(true, std::memory_order_relaxed);
}

void MemoryMeter::stop() { g_counting.store(false, std::memory_order_relaxed); }

int64_t MemoryMeter::live_bytes() const { return g_live.load(std::memory_order_relaxed); }
int64_t MemoryMeter::peak_bytes() const { return g_peak.load(std::memory_order_relaxed); }

int64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size_pages = 0;
  int64_t resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * page_bytes();
}

int64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoll(line.c_str() + 6, nullptr, 10) * 1024;  // "NNN kB"
  }
  return 0;
}

bool reset_peak_rss() {
  std::FILE* clear = std::fopen("/proc/self/clear_refs", "w");
  if (clear == nullptr) return false;
  const bool written = std::fputs("5", clear) >= 0;
  return std::fclose(clear) == 0 && written;
}

}  // namespace troupe::bench

// The replaced global allocation functions ([new.delete]): every form, so no block allocated by
// one form is freed by a default one.
void* operator new(size_t bytes) { return troupe::bench::allocate(bytes); }
void* operator new[](size_t bytes) { return troupe::bench::allocate(bytes); }
void* operator new(size_t bytes, const std::nothrow_t&) noexcept {
  try {
    return troupe::bench::allocate(bytes);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](size_t bytes, const std::nothrow_t& tag) noexcept { return operator new(bytes, tag); }
void* operator new(size_t bytes, std::align_val_t alignment) { return troupe::bench::allocate_aligned(bytes, alignment); }
void* operator new[](size_t bytes, std::align_val_t alignment) {
  return troupe::bench::allocate_aligned(bytes, alignment);
}
void* operator new(size_t bytes, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  try {
    return troupe::bench::allocate_aligned(bytes, alignment);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](size_t bytes, std::align_val_t alignment, const std::nothrow_t& tag) noexcept {
  return operator new(bytes, alignment, tag);
}
void operator delete(void* block) noexcept { troupe::bench::release(block); }
void operator delete[](void* block) noexcept { troupe::bench::release(block); }
void operator delete(void* block, size_t) noexcept { troupe::bench::release(block); }
void operator delete[](void* block, size_t) noexcept { troupe::bench::release(block); }
void operator delete(void* block, const std::nothrow_t&) noexcept { troupe::bench::release(block); }
void operator delete[](void* block, const std::nothrow_t&) noexcept { troupe::bench::release(block); }
void operator delete(void* block, std::align_val_t) noexcept { troupe::bench::release(block); }
void operator delete[](void* block, std::align_val_t) noexcept { troupe::bench::release(block); }
void operator delete(void* block, size_t, std::align_val_t) noexcept { troupe::bench::release(block); }
void operator delete[](void* block, size_t, std::align_val_t) noexcept { troupe::bench::release(block); }
void operator delete(void* block, std::align_val_t, const std::nothrow_t&) noexcept { troupe::bench::release(block); }
void operator delete[](void* block, std::align_val_t, const std::nothrow_t&) noexcept { troupe::bench::release(block); }
