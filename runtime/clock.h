// Time, yielding and randomness that work the same in a driver and in actors, on every platform.
//
// Under the simulator these are virtual: sleep(1h) costs no wall time, now() is the simulated
// clock, random() comes from the seeded per-process stream. Each call is a scheduling point.
//
// REQUIRES (all): called from code running on a Troupe platform.
#pragma once

#include <chrono>
#include <cstdint>

namespace troupe {

// Suspends the calling fiber for `duration` (never the platform thread).
void sleep(std::chrono::nanoseconds duration);

// Time since the platform started.
std::chrono::nanoseconds now();

// Lets other runnable work go first.
void yield();

// 64 random bits, deterministic under the simulator.
uint64_t random();

}  // namespace troupe
