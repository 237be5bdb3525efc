#include "tools/troupe/seed_result.h"

#include <chrono>
#include <utility>

#include "runtime/wire/codec.h"

namespace troupe::cli {

scenarios::RunOptions sweep_run_options(const RunCommand& command, uint64_t seed) {
  return {.seed = seed, .platform = command.platform, .strategy = command.strategy,
          .strategy_options = {.pct = command.pct},
          .faults = command.faults.selection, .plan = command.faults.plan, .plan_path = command.faults.plan_path,
          .cluster_address = command.cluster.address, .cluster_token = command.cluster.token,
          .cluster_log = command.cluster.log_path, .chaos_kills = command.cluster.chaos_kills};
}

SeedResult compute_seed(const scenarios::Scenario& scenario, const RunCommand& command, uint64_t seed) {
  const auto start = std::chrono::steady_clock::now();
  const scenarios::RunOptions options = sweep_run_options(command, seed);
  SeedResult result{.seed = seed};
  scenarios::RunOutcome outcome;
  if (command.check_determinism) {
    scenarios::DeterminismReport report = scenarios::check_determinism(scenario, options);
    if (report.diverged) {
      result.diverged = true;
      result.divergence_event = report.event_index;
      result.first_event = std::move(report.first_event);
      result.second_event = std::move(report.second_event);
      result.second_hash = report.second_hash;
      result.divergence_message = std::move(report.message);
    }
    outcome = std::move(report.first);
  } else {
    outcome = scenarios::run_scenario(scenario, options);
  }
  result.passed = outcome.passed;
  if (!outcome.passed) result.failure = std::move(outcome.failure);
  result.trace_hash = outcome.trace_hash;
  result.fault_kinds.reserve(outcome.faults.size());
  for (const std::string& fault : outcome.faults) result.fault_kinds.push_back(fault.substr(0, fault.find(' ')));
  result.sometimes_declared = std::move(outcome.sometimes_declared);
  result.sometimes_hit = std::move(outcome.sometimes_hit);
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::string encode_seed_result(const SeedResult& result) { return wire::encode(result); }

absl::StatusOr<SeedResult> decode_seed_result(std::string_view bytes) {
  return wire::decode<SeedResult>(bytes, "a seed result");
}

}  // namespace troupe::cli
