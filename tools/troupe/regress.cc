// `troupe regress PATH...`: every plan of a corpus replayed and compared with its expect section.
#include "tools/troupe/regress.h"

#include <algorithm>
#include <cassert>
#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "faults/injector.h"
#include "fmt/format.h"
#include "scenarios/runner.h"
#include "tools/troupe/shrink.h"
#include "tools/troupe/text.h"

namespace troupe::cli {
namespace {

using absl::InvalidArgumentError;

// The *.json regular files of `dir`, sorted by name, joined to `dir` as given.
absl::StatusOr<std::vector<std::string>> plan_files_in(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code error;
  for (std::filesystem::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    const std::filesystem::path& entry = it->path();
    std::error_code type_error;
    if (entry.extension() == ".json" && std::filesystem::is_regular_file(entry, type_error)) {
      names.push_back(entry.filename().string());
    }
    if (names.size() > kRegressPlansMax) break;
  }
  if (error) return InvalidArgumentError(fmt::format("{}: cannot list the directory: {}", dir, error.message()));
  if (names.empty()) return InvalidArgumentError(fmt::format("{}: no plan files (*.json) in the directory", dir));
  std::sort(names.begin(), names.end());
  std::vector<std::string> paths;
  paths.reserve(names.size());
  for (const std::string& name : names) paths.push_back((std::filesystem::path(dir) / name).string());
  return paths;
}

// Loads `path` and checks what a regression needs beyond a valid plan.
absl::StatusOr<Regression> load_regression(const std::string& path, const scenarios::Registry& registry) {
  absl::StatusOr<faults::FaultPlan> plan = faults::load_plan(path);
  if (!plan.ok()) return InvalidArgumentError(std::string(plan.status().message()));
  if (absl::Status supported = faults::check_supported(*plan); !supported.ok()) {
    return InvalidArgumentError(fmt::format("{}: {}", path, supported.message()));
  }
  constexpr std::string_view kNeeds = "a regression plan names its scenario and seed and has an expect section";
  if (!plan->scenario) return InvalidArgumentError(fmt::format("{}: names no scenario ({})", path, kNeeds));
  if (!plan->seed) return InvalidArgumentError(fmt::format("{}: names no seed ({})", path, kNeeds));
  if (!plan->expect) return InvalidArgumentError(fmt::format("{}: has no expect section ({})", path, kNeeds));
  const scenarios::Scenario* scenario = registry.find(*plan->scenario);
  if (scenario == nullptr) {
    return InvalidArgumentError(
        fmt::format("{}: unknown scenario '{}' (troupe list shows them)", path, *plan->scenario));
  }
  return Regression{.path = path, .plan = std::move(*plan), .scenario = scenario};
}

// The run `troupe replay --plan PATH` makes of the plan.
scenarios::RunOutcome replay(const Regression& regression) {
  scenarios::RunOptions options;
  options.seed = *regression.plan.seed;
  options.plan = regression.plan;
  options.plan_path = regression.path;
  follow_plan_schedule(options);
  return scenarios::run_scenario(*regression.scenario, options);
}

// The first line of a failure, cut to kDetailBytesMax bytes (at a UTF-8 character boundary) for
// the one-line verdict of a plan that met its expectation.
constexpr size_t kDetailBytesMax = 160;
std::string short_detail(std::string_view text) {
  text = text.substr(0, text.find('\n'));
  if (text.size() <= kDetailBytesMax) return std::string(text);
  size_t cut = kDetailBytesMax - 3;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return fmt::format("{}...", text.substr(0, cut));
}

void print_mismatch(std::FILE* out, const Regression& regression, const scenarios::RunOutcome& outcome) {
  const faults::Expectation& expect = *regression.plan.expect;
  fmt::print(out, "{:<10}{}\n", "MISMATCH", regression.path);
  if (expect.outcome == faults::ExpectedOutcome::kPass) {
    fmt::print(out, "  expected: pass\n");
  } else {
    fmt::print(out, "  expected: fail (match {}): ", faults::failure_match_name(expect.match));
    print_indented(out, failure_key(expect.failure, expect.match), 4);
  }
  if (outcome.passed) {
    fmt::print(out, "  got:      passed\n");
  } else {
    fmt::print(out, "  got:      {}: ", outcome.schedule_diverged ? "DIVERGED" : "fail");
    print_indented(out, outcome.failure, 4);
  }
  fmt::print(out, "  replay:   troupe replay --plan {}\n", regression.path);
}

}  // namespace

absl::StatusOr<std::vector<Regression>> load_regressions(const std::vector<std::string>& paths,
                                                         const scenarios::Registry& registry) {
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::error_code error;
    if (!std::filesystem::is_directory(path, error)) {
      files.push_back(path);
      continue;
    }
    absl::StatusOr<std::vector<std::string>> in_dir = plan_files_in(path);
    if (!in_dir.ok()) return in_dir.status();
    files.insert(files.end(), in_dir->begin(), in_dir->end());
  }
  if (files.size() > kRegressPlansMax) {
    return InvalidArgumentError(
        fmt::format("more than {} plans (the most one troupe regress takes)", kRegressPlansMax));
  }
  std::vector<Regression> regressions;
  regressions.reserve(files.size());
  for (const std::string& file : files) {
    absl::StatusOr<Regression> regression = load_regression(file, registry);
    if (!regression.ok()) return regression.status();
    regressions.push_back(std::move(*regression));
  }
  return regressions;
}

int regress_command(const RegressCommand& command, const scenarios::Registry& registry, std::FILE* out,
                    std::FILE* err) {
  absl::StatusOr<std::vector<Regression>> regressions = load_regressions(command.paths, registry);
  if (!regressions.ok()) {
    fmt::print(err, "troupe: {}\n", regressions.status().message());
    return kExitUsage;
  }
  assert(!regressions->empty());
  size_t mismatched = 0;
  for (const Regression& regression : *regressions) {
    const scenarios::RunOutcome outcome = replay(regression);
    if (!meets_expectation(*regression.plan.expect, outcome)) {
      ++mismatched;
      print_mismatch(out, regression, outcome);
    } else if (outcome.passed) {
      fmt::print(out, "{:<10}{}  (passes as expected)\n", "ok", regression.path);
    } else {
      fmt::print(out, "{:<10}{}  (fails as expected: {})\n", "ok", regression.path, short_detail(outcome.failure));
    }
    std::fflush(out);
  }
  const size_t total = regressions->size();
  fmt::print(out, "{} regression{}: {} ok, {} mismatched\n", total, total == 1 ? "" : "s", total - mismatched,
             mismatched);
  return mismatched == 0 ? kExitPassed : kExitFailed;
}

}  // namespace troupe::cli
