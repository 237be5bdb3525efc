#include "tools/troupe/cli.h"

#include <algorithm>
#include <fstream>
#include <variant>

#include "fmt/format.h"
#include "tools/troupe/cluster_commands.h"
#include "tools/troupe/regress.h"
#include "tools/troupe/shrink.h"
#include "tools/troupe/sweep.h"

namespace troupe::cli {
namespace {

int usage_error(std::FILE* err, std::string_view message) {
  fmt::print(err, "troupe: {}\n", message);
  return kExitUsage;
}

}  // namespace

int list_scenarios(const scenarios::Registry& registry, std::FILE* out) {
  std::vector<const scenarios::Scenario*> correct;
  std::vector<const scenarios::Scenario*> bugs;
  size_t width = 0;
  for (const scenarios::Scenario* scenario : registry.all()) {
    (scenario->expect_fail ? bugs : correct).push_back(scenario);
    width = std::max(width, scenario->name.size());
  }
  // Correct scenarios first, then the planted bugs, each group sorted by name; the marker stays on
  // every planted bug's line, so `grep expect-fail` lists them.
  fmt::print(out, "correct scenarios ({}), each must pass on every seed:\n", correct.size());
  for (const scenarios::Scenario* scenario : correct) {
    fmt::print(out, "  {:<{}}  {:<13}  {}\n", scenario->name, width, "", scenario->summary);
  }
  if (bugs.empty()) return kExitPassed;
  fmt::print(out, "planted bugs ({}), each expected to fail on some seed (troupe run --bugs):\n", bugs.size());
  for (const scenarios::Scenario* scenario : bugs) {
    fmt::print(out, "  {:<{}}  {:<13}  {}\n", scenario->name, width, "[expect-fail]", scenario->summary);
  }
  return kExitPassed;
}

int run_command(const RunCommand& command, const scenarios::Registry& registry, std::FILE* out, std::FILE* err) {
  absl::StatusOr<std::vector<const scenarios::Scenario*>> selected = select_scenarios(registry, command);
  if (!selected.ok()) return usage_error(err, std::string(selected.status().message()));
  if (selected->empty()) return usage_error(err, "no scenario selected (the registry has none of that kind)");
  // Open the report file first: a bad path should not cost a whole sweep.
  std::ofstream json;
  if (!command.json_path.empty()) {
    json.open(command.json_path);
    if (!json.is_open()) return usage_error(err, fmt::format("cannot write the JSON report '{}'", command.json_path));
  }
  std::ofstream junit;
  if (!command.junit_path.empty()) {
    junit.open(command.junit_path);
    if (!junit.is_open()) return usage_error(err, fmt::format("cannot write the JUnit report '{}'", command.junit_path));
  }
  absl::StatusOr<SweepResult> sweep = run_sweep(*selected, command, out, err);
  if (!sweep.ok()) {
    fmt::print(err, "troupe: the sweep failed: {}\n", sweep.status().message());
    return kExitFailed;
  }
  print_summary(*sweep, out);
  int exit_code = sweep->exit_code();
  const auto finish_report = [&](std::ofstream& file, const std::string& text, std::string_view what,
                                 const std::string& path) {
    if (!file.is_open()) return;
    file << text;
    file.close();
    if (!file) {
      fmt::print(err, "troupe: writing the {} report '{}' failed\n", what, path);
      if (exit_code == kExitPassed) exit_code = kExitFailed;
    }
  };
  finish_report(json, sweep_json(*sweep), "JSON", command.json_path);
  finish_report(junit, sweep_junit(*sweep), "JUnit", command.junit_path);
  return exit_code;
}

int run_cli(const std::vector<std::string>& args, const scenarios::Registry& registry, std::FILE* out,
            std::FILE* err) {
  absl::StatusOr<Command> command = parse_command(args);
  if (!command.ok()) return usage_error(err, std::string(command.status().message()));
  if (std::holds_alternative<HelpCommand>(*command)) {
    fmt::print(out, "{}", usage());
    return kExitPassed;
  }
  if (std::holds_alternative<ListCommand>(*command)) return list_scenarios(registry, out);
  if (const auto* run = std::get_if<RunCommand>(&*command)) return run_command(*run, registry, out, err);
  if (const auto* shrink = std::get_if<ShrinkCommand>(&*command)) return shrink_command(*shrink, registry, out, err);
  if (const auto* regress = std::get_if<RegressCommand>(&*command)) return regress_command(*regress, registry, out, err);
  if (const auto* head = std::get_if<HeadCommand>(&*command)) return head_command(*head, err);
  if (const auto* node = std::get_if<NodeCommand>(&*command)) return node_command(*node, err);
  return replay_command(std::get<ReplayCommand>(*command), registry, out, err);
}

}  // namespace troupe::cli
