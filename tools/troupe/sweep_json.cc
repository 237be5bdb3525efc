// The --json report of `troupe run` (format in sweep.h).
#include <string>

#include "fmt/format.h"
#include "runtime/trace/json.h"
#include "scenarios/runner.h"
#include "tools/troupe/seed_result.h"
#include "tools/troupe/sweep.h"

namespace troupe::cli {
namespace {

void append_key(std::string& out, std::string_view key) {
  append_json_string(out, key);
  out.push_back(':');
}

std::string hex(uint64_t hash) { return fmt::format("\"{:#018x}\"", hash); }

void append_failures(std::string& out, const ScenarioResult& result, const RunCommand& command) {
  out += "\"failures\":[";
  for (size_t i = 0; i < result.failures.size(); ++i) {
    const SeedFailure& failure = result.failures[i];
    if (i > 0) out.push_back(',');
    out += fmt::format("{{\"seed\":{},\"message\":", failure.seed);
    append_json_string(out, failure.message);
    out += fmt::format(",\"trace_hash\":{},\"faults\":{},\"replay\":", hex(failure.trace_hash), failure.faults);
    append_json_string(out, scenarios::replay_command(result.scenario->name, sweep_run_options(command, failure.seed)));
    out.push_back('}');
  }
  out += "]";
}

void append_divergences(std::string& out, const ScenarioResult& result) {
  out += "\"divergences\":[";
  for (size_t i = 0; i < result.divergences.size(); ++i) {
    const Divergence& d = result.divergences[i];
    if (i > 0) out.push_back(',');
    out += fmt::format("{{\"seed\":{},\"event_index\":{},\"first_hash\":{},\"second_hash\":{},\"first_event\":", d.seed,
                       d.event_index, hex(d.first_hash), hex(d.second_hash));
    append_json_string(out, d.first_event);
    out += ",\"second_event\":";
    append_json_string(out, d.second_event);
    out.push_back('}');
  }
  out += "]";
}

void append_scenario(std::string& out, const ScenarioResult& result, const RunCommand& command) {
  out += "{";
  append_key(out, "name");
  append_json_string(out, result.scenario->name);
  out += fmt::format(",\"expect_fail\":{},\"judged_as_bug\":{},\"passed\":{},\"seeds\":{},",
                     result.scenario->expect_fail, result.judged_as_bug, result.passed(), result.seeds_run);
  append_failures(out, result, command);
  out += fmt::format(",\"distinct_failures\":{},\"sweep_hash\":{},\"fault_kinds\":{{", result.distinct.size(),
                     hex(result.sweep_hash));
  bool first_kind = true;
  for (const auto& [kind, count] : result.fault_kinds) {
    if (!first_kind) out.push_back(',');
    first_kind = false;
    append_key(out, kind);
    out += std::to_string(count);
  }
  out += "},\"sometimes_never_hit\":[";
  bool first = true;
  for (const std::string& name : result.sometimes_declared) {
    if (result.sometimes_hit.contains(name)) continue;
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, name);
  }
  out += "],";
  append_divergences(out, result);
  out += ",\"stopped_at_seed\":";
  out += result.stopped_at_seed ? std::to_string(*result.stopped_at_seed) : "null";
  out += ",\"not_run\":[";
  for (size_t i = 0; i < result.not_run.size(); ++i) {
    out += fmt::format("{}{{\"first\":{},\"last\":{}}}", i > 0 ? "," : "", result.not_run[i].first,
                       result.not_run[i].last);
  }
  out += "]";
  out += fmt::format(",\"wall_seconds\":{:.3f}}}", result.wall_seconds);
}

}  // namespace

std::string sweep_json(const SweepResult& sweep) {
  const RunCommand& command = sweep.command;
  std::string out = fmt::format("{{\"seeds\":{{\"first\":{},\"last\":{}}},\"strategy\":\"{}\",", command.seeds.first,
                                command.seeds.last, sim::strategy_name(command.strategy));
  if (command.strategy == sim::StrategyKind::kPct) {
    out += fmt::format("\"pct_depth\":{},\"pct_steps\":{},", command.pct.depth, command.pct.steps);
  }
  out += fmt::format(
      "\"platform\":\"{}\",\"check_determinism\":{},\"max_failures\":{},\"exit_code\":{},\"divergences\":{},"
      "\"jobs\":{},\"shard\":{},\"interrupted\":{},\"elapsed_seconds\":{:.3f},\"scenarios\":[",
      scenarios::platform_name(command.platform), command.check_determinism, command.max_failures, sweep.exit_code(),
      sweep.divergence_count(), command.jobs,
      command.shard ? fmt::format("{{\"index\":{},\"count\":{}}}", command.shard->index, command.shard->count) : "null",
      sweep.interrupted, sweep.elapsed_seconds);
  for (size_t i = 0; i < sweep.scenarios.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += "\n";
    append_scenario(out, sweep.scenarios[i], command);
  }
  out += "\n]}\n";
  return out;
}

}  // namespace troupe::cli
