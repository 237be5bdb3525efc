// A TROUPE_SIM_TEST that fails on some seeds only, for tests/testing/sim_test_rerun.sh (issue 7's
// acceptance 2): its failure must name the seed and a rerun command, and that command must rerun
// exactly that seed and fail the same way. Not registered with ctest on its own: it fails on
// purpose.
//
// The bug: a threaded bank account (max_concurrency 4) whose deposit reads the balance, yields
// (a scheduling point, like any runtime call would be), and writes back: two deposits that
// interleave lose one. Seeds that schedule the deposits one after the other pass.
#include <chrono>
#include <stdexcept>
#include <vector>

#include "fmt/format.h"

#include "gtest/gtest.h"
#include "runtime/troupe.h"
#include "testing/sim_test.h"

namespace failure_example {

class Account {
 public:
  int deposit(int amount) {
    const int read = balance_;
    troupe::yield();  // BUG: another deposit may run here and its amount is then lost
    balance_ = read + amount;
    return balance_;
  }
  int balance() const { return balance_; }

 private:
  int balance_ = 0;
};
TROUPE_ACTOR(Account, &Account::deposit, &Account::balance);

// Two deposits at once, then the balance.
void deposit_twice(troupe::System& sys) {
  auto account = sys.spawn<Account>({.concurrency = troupe::Concurrency::kThreaded, .max_concurrency = 4});
  std::vector<troupe::Ref<int>> deposits;
  for (int amount : {10, 20}) deposits.push_back(account.call(&Account::deposit, amount));
  sys.get(deposits);
  EXPECT_EQ(sys.get(account.call(&Account::balance)), 30) << "two deposits of 10 and 20";
}

TROUPE_SIM_TEST(Account, ConcurrentDepositsAddUp, .seeds = 500) { deposit_twice(sys); }

}  // namespace failure_example

namespace failure_example {

// The same test with a regression seed known to fail: it runs first and stops the test.
TROUPE_SIM_TEST(Account, RegressionSeedRunsFirst, .seeds = 500, .regression_seeds = {2}) { deposit_twice(sys); }

}  // namespace failure_example

namespace failure_example {

class Sleeper {
 public:
  int nap() {
    troupe::sleep(std::chrono::hours(1));
    return 1;
  }
};
TROUPE_ACTOR(Sleeper, &Sleeper::nap);

// What GoogleTest cannot see happen fails the seed too: an exception out of the body, a `get`
// still waiting at the liveness deadline, a failed `always` check.
TROUPE_SIM_TEST(Failures, ABodyThatThrows, .seeds = 3) {
  if (run.seed() == 2) throw std::runtime_error("the body gave up on seed 2");
}
TROUPE_SIM_TEST(Failures, ACallPastTheDeadline, .seeds = 3, .deadline_ns = 2 * troupe::kSecond) {
  auto sleeper = sys.spawn<Sleeper>();
  EXPECT_EQ(sys.get(sleeper.call(&Sleeper::nap)), 1);
}
TROUPE_SIM_TEST(Failures, AnAlwaysCheck, .seeds = 3) {
  run.checks().always("seed is odd", run.seed() % 2 == 1, fmt::format("seed {}", run.seed()));
}

}  // namespace failure_example
