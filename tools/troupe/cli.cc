#include "tools/troupe/cli.h"

#include <fstream>
#include <variant>

#include "fmt/format.h"
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
  size_t width = 0;
  for (const scenarios::Scenario* scenario : registry.all()) width = std::max(width, scenario->name.size());
  for (const scenarios::Scenario* scenario : registry.all()) {
    fmt::print(out, "{:<{}}  {:<13}  {}\n", scenario->name, width, scenario->expect_fail ? "[expect-fail]" : "",
               scenario->summary);
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
  SweepResult sweep = run_sweep(*selected, command, out, err);
  print_summary(sweep, out);
  if (json.is_open()) {
    json << sweep_json(sweep);
    json.close();
    if (!json) {
      fmt::print(err, "troupe: writing the JSON report '{}' failed\n", command.json_path);
      return kExitFailed;
    }
  }
  return sweep.exit_code();
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
  return replay_command(std::get<ReplayCommand>(*command), registry, out, err);
}

}  // namespace troupe::cli
