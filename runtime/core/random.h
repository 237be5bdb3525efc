// The project's pseudo-random generator and its distributions.
//
// Troupe never uses std::rand, std::random_device or the std:: distributions: their output differs
// between standard libraries, and a seed must replay the same run under g++ and clang++. Instead:
//
//   * `Rng` is xoshiro256** (Blackman & Vigna, 2018), seeded through SplitMix64. Its output for a
//     given seed is fixed by this file and pinned by tests (random_test.cc).
//   * `Rng::fork(stream)` derives an independent generator for a component (the network, the
//     scheduler, process 7, ...) from the parent's seed and a stream number, without consuming
//     the parent's sequence: adding a component never shifts the numbers another one draws.
//   * The distributions below are written out here (Lemire's unbiased bounded integers, 53-bit
//     doubles), so they too are identical everywhere.
//
// Not thread-safe: one Rng per component, used from one thread (the simulator is single-threaded).
//
//   troupe::Rng root(42);
//   troupe::Rng net = root.fork(troupe::kStreamNetwork);
//   int64_t jitter = net.uniform_int(0, 50'000);
#pragma once

#include <cstdint>

namespace troupe {

// Well-known stream numbers for Rng::fork. Per-process streams use kStreamProcessBase + pid.
inline constexpr uint64_t kStreamScheduler = 1;
inline constexpr uint64_t kStreamNetwork = 2;
inline constexpr uint64_t kStreamFaults = 3;
inline constexpr uint64_t kStreamBuggify = 4;
inline constexpr uint64_t kStreamProcessBase = 1'000'000;

// SplitMix64 step: advances `state` and returns the next output. Used for seeding and forking.
uint64_t splitmix64(uint64_t& state);

class Rng {
 public:
  // Seeds the four state words from SplitMix64(seed). Any seed, including 0, is valid.
  explicit Rng(uint64_t seed = 0);

  // The next 64 random bits.
  uint64_t next_u64();

  // An independent generator for `stream`, derived from this generator's seed only.
  Rng fork(uint64_t stream) const;

  // The seed this generator was created from.
  uint64_t seed() const { return seed_; }

  // Uniform integer in [lo, hi], inclusive. REQUIRES: lo <= hi. Unbiased (Lemire 2019).
  int64_t uniform_int(int64_t lo, int64_t hi);

  // Uniform integer in [0, n). REQUIRES: n > 0.
  uint64_t below(uint64_t n);

  // Uniform double in [0, 1) with 53 random bits.
  double uniform_double();

  // Uniform double in [lo, hi). REQUIRES: lo <= hi.
  double uniform_real(double lo, double hi);

  // True with probability p (p <= 0: never, p >= 1: always).
  bool bernoulli(double p);

  // True with probability numerator/denominator, exactly. REQUIRES: denominator > 0.
  bool one_in(uint64_t denominator) { return below(denominator) == 0; }

  // Exponentially distributed value with the given mean (> 0), via -mean * log(1 - u).
  double exponential(double mean);

 private:
  uint64_t seed_;
  uint64_t s_[4];
};

}  // namespace troupe
