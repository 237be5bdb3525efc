// Delta debugging: the ddmin algorithm of Zeller and Hildebrandt ("Simplifying and Isolating
// Failure-Inducing Input", IEEE TSE 28(2), 2002), which `troupe shrink` runs over a plan's faults,
// a buggify fault's sites and a schedule's guided choices.
//
// Given `count` items whose whole set makes a test fail, ddmin looks for a small subset that still
// fails: it splits the current set into n chunks, keeps a chunk that fails alone (and starts over
// with n = 2), else the complement of a chunk that fails without it (n - 1), else doubles n; it
// stops when n reaches the set's size. The result is 1-minimal: removing any one of its items makes
// the test pass (unless the test budget ran out first). A test that passed is remembered and never
// run again. The whole set is assumed to fail and is never tested.
//
// Deterministic: the chunks are contiguous runs of the current set, in index order, tried first to
// last, so the same `fails` gives the same tests in the same order.
//
//   DdminResult result = ddmin(faults.size(), {.max_tests = 500}, [&](std::span<const size_t> kept) {
//     return run_with(kept) == original_failure;
//   });
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/functional/function_ref.h"

namespace troupe::cli {

struct DdminOptions {
  // Test the empty set first (one test; a failure that needs none of the items ends there). Off
  // when the result must keep at least one item.
  bool allow_empty = true;
  uint64_t max_tests = 1'000;  // calls of `fails` at most; 0 runs none
};

struct DdminResult {
  std::vector<size_t> kept;  // indices into [0, count), increasing; a set that fails (or all of them)
  uint64_t tests = 0;        // calls of `fails`
  bool complete = false;     // kept is 1-minimal; false: max_tests ran out first
};

// `fails(subset)`: whether the test fails with only the items `subset` (indices into [0, count),
// increasing). REQUIRES: the whole set fails.
[[nodiscard]] DdminResult ddmin(size_t count, const DdminOptions& options,
                                absl::FunctionRef<bool(std::span<const size_t>)> fails);

}  // namespace troupe::cli
