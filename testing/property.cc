#include "testing/property.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <sstream>
#include <string_view>

#include "fmt/format.h"

namespace troupe::testing {
namespace {

// Whether RC_PARAMS names a seed (then RapidCheck's configuration holds it).
bool rc_params_set_seed() {
  const char* params = std::getenv("RC_PARAMS");
  if (params == nullptr) return false;
  const std::string_view text(params);
  for (size_t at = text.find("seed="); at != std::string_view::npos; at = text.find("seed=", at + 1)) {
    if (at == 0 || text[at - 1] == ' ') return true;
  }
  return false;
}

std::string this_executable() {
  char path[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return "<this test binary>";
  return std::string(path, static_cast<size_t>(n));
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
  params.maxSuccess = options.cases;
  params.maxSize = options.max_size;
  if (!rc_params_set_seed()) params.seed = options.seed.value_or(default_property_seed(metadata.id));

  PropertyReport report;
  report.seed = params.seed;
  report.rerun_command =
      fmt::format("RC_PARAMS=\"seed={}\" {} --gtest_filter={}.{}", params.seed, this_executable(), suite, name);
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
