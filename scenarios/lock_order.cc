// lock_order: a threaded Bank whose transfers lock both accounts, always in account order, so
// concurrent transfers in opposite directions never deadlock. Two tellers move money back and
// forth between two accounts at once, in rounds through the fault window; checks: no money is
// created or lost, and each balance is what the tellers' transfers add up to.
//
// lock_order.bug_opposite_order: transfers lock the source account, then the destination. A
// transfer a->b and one b->a that overlap each hold one lock and wait for the other: a deadlock,
// which the simulator reports at once, naming both fibers, the calls they run and both locks:
//
//   deadlock at 1.27ms: fibers wait for each other's locks in a cycle
//     n0 p3 (a2.1 Bank) fiber f9 'execute' (running Bank.transfer for p5) waits for lock Mutex 'account 1' (held by fiber f8)
//     n0 p3 (a2.1 Bank) fiber f8 'execute' (running Bank.transfer for p4) waits for lock Mutex 'account 0' (held by fiber f9)
#include <array>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/troupe.h"
#include "scenarios/scenario.h"

namespace troupe::scenarios {
namespace {

constexpr int64_t kOpening = 1000;

class Bank {
 public:
  explicit Bank(bool opposite_order) : opposite_order_(opposite_order) {}
  // Moves `amount` from account `from` to account `to` (0 or 1), checking the balance after a
  // pause (an audit call) while holding both locks.
  bool transfer(int from, int to, int64_t amount) {
    Account& source = accounts_.at(from);
    Account& destination = accounts_.at(to);
    // Correct: lock in account order. The bug: source first, whatever its number.
    Account& first = opposite_order_ || from < to ? source : destination;
    Account& second = &first == &source ? destination : source;
    std::lock_guard one(first.lock);
    troupe::sleep(std::chrono::microseconds(troupe::random() % 200));
    std::lock_guard two(second.lock);
    if (source.balance < amount) return false;
    source.balance -= amount;
    destination.balance += amount;
    return true;
  }
  std::vector<int64_t> balances() {
    std::scoped_lock both(accounts_[0].lock, accounts_[1].lock);
    return {accounts_[0].balance, accounts_[1].balance};
  }

 private:
  struct Account {
    explicit Account(int number) : lock(fmt::format("account {}", number)) {}
    Mutex lock;
    int64_t balance = kOpening;
  };
  const bool opposite_order_;
  std::array<Account, 2> accounts_{Account(0), Account(1)};
};
TROUPE_ACTOR(Bank, &Bank::transfer, &Bank::balances);

class Teller {
 public:
  Teller(ActorHandle<Bank> bank, int from, int to) : bank_(bank), from_(from), to_(to) {}
  // Makes `count` transfers of 1..10 from `from` to `to`; returns the total moved.
  int64_t work(int count) {
    int64_t moved = 0;
    for (int i = 0; i < count; ++i) {
      const int64_t amount = 1 + static_cast<int64_t>(troupe::random() % 10);
      if (this_actor::system().get(bank_.call(&Bank::transfer, from_, to_, amount))) moved += amount;
    }
    return moved;
  }

 private:
  ActorHandle<Bank> bank_;
  int from_;
  int to_;
};
TROUPE_ACTOR(Teller, &Teller::work);

void bank_driver(System& sys, Checks& checks, bool opposite_order) {
  auto bank = sys.spawn<Bank>({.concurrency = Concurrency::kThreaded, .max_concurrency = 4}, opposite_order);
  auto forth = sys.spawn<Teller>({}, bank, 0, 1);
  auto back = sys.spawn<Teller>({}, bank, 1, 0);
  int64_t net_to_1 = 0;  // what account 1 gained
  for (int round = 0; keep_working(sys, checks, round); ++round) {
    if (round > 0) troupe::sleep(std::chrono::milliseconds(50 + troupe::random() % 100));
    Ref<int64_t> there = forth.call(&Teller::work, 5);
    Ref<int64_t> home = back.call(&Teller::work, 5);
    net_to_1 += sys.get(there) - sys.get(home);
    std::vector<int64_t> balances = sys.get(bank.call(&Bank::balances));
    checks.always("no money is created or lost", balances[0] + balances[1] == 2 * kOpening,
                  fmt::format("balances {}", balances));
    checks.always("each balance adds up to the transfers",
                  balances == std::vector<int64_t>{kOpening - net_to_1, kOpening + net_to_1},
                  fmt::format("balances {}, expected [{}, {}]", balances, kOpening - net_to_1, kOpening + net_to_1));
  }
}

}  // namespace

void register_lock_order(Registry& registry) {
  registry.add({.name = "lock_order",
                .summary = "a threaded bank locks both accounts of a transfer in account order: no deadlock",
                .driver = [](System& sys, Checks& checks) { bank_driver(sys, checks, /*opposite_order=*/false); },
                .tolerates = kDelayFaults});
  registry.add({.name = "lock_order.bug_opposite_order",
                .summary = "transfers lock source then destination: opposite transfers deadlock (wait-for cycle)",
                .expect_fail = true,
                .driver = [](System& sys, Checks& checks) { bank_driver(sys, checks, /*opposite_order=*/true); },
                .tolerates = kDelayFaults});
}

}  // namespace troupe::scenarios
