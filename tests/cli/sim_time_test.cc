// Simulated time jumps (DESIGN §4): a scenario whose actors sleep for a simulated hour finishes
// with an hour of virtual time, seen by troupe::now() in the actors and the driver, in a small
// fraction of that in wall time (printed, not asserted: benchmarks are separate).
#include <chrono>
#include <cstdint>
#include <iostream>
#include <vector>

#include <gtest/gtest.h>

#include "fmt/format.h"
#include "runtime/troupe.h"
#include "scenarios/runner.h"

namespace troupe::scenarios {
namespace {

using namespace std::chrono_literals;

class Sleeper {
 public:
  // Sleeps `minutes` simulated minutes, one minute at a time; returns troupe::now() after, in ns.
  int64_t sleep_minutes(int minutes) {
    for (int i = 0; i < minutes; ++i) troupe::sleep(1min);
    return troupe::now().count();
  }
};
TROUPE_ACTOR(Sleeper, &Sleeper::sleep_minutes);

constexpr int kSleepers = 4;
constexpr int kMinutesEach = 15;  // one after the other: an hour in all

TEST(SimulatedTime, AnHourOfSleepingActorsTakesAnHourOfSimulatedTime) {
  std::vector<int64_t> actor_now_ns;
  int64_t driver_now_ns = 0;
  const Scenario hour{.name = "hour", .summary = "four actors sleep 15 simulated minutes each, in turn",
                      .deadline_ns = 2 * 3600 * kSecond,  // past the default deadline (5 s), within this one
                      .driver = [&](System& sys, Checks& checks) {
                        for (int i = 0; i < kSleepers; ++i) {
                          auto sleeper = sys.spawn<Sleeper>({});
                          const int64_t now_ns = sys.get(sleeper.call(&Sleeper::sleep_minutes, kMinutesEach));
                          actor_now_ns.push_back(now_ns);
                          checks.always("an actor's now() counts the minutes slept so far",
                                        now_ns >= (i + 1) * kMinutesEach * 60 * kSecond, fmt::format("{}ns", now_ns));
                        }
                        driver_now_ns = troupe::now().count();
                      }};
  const RunOutcome outcome = run_scenario(hour, {.seed = 11});
  ASSERT_TRUE(outcome.passed) << outcome.failure;
  ASSERT_EQ(actor_now_ns.size(), static_cast<size_t>(kSleepers));
  EXPECT_GE(driver_now_ns, 3600 * kSecond);
  EXPECT_LT(driver_now_ns, 3601 * kSecond) << "only message latencies come on top of the hour";
  EXPECT_GE(outcome.sim_time, 3600 * kSecond);
  EXPECT_GE(outcome.sim_time, driver_now_ns);
  EXPECT_GT(outcome.events, static_cast<uint64_t>(kSleepers * kMinutesEach));
  std::cout << fmt::format("[ wall     ] {:.6f} s of wall time for {:.3f} s of simulated time ({} events)\n",
                           outcome.wall_seconds, static_cast<double>(outcome.sim_time) / kSecond, outcome.events);
  RecordProperty("wall_seconds", fmt::format("{:.6f}", outcome.wall_seconds));
}

}  // namespace
}  // namespace troupe::scenarios
