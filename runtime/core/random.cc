#include "runtime/core/random.h"

#include <cassert>
#include <cmath>
#include <limits>

namespace troupe {
namespace {

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// One SplitMix64 output for `x`, without a state to carry.
uint64_t mix(uint64_t x) { return splitmix64(x); }

}  // namespace

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

Rng::Rng(uint64_t seed) : seed_(seed) {
  uint64_t state = seed;
  for (uint64_t& word : s_) word = splitmix64(state);
  // xoshiro's only bad state is all zeros; SplitMix64 is a bijection of its counter, so four
  // consecutive outputs are distinct and at most one of them is zero.
  assert((s_[0] | s_[1] | s_[2] | s_[3]) != 0);
}

uint64_t Rng::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

Rng Rng::fork(uint64_t stream) const {
  // Mixing the stream before combining it with the seed, and mixing again after, keeps nearby
  // streams (1, 2, 3) far apart and makes fork(a).fork(b) differ from fork(b).fork(a).
  return Rng(mix(seed_ ^ mix(stream)));
}

uint64_t Rng::below(uint64_t n) {
  assert(n > 0);
  // Lemire, "Fast Random Integer Generation in an Interval" (2019): the high word of x * n is
  // uniform in [0, n) once the low words that would over-represent some values are rejected.
  unsigned __int128 product = static_cast<unsigned __int128>(next_u64()) * n;
  uint64_t low = static_cast<uint64_t>(product);
  if (low < n) {
    const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    while (low < threshold) {
      product = static_cast<unsigned __int128>(next_u64()) * n;
      low = static_cast<uint64_t>(product);
    }
  }
  const uint64_t result = static_cast<uint64_t>(product >> 64);
  assert(result < n);
  return result;
}

int64_t Rng::uniform_int(int64_t lo, int64_t hi) {
  assert(lo <= hi);
  // Work in unsigned arithmetic: hi - lo overflows int64 for wide ranges, never uint64.
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  if (span == std::numeric_limits<uint64_t>::max()) {
    return static_cast<int64_t>(next_u64());  // the full int64 range: every bit pattern
  }
  const int64_t result = static_cast<int64_t>(static_cast<uint64_t>(lo) + below(span + 1));
  assert(lo <= result);
  assert(result <= hi);
  return result;
}

double Rng::uniform_double() {
  // The top 53 bits fill a double's mantissa exactly: every value is k / 2^53, never 1.
  return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

double Rng::uniform_real(double lo, double hi) {
  assert(lo <= hi);
  const double result = lo + (hi - lo) * uniform_double();
  // Rounding can land exactly on hi; keep the interval half-open as documented.
  if (result >= hi && lo < hi) return std::nextafter(hi, lo);
  return result;
}

bool Rng::bernoulli(double p) {
  // Always draw, so that changing p (a swarm knob, say) never shifts the draws that follow.
  const double u = uniform_double();
  if (p <= 0) return false;
  if (p >= 1) return true;
  return u < p;
}

double Rng::exponential(double mean) {
  assert(mean > 0);
  // 1 - u lies in (0, 1], so the log is finite. std::log is glibc's under both g++ and clang++.
  return -mean * std::log(1.0 - uniform_double());
}

}  // namespace troupe
