// TROUPE_PROPERTY: a RapidCheck property as a GoogleTest test, with a seed that is the same on
// every run.
//
//   TROUPE_PROPERTY(LruCache, MatchesModel, .cases = 200) {
//     troupe::testing::check_actor_model<LruModel, Cache>(...);   // or any RC_ASSERT code
//   }
//
// RapidCheck's own RC_GTEST_PROP draws a new random seed per process, so a CI run and its rerun
// test different cases. Here the seed is derived from "Suite/Name" unless RC_PARAMS sets one, so
// the suite is reproducible, and a failure prints the seed and the command that reruns the
// property alone:
//
//   RC_PARAMS="seed=1234" /path/to/test --gtest_filter=LruCache.MatchesModel
//
// (RC_PARAMS="seed=..." also explores new cases: a nightly job can pass a fresh one.) RC_PARAMS's
// max_success and max_size win over the options' cases and max_size; everything else of it
// (reproduce=..., verbose_shrinking=1) works as in RapidCheck.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "rapidcheck.h"

namespace troupe::testing {

struct PropertyOptions {
  int cases = 100;       // successful cases before the property passes (RapidCheck's max_success)
  int max_size = 100;    // RapidCheck's size bound: longer command sequences, bigger plans
  std::optional<uint64_t> seed;  // default: from the test's name (RC_PARAMS="seed=..." wins over both)
  bool report_to_gtest = true;   // add a GoogleTest failure when the property fails
};

struct PropertyReport {
  bool passed = false;
  uint64_t seed = 0;
  int cases = 0;               // successful cases run
  std::string message;         // RapidCheck's report of the failure, counterexample included
  std::vector<std::pair<std::string, std::string>> counterexample;  // (what, value) as RapidCheck shows them
  std::string rerun_command;   // RC_PARAMS="seed=S" /path/test --gtest_filter=Suite.Name
};

// The seed a property named `id` ("Suite/Name") uses by default: a stable hash of the name.
uint64_t default_property_seed(std::string_view id);

// Runs `property` (a RapidCheck property: a nullary function whose body picks values with `*gen`)
// as part of the current GoogleTest test. See the top of this file.
PropertyReport check_property(const PropertyOptions& options, rc::detail::Property property);

template <typename Testable>
PropertyReport check_property(const PropertyOptions& options, Testable&& testable) {
  return check_property(options, rc::detail::toProperty(std::forward<Testable>(testable)));
}

}  // namespace troupe::testing

// Defines the GoogleTest test Suite.Name running the body as a RapidCheck property; the options
// are PropertyOptions designated initializers (or nothing).
#define TROUPE_PROPERTY(Suite, Name, ...)                                                           \
  static void TroupePropertyBody_##Suite##_##Name();                                                \
  TEST(Suite, Name) {                                                                               \
    ::troupe::testing::check_property(::troupe::testing::PropertyOptions{__VA_ARGS__},              \
                                      &TroupePropertyBody_##Suite##_##Name);                        \
  }                                                                                                 \
  static void TroupePropertyBody_##Suite##_##Name()
