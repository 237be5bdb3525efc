// The example's actors tested with troupe::testing: a TROUPE_SIM_TEST sweep with delay faults,
// and a model-based RapidCheck property of the Account (generated deposits and withdrawals
// against a model balance, faults on, shrinking to a minimal case on failure).
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bank.h"
#include "testing/actor_model.h"
#include "testing/property.h"
#include "testing/sim_test.h"

namespace {

using bank::Account;

// Payday on 200 seeds, with held messages and latency spikes: the balance is exact on every one.
TROUPE_SIM_TEST(BankSim, PaydayBalanceIsExactUnderDelays, .seeds = 200, .faults = troupe::testing::kDelayFaults) {
  EXPECT_EQ(bank::run_payday(sys, 3, 4), 100 + 3 * 4 * 10 - 25);
}

// The model: the balance the account must report.
struct Balance {
  int64_t value = 100;
};
using AccountCommand = troupe::testing::ActorCommand<Balance, Account>;
using AccountSut = troupe::testing::ActorSut<Account>;

struct Deposit : AccountCommand {
  int64_t amount = *rc::gen::inRange<int64_t>(1, 200);
  void apply(Balance& model) const override { model.value += amount; }
  void run(const Balance& model, AccountSut& account) const override {
    RC_ASSERT(account.get(&Account::deposit, amount) == model.value + amount);
  }
  void show(std::ostream& os) const override { os << "deposit(" << amount << ")"; }
};

// A withdrawal larger than the balance is refused (a TaskError) and changes nothing.
struct Withdraw : AccountCommand {
  int64_t amount = *rc::gen::inRange<int64_t>(1, 300);
  void apply(Balance& model) const override {
    if (amount <= model.value) model.value -= amount;
  }
  void run(const Balance& model, AccountSut& account) const override {
    if (amount > model.value) {
      RC_ASSERT_THROWS_AS(account.get(&Account::withdraw, amount), troupe::TaskError);
    } else {
      RC_ASSERT(account.get(&Account::withdraw, amount) == model.value - amount);
    }
  }
  void show(std::ostream& os) const override { os << "withdraw(" << amount << ")"; }
};

struct CheckBalance : AccountCommand {
  void run(const Balance& model, AccountSut& account) const override {
    RC_ASSERT(account.get(&Account::balance) == model.value);
  }
  void show(std::ostream& os) const override { os << "balance()"; }
};

TROUPE_PROPERTY(BankModel, AccountMatchesItsModelUnderFaults, .cases = 100) {
  troupe::testing::check_actor_model<Balance, Account>(
      {.faults = {.kinds = troupe::testing::kDelayFaults}, .name = "account"}, Balance{},
      [](troupe::System& sys) { return sys.spawn<Account>({}, std::string("carol"), int64_t{100}); },
      rc::state::gen::execOneOfWithArgs<Deposit, Withdraw, CheckBalance>());
}

}  // namespace
