// The example's actors in the simulator (troupe::sim::run_simulation), with exact expected values.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bank.h"
#include "sim/sim_run.h"

namespace {

using bank::Account;

// Runs `driver` in a fresh simulated cluster on `seed`; fails the test if the run failed.
troupe::sim::SimRunResult simulate(uint64_t seed, absl::AnyInvocable<void(troupe::System&)> driver) {
  troupe::sim::SimRunResult result = troupe::sim::run_simulation({.seed = seed}, std::move(driver));
  EXPECT_TRUE(result.status.ok()) << "seed " << seed << ": " << result.status;
  return result;
}

TEST(BankAccount, DepositsAndWithdrawalsReturnTheNewBalance) {
  simulate(1, [](troupe::System& sys) {
    auto account = sys.spawn<Account>({}, std::string("bob"), int64_t{100});
    EXPECT_EQ(sys.get(account.call(&Account::deposit, int64_t{50})), 150);
    EXPECT_EQ(sys.get(account.call(&Account::withdraw, int64_t{30})), 120);
    EXPECT_EQ(sys.get(account.call(&Account::balance)), 120);
    EXPECT_EQ(sys.get(account.call(&Account::history)), (std::vector<int64_t>{50, -30}));
  });
}

TEST(BankAccount, OverdraftIsATaskErrorAndLeavesTheBalance) {
  simulate(1, [](troupe::System& sys) {
    auto account = sys.spawn<Account>({}, std::string("bob"), int64_t{100});
    try {
      sys.get(account.call(&Account::withdraw, int64_t{500}));
      ADD_FAILURE() << "the overdraft did not throw";
    } catch (const troupe::TaskError& e) {
      EXPECT_EQ(e.type_name(), "bank::InsufficientFunds");
      EXPECT_EQ(e.message(), "bob has 100, cannot withdraw 500");
    }
    EXPECT_THROW(sys.get(account.call(&Account::deposit, int64_t{0})), troupe::TaskError);
    // The actor survives its methods' exceptions, and neither call changed the account.
    EXPECT_EQ(sys.get(account.call(&Account::balance)), 100);
    EXPECT_EQ(sys.get(account.call(&Account::history)), std::vector<int64_t>{});
  });
}

// Concurrent payrolls never lose a deposit (the account runs one call at a time), on every seed:
// the final balance is exact, each payroll sees its own balances strictly increase, and the
// account applied exactly 3 x 8 deposits of 10 and then the withdrawal.
TEST(BankAccount, ConcurrentPayrollsLoseNoDeposit) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    simulate(seed, [](troupe::System& sys) {
      auto account = sys.spawn<Account>({}, std::string("carol"), int64_t{0});
      std::vector<troupe::Ref<std::vector<int64_t>>> paid;
      for (int i = 0; i < 3; ++i) {
        auto payroll = sys.spawn<bank::Payroll>({}, account);
        paid.push_back(payroll.call(&bank::Payroll::pay, 8, int64_t{10}));
      }
      std::vector<int64_t> all;
      for (const std::vector<int64_t>& balances : sys.get(paid)) {
        ASSERT_EQ(balances.size(), 8u);
        EXPECT_TRUE(std::is_sorted(balances.begin(), balances.end()) &&
                    std::adjacent_find(balances.begin(), balances.end()) == balances.end());
        all.insert(all.end(), balances.begin(), balances.end());
      }
      // Every balance from 10 to 240 was answered to exactly one payroll.
      std::sort(all.begin(), all.end());
      std::vector<int64_t> expected;
      for (int64_t balance = 10; balance <= 240; balance += 10) expected.push_back(balance);
      EXPECT_EQ(all, expected);
      EXPECT_EQ(sys.get(account.call(&Account::withdraw, int64_t{40})), 200);
      std::vector<int64_t> history(24, 10);
      history.push_back(-40);
      EXPECT_EQ(sys.get(account.call(&Account::history)), history);
    });
  }
}

// The program's driver: 100 + 4 x 25 x 10 - 25 on every seed.
TEST(BankAccount, PaydayEndsWithTheExactBalance) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    simulate(seed, [seed](troupe::System& sys) { EXPECT_EQ(bank::run_payday(sys, 4, 25), 1075) << "seed " << seed; });
  }
}

// Same seed, same run: the trace hash, event count and simulated time repeat exactly.
TEST(BankAccount, SameSeedSameRun) {
  auto payday = [](troupe::System& sys) { bank::run_payday(sys, 3, 10); };
  troupe::sim::SimRunResult first = simulate(42, payday);
  troupe::sim::SimRunResult second = simulate(42, payday);
  EXPECT_NE(first.events, 0u);
  EXPECT_EQ(first.trace_hash, second.trace_hash);
  EXPECT_EQ(first.events, second.events);
  EXPECT_EQ(first.sim_time, second.sim_time);
}

}  // namespace
