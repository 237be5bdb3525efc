// What one seed of a sweep produced: the unit a sweep folds into its per-scenario results, in
// seed order, whether the seed ran in this process or in a `--jobs` worker process.
//
// compute_seed runs the seed (and, with --check-determinism, runs it twice and compares); the
// record carries only what the reports need (the failure message, the trace hash, the realized
// fault kinds, the `sometimes` probes, a divergence), so it is small enough to cross a pipe.
// encode_seed_result / decode_seed_result are its msgpack form for that pipe; decoding untrusted
// or truncated bytes is an InvalidArgument, never a crash.
//
//   SeedResult result = compute_seed(*scenario, command, 17);
//   std::string bytes = encode_seed_result(result);
//   absl::StatusOr<SeedResult> back = decode_seed_result(bytes);   // == result
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "msgpack.hpp"
#include "scenarios/runner.h"
#include "scenarios/scenario.h"
#include "tools/troupe/args.h"

namespace troupe::cli {

struct SeedResult {
  uint64_t seed = 0;
  bool passed = true;
  std::string failure;                      // RunOutcome::failure when !passed
  uint64_t trace_hash = 0;
  std::vector<std::string> fault_kinds;     // the kind of each realized fault, in order ("crash")
  std::vector<std::string> sometimes_declared;  // sorted
  std::vector<std::string> sometimes_hit;       // sorted
  // --check-determinism: the second run's trace differed from the first.
  bool diverged = false;
  uint64_t divergence_event = 0;
  std::string first_event;
  std::string second_event;
  uint64_t second_hash = 0;
  std::string divergence_message;           // DeterminismReport::message
  double wall_seconds = 0;                  // the seed's real duration (both runs with determinism)

  bool operator==(const SeedResult&) const = default;
  MSGPACK_DEFINE(seed, passed, failure, trace_hash, fault_kinds, sometimes_declared, sometimes_hit, diverged,
                 divergence_event, first_event, second_event, second_hash, divergence_message, wall_seconds);
};

// The options a sweep runs `seed` with (also what its replay command names).
scenarios::RunOptions sweep_run_options(const RunCommand& command, uint64_t seed);

// Runs one seed of `scenario` as `command` says.
SeedResult compute_seed(const scenarios::Scenario& scenario, const RunCommand& command, uint64_t seed);

std::string encode_seed_result(const SeedResult& result);
absl::StatusOr<SeedResult> decode_seed_result(std::string_view bytes);

}  // namespace troupe::cli
