// The determinism self-check (DESIGN §4) finds planted nondeterminism and names the first event
// where two runs of the same seed part: behaviour that depends on a heap address, or on the
// iteration order of an absl::flat_hash_set of pointers.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "absl/container/flat_hash_set.h"
#include "runtime/troupe.h"
#include "scenarios/runner.h"
#include "tests/cli/cli_test_util.h"

namespace troupe::scenarios {
namespace {

using namespace std::chrono_literals;

// Allocations kept for the whole test, so every run sees fresh addresses (a freed block would be
// handed out again at the same address, hiding the bug).
std::vector<std::unique_ptr<char[]>>& kept_allocations() {
  static std::vector<std::unique_ptr<char[]>> kept;
  return kept;
}

const char* fresh_pointer() {
  kept_allocations().push_back(std::make_unique<char[]>(64));
  return kept_allocations().back().get();
}

class AddressNapper {
 public:
  // BUG (planted): sleeps for a time derived from a heap address.
  int64_t nap() {
    const int64_t micros = static_cast<int64_t>((reinterpret_cast<uintptr_t>(fresh_pointer()) >> 4) % 1000) + 1;
    troupe::sleep(std::chrono::microseconds(micros));
    return micros;
  }
};
TROUPE_ACTOR(AddressNapper, &AddressNapper::nap);

class OrderNapper {
 public:
  // BUG (planted): sleeps once per element, for a time that follows the iteration order of a
  // hash set of pointers (absl::Hash is seeded per process, and the pointers differ per run).
  int64_t nap() {
    absl::flat_hash_set<const char*> set;
    std::vector<const char*> inserted;
    for (int i = 0; i < 16; ++i) inserted.push_back(fresh_pointer());
    set.insert(inserted.begin(), inserted.end());
    uint64_t order = 0;  // the iteration order, folded
    for (const char* pointer : set) {
      const auto index = std::find(inserted.begin(), inserted.end(), pointer) - inserted.begin();
      troupe::sleep(std::chrono::microseconds(index + 1));
      order = order * 31 + static_cast<uint64_t>(index);
    }
    return static_cast<int64_t>(order % 1'000'000'007);
  }
};
TROUPE_ACTOR(OrderNapper, &OrderNapper::nap);

template <typename Napper>
Scenario nondeterministic_scenario(std::string name) {
  return {.name = std::move(name), .summary = "planted nondeterminism", .driver = [](System& sys, Checks& checks) {
            std::vector<Ref<int64_t>> naps;
            for (int i = 0; i < 3; ++i) naps.push_back(sys.spawn<Napper>({}).call(&Napper::nap));
            for (int64_t micros : sys.get(naps)) checks.always("nap returned", micros >= 0);
          }};
}

TEST(CheckDeterminism, BehaviourThatDependsOnAHeapAddressIsReportedAtItsFirstEvent) {
  const Scenario scenario = nondeterministic_scenario<AddressNapper>("address");
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    DeterminismReport report = check_determinism(scenario, {.seed = seed});
    ASSERT_TRUE(report.diverged) << "seed " << seed;
    EXPECT_TRUE(report.first.passed) << report.first.failure;
    EXPECT_NE(report.first.trace_hash, report.second_hash);
    EXPECT_GT(report.event_index, 0u) << "the runs agree until the first nap";
    EXPECT_NE(report.first_event, report.second_event);
    EXPECT_NE(report.first_event, "");
    EXPECT_NE(report.second_event, "");
    EXPECT_NE(report.first_event.find(fmt::format("#{} ", report.event_index)), std::string::npos) << report.first_event;
    EXPECT_NE(report.message.find(fmt::format("seed {}: runs differ at event #{}", seed, report.event_index)),
              std::string::npos)
        << report.message;
    EXPECT_NE(report.message.find(report.first_event), std::string::npos);
    EXPECT_NE(report.message.find(report.second_event), std::string::npos);
  }
}

TEST(CheckDeterminism, HashSetIterationOrderOfPointersIsReported) {
  const Scenario scenario = nondeterministic_scenario<OrderNapper>("order");
  DeterminismReport report = check_determinism(scenario, {.seed = 5});
  ASSERT_TRUE(report.diverged);
  EXPECT_GT(report.event_index, 0u);
  EXPECT_NE(report.first_event, report.second_event);
}

TEST(CheckDeterminism, ADeterministicScenarioDoesNotDiverge) {
  Registry registry;
  register_builtin_scenarios(registry);
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    DeterminismReport report = check_determinism(*registry.find("counter"), {.seed = seed});
    EXPECT_FALSE(report.diverged) << report.message;
    EXPECT_EQ(report.first.trace_hash, report.second_hash);
    EXPECT_EQ(report.message, "");
  }
}

TEST(CheckDeterminism, TheCliReportsEachDivergenceAndExitsOne) {
  Registry registry;
  registry.add(nondeterministic_scenario<AddressNapper>("address"));
  testing::CliResult result =
      testing::run_cli_captured({"run", "address", "--seeds", "1..2", "--check-determinism"}, registry);
  EXPECT_EQ(result.code, cli::kExitFailed);
  EXPECT_NE(result.out.find("NONDETERMINISTIC address seed 1: runs differ at event #"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("NONDETERMINISTIC address seed 2: runs differ at event #"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("determinism: 2 divergences\n  address seed 1: first differing event #"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("FAILED (nondeterministic)"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace troupe::scenarios
