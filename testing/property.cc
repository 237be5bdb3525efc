#include "testing/property.h"

#include <cstdlib>
#include <sstream>
#include <string_view>

#include "fmt/format.h"
#include "testing/rerun.h"

namespace troupe::testing {
namespace {

// Whether RC_PARAMS sets `key` ("seed", "max_success", ...); RapidCheck's configuration then holds
// its value, which wins over the test's options.
bool rc_params_set(std::string_view key) {
  const char* params = std::getenv("RC_PARAMS");
  if (params == nullptr) return false;
  const std::string_view text(params);
  const std::string pattern = std::string(key) + "=";
  for (size_t at = text.find(pattern); at != std::string_view::npos; at = text.find(pattern, at + 1)) {
    if (at == 0 || text[at - 1] == ' ') return true;
  }
  return false;
}

}  // namespace

uint64_t default_property_seed(std::string_view id) {
  uint64_t hash = 0xcbf29ce484222325;  // FNV-1a, 64 bits: stable across compilers and libraries
  for (char c : id) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3;
  }
  return hash;
}

PropertyReport check_property(const PropertyOptions& options, rc::detail::Property property) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string suite = info != nullptr ? info->test_suite_name() : "property";
  const std::string name = info != nullptr ? info->name() : "property";
  rc::detail::TestMetadata metadata;
  metadata.id = suite + "/" + name;  // the key RapidCheck's reproduce= strings use
  metadata.description = name;

  const rc::detail::Configuration& config = rc::detail::configuration();
  rc::detail::TestParams params = config.testParams;
  if (!rc_params_set("max_success")) params.maxSuccess = options.cases;
  if (!rc_params_set("max_size")) params.maxSize = options.max_size;
  if (!rc_params_set("seed")) params.seed = options.seed.value_or(default_property_seed(metadata.id));

  PropertyReport report;
  report.seed = params.seed;
  report.rerun_command =
      fmt::format("RC_PARAMS=\"seed={}\" {} --gtest_filter={}.{}", params.seed, this_executable(), suite, name);
  // RapidCheck has printed "Using configuration: seed=..." with a seed of its own; say which one
  // this property runs with.
  fmt::print("[ troupe   ] {}.{}: RapidCheck seed {} ({})\n", suite, name, params.seed,
             rc_params_set("seed") ? "from RC_PARAMS"
                                  : (options.seed ? "from the test's options" : "from the test's name; RC_PARAMS=\"seed=N\" sets another"));
  std::fflush(stdout);
  const rc::detail::TestResult result = rc::detail::checkProperty(property, metadata, params);
  if (result.is<rc::detail::SuccessResult>()) {
    const auto& success = result.get<rc::detail::SuccessResult>();
    report.passed = true;
    report.cases = success.numSuccess;
    if (!success.distribution.empty()) {
      std::ostringstream out;
      rc::detail::printResultMessage(result, out);
      fmt::print("{}\n", out.str());
    }
    return report;
  }
  std::ostringstream out;
  rc::detail::printResultMessage(result, out);
  report.message = out.str();
  if (result.is<rc::detail::FailureResult>()) {
    const auto& failure = result.get<rc::detail::FailureResult>();
    report.cases = failure.numSuccess;
    report.counterexample = failure.counterExample;
  }
  if (options.report_to_gtest) {
    ADD_FAILURE() << report.message << "\nRapidCheck seed " << report.seed
                  << "; rerun this property alone:\n  " << report.rerun_command;
  }
  return report;
}

}  // namespace troupe::testing
