// What rerun commands name: the test binary and the running GoogleTest test. Shared by
// TROUPE_SIM_TEST (testing/sim_test.h) and TROUPE_PROPERTY (testing/property.h).
#pragma once

#include <string>

namespace troupe::testing {

// The running binary's absolute path (/proc/self/exe), or "<this test binary>" if unreadable.
std::string this_executable();

// The running test as --gtest_filter takes it: "Suite.Name" ("<no test>" outside a test).
std::string current_test_name();

}  // namespace troupe::testing
