#include "testing/rerun.h"

#include <unistd.h>

#include <climits>

#include "fmt/format.h"
#include "gtest/gtest.h"

namespace troupe::testing {

std::string this_executable() {
  char path[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return "<this test binary>";
  return std::string(path, static_cast<size_t>(n));
}

std::string current_test_name() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info == nullptr) return "<no test>";
  return fmt::format("{}.{}", info->test_suite_name(), info->name());
}

}  // namespace troupe::testing
