// The Savina subset (Imam & Sarkar, "Savina - An Actor Benchmark Suite", AGERE 2014) that
// troupe_real_bench (savina_troupe.cc, Troupe's threads platform) and troupe_caf_bench
// (caf_bench.cc, CAF) both run, under the same benchmark names and arguments, so that a script
// can join their rows by name. Only what the two sides must agree on lives here: the sizes, the
// number of messages a run counts (its items), the registration, and the pure per-message work.
//
// What one item is (items_per_second = items per wall second of the timed phase):
//   BM_PingPong/N        one message: a ping or its pong. N round trips = 2N items.
//   BM_Counting/N        one increment message. N items (the final query and its answer are not
//                        counted).
//   BM_ThreadRing/R/T    one hop of the token to the next of R actors. T items.
//   BM_ForkJoin/A/M      one message to one of A workers, which does light work (sin^2). A*M items.
//   BM_Chameneos/C/N     one message of a meeting: C chameneos meet N times through the mall, 4
//                        messages a meeting (two requests to meet, the partner's colour to each
//                        side). 4N items (the C fading messages at the end are not counted).
// How each side maps a Savina message onto its model is in the header of its file: CAF sends
// one-way messages as Savina does; Troupe has only calls, each of which also returns a result.
//
// Timing: every iteration is one run; only its message phase is timed (manual time, wall clock):
// not starting the platform or the actor system's actors. Checked: every run verifies its answer
// (the count, the sum of meetings, ...) and a wrong one fails the benchmark.
#pragma once

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>

namespace troupe::bench::savina {

// Sizes: Savina's defaults, except where a CAF run would take under 50 ms on a 2-core machine
// (ping-pong) or where Troupe's run would hold more than half a million calls outstanding at
// once (counting, fork-join: the sender submits every call before it yields, and each
// outstanding call holds about 700 bytes until then; at Savina's sizes Troupe's part of the
// suite would not finish in 2 minutes on a loaded 2-core machine).
inline constexpr int64_t kPingPongRounds = 100'000;      // Savina: 40,000 (35 ms on CAF)
inline constexpr int64_t kCountingMessages = 500'000;    // Savina: 1,000,000
inline constexpr int64_t kRingActors = 100;              // Savina: 100
inline constexpr int64_t kRingHops = 100'000;            // Savina: 100,000
inline constexpr int64_t kForkJoinActors = 60;           // Savina: 60
inline constexpr int64_t kForkJoinMessages = 5'000;      // Savina: 10,000 per actor
inline constexpr int64_t kChameneos = 100;               // Savina: 100
inline constexpr int64_t kChameneosMeetings = 200'000;   // Savina: 200,000

inline int64_t ping_pong_items(int64_t rounds) { return 2 * rounds; }
inline int64_t chameneos_items(int64_t meetings) { return 4 * meetings; }

// Savina's chameneos colours and their complement rule (ChameneosHelper.complement): two
// chameneos of one colour keep it; two of different colours both take the third. kFaded is the
// answer of the mall once all meetings took place.
enum Color : int { kBlue = 0, kRed = 1, kYellow = 2, kFaded = 3 };
inline int complement(int color, int other) {
  if (color == kFaded || other == kFaded) return kFaded;
  if (color == other) return color;
  return 3 - color - other;  // the third of {0, 1, 2}
}
inline int initial_color(int64_t index) { return static_cast<int>(index % 3); }

// Savina's fork-join work per message (ForkJoinConfig.performComputation): sin(theta)^2, which
// is positive for theta = 37.2 (Savina's value); the workers check it, which keeps it computed.
inline constexpr double kForkJoinTheta = 37.2;
inline double fork_join_work(double theta) {
  const double sint = std::sin(theta);
  return sint * sint;
}

// Wall time per run, in milliseconds, from the run's own timer.
inline void configure(benchmark::internal::Benchmark* b) {
  b->UseManualTime()->Unit(benchmark::kMillisecond);
}

}  // namespace troupe::bench::savina

// Registers the five benchmarks, defined by the including file, with the shared arguments.
#define TROUPE_SAVINA_BENCHMARKS()                                                                         \
  BENCHMARK(BM_PingPong)->Args({::troupe::bench::savina::kPingPongRounds})->Apply(::troupe::bench::savina::configure); \
  BENCHMARK(BM_Counting)                                                                                   \
      ->Args({::troupe::bench::savina::kCountingMessages})                                                 \
      ->Apply(::troupe::bench::savina::configure);                                                         \
  BENCHMARK(BM_ThreadRing)                                                                                 \
      ->Args({::troupe::bench::savina::kRingActors, ::troupe::bench::savina::kRingHops})                   \
      ->Apply(::troupe::bench::savina::configure);                                                         \
  BENCHMARK(BM_ForkJoin)                                                                                   \
      ->Args({::troupe::bench::savina::kForkJoinActors, ::troupe::bench::savina::kForkJoinMessages})       \
      ->Apply(::troupe::bench::savina::configure);                                                         \
  BENCHMARK(BM_Chameneos)                                                                                  \
      ->Args({::troupe::bench::savina::kChameneos, ::troupe::bench::savina::kChameneosMeetings})           \
      ->Apply(::troupe::bench::savina::configure)
