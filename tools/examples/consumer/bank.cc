#include "bank.h"

#include <chrono>
#include <utility>

#include "fmt/format.h"

namespace bank {

Account::Account(std::string owner, int64_t opening_balance)
    : owner_(std::move(owner)), balance_(opening_balance) {}

int64_t Account::deposit(int64_t amount) {
  if (amount <= 0) throw std::invalid_argument(fmt::format("deposit of {}: must be positive", amount));
  balance_ += amount;
  history_.push_back(amount);
  return balance_;
}

int64_t Account::withdraw(int64_t amount) {
  if (amount <= 0) throw std::invalid_argument(fmt::format("withdrawal of {}: must be positive", amount));
  if (balance_ < amount) {
    throw InsufficientFunds(fmt::format("{} has {}, cannot withdraw {}", owner_, balance_, amount));
  }
  balance_ -= amount;
  history_.push_back(-amount);
  return balance_;
}

int64_t Account::balance() const { return balance_; }

std::vector<int64_t> Account::history() const { return history_; }

std::string Account::repr() const { return fmt::format("Account({}, balance={})", owner_, balance_); }

Payroll::Payroll(troupe::ActorHandle<Account> account) : account_(account) {}

std::vector<int64_t> Payroll::pay(int count, int64_t salary) {
  std::vector<int64_t> balances;
  for (int i = 0; i < count; ++i) {
    balances.push_back(troupe::this_actor::system().get(account_.call(&Account::deposit, salary)));
    troupe::sleep(std::chrono::microseconds(troupe::random() % 1000));
  }
  return balances;
}

int64_t run_payday(troupe::System& sys, int payrolls, int salaries) {
  auto account = sys.spawn<Account>({.name = "alice"}, std::string("alice"), int64_t{100});
  std::vector<troupe::Ref<std::vector<int64_t>>> paid;
  for (int i = 0; i < payrolls; ++i) {
    auto payroll = sys.spawn<Payroll>({}, account);
    paid.push_back(payroll.call(&Payroll::pay, salaries, int64_t{10}));
  }
  sys.get(paid);
  return sys.get(account.call(&Account::withdraw, int64_t{25}));
}

}  // namespace bank
