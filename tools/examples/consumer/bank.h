// The example's actors: a bank account, and payroll actors that pay salaries into it.
//
//   auto account = sys.spawn<bank::Account>({.name = "alice"}, std::string("alice"), int64_t{100});
//   sys.get(account.call(&bank::Account::deposit, int64_t{50}));   // 150
//   sys.get(account.call(&bank::Account::withdraw, int64_t{500})); // throws troupe::TaskError
//                                                                  // (type bank::InsufficientFunds)
//
// An Account is a sequential actor: it runs one call at a time, so deposits from many payrolls
// never lose an update, and a withdrawal sees every deposit that finished before it started.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/troupe.h"

namespace bank {

// Thrown by Account::withdraw when the balance is smaller than the amount (the balance is
// unchanged). A caller sees it as a troupe::TaskError whose type_name() is
// "bank::InsufficientFunds".
class InsufficientFunds : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Account {
 public:
  Account(std::string owner, int64_t opening_balance);
  // Adds `amount` (> 0, else std::invalid_argument) and returns the new balance.
  int64_t deposit(int64_t amount);
  // Takes `amount` (> 0, else std::invalid_argument) and returns the new balance; throws
  // InsufficientFunds when the balance is smaller.
  int64_t withdraw(int64_t amount);
  int64_t balance() const;
  // Every applied operation, in the order applied: deposits positive, withdrawals negative.
  std::vector<int64_t> history() const;
  std::string repr() const;

 private:
  std::string owner_;
  int64_t balance_;
  std::vector<int64_t> history_;
};
TROUPE_ACTOR(Account, &Account::deposit, &Account::withdraw, &Account::balance, &Account::history);

// Pays salaries into one account, one after the other, with a pause of 0-999 µs (troupe::random:
// seeded under the simulator) between them.
class Payroll {
 public:
  explicit Payroll(troupe::ActorHandle<Account> account);
  // Deposits `salary` `count` times, each after the previous deposit returned; returns the
  // balances the account answered, in order.
  std::vector<int64_t> pay(int count, int64_t salary);

 private:
  troupe::ActorHandle<Account> account_;
};
TROUPE_ACTOR(Payroll, &Payroll::pay);

// The example's driver: opens "alice" with 100, runs `payrolls` Payroll actors concurrently, each
// paying `salaries` salaries of 10, then withdraws 25. Returns the final balance:
// 100 + payrolls * salaries * 10 - 25.
int64_t run_payday(troupe::System& sys, int payrolls, int salaries);

}  // namespace bank
