#include "runtime/core/random.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <vector>

namespace troupe {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// A second, deliberately naive transcription of the published reference code (splitmix64.c and
// xoshiro256starstar.c from prng.di.unimi.it), kept apart from random.cc so that a slip in one
// shows up as a disagreement with the other and with the pinned constants below.
struct Reference {
  uint64_t s[4];
  explicit Reference(uint64_t seed) {
    uint64_t x = seed;
    for (uint64_t& word : s) {
      uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
  }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

// Computed once with the reference above (and independently in Python); a change here changes
// every seed's run, so it must be deliberate.
constexpr std::array<uint64_t, 5> kSeed0 = {0x99ec5f36cb75f2b4, 0xbf6e1f784956452a, 0x1a5f849d4933e6e0,
                                            0x6aa594f1262d2d2c, 0xbba5ad4a1f842e59};
constexpr std::array<uint64_t, 5> kSeed42 = {0x15780b2e0c2ec716, 0x6104d9866d113a7e, 0xae17533239e499a1,
                                             0xecb8ad4703b360a1, 0xfde6dc7fe2ec5e64};

TEST(RandomTest, SplitMix64MatchesThePublishedFirstOutput) {
  uint64_t state = 0;
  EXPECT_EQ(splitmix64(state), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(state, 0x9e3779b97f4a7c15ULL);
}

TEST(RandomTest, Seed0FirstOutputsArePinned) {
  Rng rng(0);
  Reference reference(0);
  for (uint64_t expected : kSeed0) {
    EXPECT_EQ(reference.next(), expected);
    EXPECT_EQ(rng.next_u64(), expected);
  }
}

TEST(RandomTest, Seed42FirstOutputsArePinned) {
  Rng rng(42);
  Reference reference(42);
  for (uint64_t expected : kSeed42) {
    EXPECT_EQ(reference.next(), expected);
    EXPECT_EQ(rng.next_u64(), expected);
  }
  EXPECT_EQ(rng.seed(), 42u);
}

TEST(RandomTest, AgreesWithReferenceOverALongRun) {
  Rng rng(0xdeadbeef);
  Reference reference(0xdeadbeef);
  for (int i = 0; i < 100'000; ++i) ASSERT_EQ(rng.next_u64(), reference.next()) << "draw " << i;
}

TEST(RandomTest, ForkOutputIsPinned) {
  // The fork derivation is part of the replay contract, like the generator itself.
  Rng network = Rng(42).fork(kStreamNetwork);
  EXPECT_EQ(network.seed(), 0x1db2233eb3bcaeb3ULL);
  EXPECT_EQ(network.next_u64(), 0xdca62e00f3f8dabdULL);
  EXPECT_EQ(network.next_u64(), 0xff612e6447330429ULL);
}

TEST(RandomTest, ForkDoesNotConsumeTheParent) {
  Rng parent(42);
  Rng child = parent.fork(2);
  (void)child.next_u64();
  EXPECT_EQ(parent.next_u64(), kSeed42[0]);
  EXPECT_EQ(parent.next_u64(), kSeed42[1]);
}

TEST(RandomTest, ForkDependsOnSeedAndStreamOnly) {
  Rng fresh(42);
  Rng drawn(42);
  for (int i = 0; i < 10; ++i) (void)drawn.next_u64();
  Rng a = fresh.fork(2);
  Rng b = drawn.fork(2);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(a.next_u64(), b.next_u64()) << "draw " << i;
}

TEST(RandomTest, DifferentStreamsGiveDifferentSequences) {
  Rng root(42);
  Rng two = root.fork(2);
  Rng three = root.fork(3);
  EXPECT_NE(two.seed(), three.seed());
  EXPECT_NE(two.next_u64(), three.next_u64());
  // Nor does a child repeat its parent, or forking commute.
  EXPECT_NE(Rng(42).fork(0).next_u64(), kSeed42[0]);
  EXPECT_NE(root.fork(2).fork(3).seed(), root.fork(3).fork(2).seed());
}

TEST(RandomTest, UniformIntStaysInInclusiveBoundsAndReachesBoth) {
  Rng rng(7);
  bool saw_lo = false;
  bool saw_hi = false;
  for (int i = 0; i < 10'000; ++i) {
    const int64_t v = rng.uniform_int(-3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
    saw_lo |= v == -3;
    saw_hi |= v == 3;
  }
  EXPECT_TRUE(saw_lo);
  EXPECT_TRUE(saw_hi);
}

TEST(RandomTest, UniformIntDegenerateRangeReturnsTheBound) {
  Rng rng(7);
  EXPECT_EQ(rng.uniform_int(5, 5), 5);
  EXPECT_EQ(rng.uniform_int(kMin, kMin), kMin);
  EXPECT_EQ(rng.uniform_int(kMax, kMax), kMax);
}

TEST(RandomTest, UniformIntFullRangeIsTheRawOutput) {
  Rng rng(42);
  for (uint64_t expected : kSeed42) EXPECT_EQ(rng.uniform_int(kMin, kMax), static_cast<int64_t>(expected));
}

TEST(RandomTest, UniformIntWideRangesDoNotOverflow) {
  Rng rng(9);
  bool saw_negative = false;
  for (int i = 0; i < 1000; ++i) {
    const int64_t v = rng.uniform_int(kMin + 1, kMax);  // span 2^64 - 2: not the full range
    saw_negative |= v < 0;
    const int64_t top = rng.uniform_int(kMax - 1, kMax);
    ASSERT_TRUE(top == kMax - 1 || top == kMax);
  }
  EXPECT_TRUE(saw_negative);
}

TEST(RandomTest, BelowRejectsToStayUnbiasedForAwkwardBounds) {
  // n just above 2^63: almost half of all 64-bit draws must be rejected.
  const uint64_t n = (uint64_t{1} << 63) + 1;
  Rng rng(3);
  int high_half = 0;
  for (int i = 0; i < 10'000; ++i) {
    const uint64_t v = rng.below(n);
    ASSERT_LT(v, n);
    high_half += v >= n / 2;
  }
  EXPECT_NEAR(high_half, 5000, 300);
  EXPECT_EQ(Rng(3).below(1), 0u);
}

TEST(RandomTest, DieRollCountsArePinnedAndPassChiSquare) {
  // 6000 rolls of a die with seed 2024. The counts are pinned (cross-checked with a Python
  // transcription of Lemire's method; any change to the generator or to uniform_int shows up
  // here) and must also look fair: chi-square with 5 degrees of freedom stays under 20.52, the
  // 0.1% critical value.
  Rng rng(2024);
  std::array<int, 6> counts{};
  for (int i = 0; i < 6000; ++i) ++counts[rng.uniform_int(1, 6) - 1];
  const std::array<int, 6> expected_counts = {1001, 986, 1003, 1003, 1018, 989};
  EXPECT_EQ(counts, expected_counts);
  double chi_square = 0;
  for (int count : counts) chi_square += (count - 1000.0) * (count - 1000.0) / 1000.0;
  EXPECT_LT(chi_square, 20.52);
}

TEST(RandomTest, UniformDoubleUsesTheTop53Bits) {
  Rng rng(42);
  EXPECT_EQ(rng.uniform_double(), static_cast<double>(kSeed42[0] >> 11) / 9007199254740992.0);
  Rng many(11);
  for (int i = 0; i < 10'000; ++i) {
    const double u = many.uniform_double();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(RandomTest, UniformRealIsHalfOpen) {
  Rng rng(5);
  for (int i = 0; i < 10'000; ++i) {
    const double v = rng.uniform_real(-2.5, 2.5);
    ASSERT_GE(v, -2.5);
    ASSERT_LT(v, 2.5);
  }
  EXPECT_EQ(rng.uniform_real(1.0, 1.0), 1.0);
}

TEST(RandomTest, BernoulliEdgesAreExactAndAlwaysDrawOnce) {
  Rng rng(1);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_FALSE(rng.bernoulli(0.0));
    ASSERT_FALSE(rng.bernoulli(-1.0));
    ASSERT_TRUE(rng.bernoulli(1.0));
    ASSERT_TRUE(rng.bernoulli(2.0));
  }
  // Each call consumed exactly one draw, whatever p was.
  Rng a(1);
  Rng b(1);
  (void)a.bernoulli(0.0);
  (void)a.bernoulli(1.0);
  (void)b.next_u64();
  (void)b.next_u64();
  EXPECT_EQ(a.next_u64(), b.next_u64());
}

TEST(RandomTest, BernoulliHalfIsRoughlyHalf) {
  Rng rng(8);
  int heads = 0;
  for (int i = 0; i < 10'000; ++i) heads += rng.bernoulli(0.5);
  EXPECT_NEAR(heads, 5000, 300);
}

TEST(RandomTest, OneInOneIsAlwaysAndOneInNIsRare) {
  Rng rng(4);
  int hits = 0;
  for (int i = 0; i < 10'000; ++i) {
    ASSERT_TRUE(rng.one_in(1));
    hits += rng.one_in(100);
  }
  EXPECT_NEAR(hits, 100, 40);
}

TEST(RandomTest, ExponentialIsPositiveWithTheRequestedMean) {
  Rng rng(6);
  double sum = 0;
  for (int i = 0; i < 100'000; ++i) {
    const double v = rng.exponential(2.0);
    ASSERT_GE(v, 0.0);
    sum += v;
  }
  EXPECT_NEAR(sum / 100'000, 2.0, 0.05);
}

}  // namespace
}  // namespace troupe
