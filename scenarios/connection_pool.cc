// connection_pool: the seed's ConnectionPool (Ray actors guide, "资源池模式"): pool_size = 5
// connections "connection_0" .. "connection_4"; acquire() hands out the first available one, or
// nothing (Python's None) when none is left; release(conn) gives a connection back; status()
// reports {"total", "available"}. One deliberate difference from the seed: release takes back
// only a connection that is currently leased. The seed's release appends any connection of the
// pool, so a duplicate release (a caller retrying its release) makes a connection available
// twice: that is the planted bug below.
//
// Checks, with exact values:
//   * the seed's own run: two acquires return connection_0 and connection_1, status is
//     {total 5, available 3}, after releasing connection_0 it is {total 5, available 4};
//   * releasing an unknown connection ("connection_5", "bogus") changes nothing;
//   * a duplicate release of a connection nobody holds changes nothing (the driver releases one
//     twice between rounds; the next round's clients and status show whether it was taken twice);
//   * client actors (4 of them, up to 2 leases each, so 8 wanted of 5) acquire, hold for a while
//     and release concurrently, in rounds until the fault window has passed. Each lease is
//     reported to a Ledger actor after acquire returns and before release is sent, so with a
//     correct pool the ledger never sees a connection taken by a second client before its first
//     holder gave it back: the check "no connection is held by two clients at once" is exact on
//     every platform. Clients also release unknown connections now and then.
//   * while the clients work, the driver samples status(): total is 5 and 0 <= available <= 5;
//   * after each round (no lease outstanding): status is {total 5, available 5} and the ledger
//     holds nothing.
// Sometimes: the pool was exhausted (acquire returned nothing); status saw every connection
// leased; a connection passed from one client to another.
//
// Buggify site "connection_pool.client.hold_long": a client holds its connections for 2-4 ms
// instead of up to 0.4 ms, so the others find the pool exhausted far more often.
//
// connection_pool.bug_double_lease: the seed's own release, which appends any connection of the
// pool without checking that it is leased: after a duplicate release the connection is available
// twice, and two clients hold it at once.
#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/troupe.h"
#include "scenarios/scenario.h"

namespace troupe::scenarios {
namespace {

constexpr int kPoolSize = 5;  // the seed's default
constexpr int kClients = 4;
constexpr int kLeasesPerClient = 6;  // per round
constexpr int kHoldMaxUs = 400;
constexpr std::string_view kHoldLongSite = "connection_pool.client.hold_long";
constexpr int kStatusPauseMaxUs = 600;
constexpr int kStatusSamplesMax = 8;  // per round

using Status = std::map<std::string, int>;

class ConnectionPool {
 public:
  // `check_leased` false is the seed's release (the planted bug).
  ConnectionPool(int pool_size, bool check_leased) : check_leased_(check_leased) {
    for (int i = 0; i < pool_size; ++i) pool_.push_back(fmt::format("connection_{}", i));
    available_.assign(pool_.begin(), pool_.end());
  }
  std::optional<std::string> acquire() {
    if (available_.empty()) return std::nullopt;
    std::string conn = available_.front();
    available_.pop_front();
    leased_.insert(conn);
    return conn;
  }
  void release(std::string conn) {
    if (std::find(pool_.begin(), pool_.end(), conn) == pool_.end()) return;
    if (check_leased_ && leased_.erase(conn) == 0) return;  // not leased: a duplicate release
    leased_.erase(conn);
    available_.push_back(conn);
  }
  Status status() const {
    return {{"total", static_cast<int>(pool_.size())}, {"available", static_cast<int>(available_.size())}};
  }

 private:
  bool check_leased_;
  std::vector<std::string> pool_;
  std::deque<std::string> available_;
  std::set<std::string> leased_;
};
TROUPE_ACTOR(ConnectionPool, &ConnectionPool::acquire, &ConnectionPool::release, &ConnectionPool::status);

// Who holds which connection, as the clients report it: take() after acquire returned, give()
// before release is sent. Records the first time a connection is taken while another client
// still holds it.
class Ledger {
 public:
  void take(int client, std::string conn) {
    auto it = holder_.find(conn);
    if (it != holder_.end()) {
      if (conflict_.empty()) {
        conflict_ = fmt::format("client {} acquired {} while client {} still held it", client, conn, it->second);
      }
      return;
    }
    auto last = last_holder_.find(conn);
    if (last != last_holder_.end() && last->second != client) handed_over_ = true;
    holder_[conn] = client;
    last_holder_[conn] = client;
  }
  void give(int client, std::string conn) {
    auto it = holder_.find(conn);
    if (it != holder_.end() && it->second == client) holder_.erase(it);
  }
  std::string conflict() const { return conflict_; }
  int held() const { return static_cast<int>(holder_.size()); }
  bool handed_over() const { return handed_over_; }

 private:
  std::map<std::string, int> holder_;
  std::map<std::string, int> last_holder_;
  std::string conflict_;
  bool handed_over_ = false;
};
TROUPE_ACTOR(Ledger, &Ledger::take, &Ledger::give, &Ledger::conflict, &Ledger::held, &Ledger::handed_over);

// What one client did in a round.
struct ClientReport {
  int acquired = 0;
  int released = 0;
  int exhausted = 0;  // acquires that returned nothing
  MSGPACK_DEFINE(acquired, released, exhausted);
};

class Client {
 public:
  Client(int id, ActorHandle<ConnectionPool> pool, ActorHandle<Ledger> ledger)
      : id_(id), pool_(pool), ledger_(ledger) {}
  // Takes `leases` leases, one or two connections at a time, holding each for a random while;
  // now and then releases a connection the pool never had. Holds nothing when it returns.
  ClientReport work(int leases) {
    System& sys = this_actor::system();
    ClientReport report;
    for (int i = 0; i < leases; ++i) {
      const int want = 1 + static_cast<int>(troupe::random() % 2);
      std::vector<std::string> held;
      for (int j = 0; j < want; ++j) {
        std::optional<std::string> conn = sys.get(pool_.call(&ConnectionPool::acquire));
        if (!conn) {
          ++report.exhausted;
          break;
        }
        ++report.acquired;
        sys.get(ledger_.call(&Ledger::take, id_, *conn));
        held.push_back(*conn);
      }
      if (buggify(kHoldLongSite)) {
        troupe::sleep(std::chrono::microseconds(2000 + troupe::random() % 2000));
      } else {
        troupe::sleep(std::chrono::microseconds(troupe::random() % kHoldMaxUs));
      }
      for (const std::string& conn : held) {
        sys.get(ledger_.call(&Ledger::give, id_, conn));
        sys.get(pool_.call(&ConnectionPool::release, conn));
        ++report.released;
      }
      if (troupe::random() % 4 == 0) {
        sys.get(pool_.call(&ConnectionPool::release, fmt::format("connection_{}", kPoolSize + id_)));
      }
      troupe::sleep(std::chrono::microseconds(troupe::random() % 200));
    }
    return report;
  }

 private:
  int id_;
  ActorHandle<ConnectionPool> pool_;
  ActorHandle<Ledger> ledger_;
};
TROUPE_ACTOR(Client, &Client::work);

std::string show(const std::optional<std::string>& conn) { return conn ? fmt::format("\"{}\"", *conn) : "none"; }
std::string show(const Status& status) {
  auto field = [&](const char* name) {
    auto it = status.find(name);
    return it == status.end() ? std::string("missing") : fmt::format("{}", it->second);
  };
  return fmt::format("{{total: {}, available: {}}}", field("total"), field("available"));
}
Status status_of(int total, int available) { return {{"total", total}, {"available", available}}; }

void expect_status(Checks& checks, std::string_view name, const Status& got, const Status& want,
                   std::string_view when) {
  checks.always(name, got == want, fmt::format("{}: expected {}, got {}", when, show(want), show(got)));
}

void pool_driver(System& sys, Checks& checks, bool check_leased) {
  auto pool = sys.spawn<ConnectionPool>({}, kPoolSize, check_leased);

  // The seed's run.
  std::optional<std::string> conn1 = sys.get(pool.call(&ConnectionPool::acquire));
  std::optional<std::string> conn2 = sys.get(pool.call(&ConnectionPool::acquire));
  checks.always("the first acquire returns connection_0", conn1 == "connection_0", show(conn1));
  checks.always("the second acquire returns connection_1", conn2 == "connection_1", show(conn2));
  expect_status(checks, "status after two acquires", sys.get(pool.call(&ConnectionPool::status)), status_of(5, 3),
                "after acquiring 2 of 5");
  sys.get(pool.call(&ConnectionPool::release, *conn1));
  expect_status(checks, "status after a release", sys.get(pool.call(&ConnectionPool::status)), status_of(5, 4),
                "after releasing connection_0");
  sys.get(pool.call(&ConnectionPool::release, *conn2));

  // Releases of connections the pool never had change nothing.
  sys.get(pool.call(&ConnectionPool::release, std::string("connection_5")));
  sys.get(pool.call(&ConnectionPool::release, std::string("bogus")));
  expect_status(checks, "releasing an unknown connection changes nothing", sys.get(pool.call(&ConnectionPool::status)),
                status_of(5, 5), "after releasing connection_5 and bogus");

  // Until the fault window has passed: a duplicate release by the driver between rounds, then a
  // round of concurrent clients.
  auto ledger = sys.spawn<Ledger>({});
  std::vector<ActorHandle<Client>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(sys.spawn<Client>({}, i, pool, ledger));
  bool exhausted = false;
  for (int round = 0; keep_working(sys, checks, round); ++round) {
    if (round > 0) troupe::sleep(std::chrono::milliseconds(150 + troupe::random() % 150));
    // A caller that retries its release: the second one arrives when nobody holds the connection.
    std::optional<std::string> conn = sys.get(pool.call(&ConnectionPool::acquire));
    if (!checks.always("an idle pool hands out a connection", conn.has_value(), fmt::format("round {}", round))) return;
    sys.get(pool.call(&ConnectionPool::release, *conn));
    sys.get(pool.call(&ConnectionPool::release, *conn));

    std::vector<Ref<ClientReport>> runs;
    for (const ActorHandle<Client>& client : clients) runs.push_back(client.call(&Client::work, kLeasesPerClient));
    // While they work, the driver samples status() (a bounded number of times: a clogged client
    // may take long); checked after the ledger, whose report names the clients.
    std::string bad_status;
    for (int sample = 0; sample < kStatusSamplesMax && bad_status.empty() &&
                         !sys.wait(runs, runs.size(), std::chrono::microseconds(0)).not_ready.empty();
         ++sample) {
      troupe::sleep(std::chrono::microseconds(troupe::random() % kStatusPauseMaxUs));
      const Status status = sys.get(pool.call(&ConnectionPool::status));
      const auto total = status.find("total");
      const auto available = status.find("available");
      if (total == status.end() || total->second != kPoolSize || available == status.end() || available->second < 0 ||
          available->second > kPoolSize) {
        bad_status = fmt::format("round {}: status() returned {}", round, show(status));
      } else {
        checks.sometimes("status saw every connection leased", available->second == 0);
      }
    }
    int acquired = 0;
    int released = 0;
    for (const ClientReport& report : sys.get(runs)) {
      acquired += report.acquired;
      released += report.released;
      if (report.exhausted > 0) exhausted = true;
    }
    const std::string conflict = sys.get(ledger.call(&Ledger::conflict));
    if (!checks.always("no connection is held by two clients at once", conflict.empty(),
                       fmt::format("round {}: {}", round, conflict))) {
      return;
    }
    if (!checks.always("0 <= available <= total == 5 while clients work", bad_status.empty(), bad_status)) return;
    const int held = sys.get(ledger.call(&Ledger::held));
    checks.always("clients hold nothing between rounds", held == 0 && acquired == released,
                  fmt::format("round {}: the ledger says {} held; clients acquired {}, released {}", round, held,
                              acquired, released));
    const Status status = sys.get(pool.call(&ConnectionPool::status));
    expect_status(checks, "an idle pool has every connection available", status, status_of(5, 5),
                  fmt::format("after round {} ({} leases, a duplicate release and stray releases)", round, acquired));
    if (checks.failed()) return;
  }
  checks.sometimes("pool exhausted: acquire returned none", exhausted);
  checks.sometimes("a connection passed from one client to another", sys.get(ledger.call(&Ledger::handed_over)));
}

}  // namespace

void register_connection_pool(Registry& registry) {
  registry.add({.name = "connection_pool",
                .summary = "the seed's ConnectionPool(5): exact acquire/status, concurrent clients never share a lease",
                .driver = [](System& sys, Checks& checks) { pool_driver(sys, checks, /*check_leased=*/true); },
                .buggify_sites = {std::string(kHoldLongSite)},
                .tolerates = kDelayFaults});
  registry.add({.name = "connection_pool.bug_double_lease",
                .summary = "the seed's release takes back an unleased connection: a duplicate release leases it twice",
                .expect_fail = true,
                .driver = [](System& sys, Checks& checks) { pool_driver(sys, checks, /*check_leased=*/false); },
                .buggify_sites = {std::string(kHoldLongSite)},
                .tolerates = kDelayFaults});
}

}  // namespace troupe::scenarios
