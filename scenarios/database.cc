// database: the seed's Database (Ray actors guide, "创建 Actor"): a named key-value actor with
// insert and get. Checks exact values: the seed's insert → true and get("key1") → "value1"; a
// missing key reads back as an empty optional (Python's None); an overwrite by the same caller
// is seen by its next read; writer actors insert concurrently while the driver reads, and every
// read is either empty or the exact value written (in rounds of fresh keys until the fault
// window has passed); two databases do not share keys.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "runtime/troupe.h"
#include "scenarios/scenario.h"

namespace troupe::scenarios {
namespace {

class Database {
 public:
  explicit Database(std::string name) : name_(std::move(name)) {}
  bool insert(std::string key, std::string value) {
    data_[std::move(key)] = std::move(value);
    return true;
  }
  std::optional<std::string> get(std::string key) const {
    auto it = data_.find(key);
    if (it == data_.end()) return std::nullopt;
    return it->second;
  }
  int64_t size() const { return static_cast<int64_t>(data_.size()); }
  std::string name() const { return name_; }
  std::string repr() const { return fmt::format("Database({}, {} keys)", name_, data_.size()); }

 private:
  std::string name_;
  std::map<std::string, std::string> data_;
};
TROUPE_ACTOR(Database, &Database::insert, &Database::get, &Database::size, &Database::name);

// The key writer `writer` inserts as its `j`-th in round `round`.
std::string key_name(int round, int writer, int j) { return fmt::format("r{}.w{}.k{}", round, writer, j); }

// Inserts its keys one after the other, with random pauses; returns how many inserts said true.
class Writer {
 public:
  Writer(ActorHandle<Database> db, int id) : db_(db), id_(id) {}
  int write(int round, int count) {
    int acknowledged = 0;
    for (int j = 0; j < count; ++j) {
      auto inserted = db_.call(&Database::insert, key_name(round, id_, j), fmt::format("value {}.{}", id_, j));
      acknowledged += this_actor::system().get(inserted) ? 1 : 0;
      troupe::sleep(std::chrono::microseconds(troupe::random() % 300));
    }
    return acknowledged;
  }

 private:
  ActorHandle<Database> db_;
  int id_;
};
TROUPE_ACTOR(Writer, &Writer::write);

constexpr int kWriters = 3;
constexpr int kKeysPerWriter = 8;

std::string show(const std::optional<std::string>& value) { return value ? fmt::format("\"{}\"", *value) : "empty"; }

void expect_value(Checks& checks, std::string_view name, const std::optional<std::string>& got,
                  const std::optional<std::string>& expected) {
  checks.always(name, got == expected, fmt::format("got {}, expected {}", show(got), show(expected)));
}

void writers_round(System& sys, Checks& checks, ActorHandle<Database> db, const std::vector<ActorHandle<Writer>>& writers,
                   int write_round);

void database_driver(System& sys, Checks& checks) {
  auto db = sys.spawn<Database>({}, std::string("my_db"));
  checks.always("insert returns true", sys.get(db.call(&Database::insert, std::string("key1"), std::string("value1"))));
  expect_value(checks, "get returns the inserted value", sys.get(db.call(&Database::get, std::string("key1"))),
               "value1");
  expect_value(checks, "a missing key reads back empty", sys.get(db.call(&Database::get, std::string("nope"))),
               std::nullopt);
  checks.always("the constructor argument arrived", sys.get(db.call(&Database::name)) == "my_db");

  // Same caller: the read is submitted before the overwrite returned, and still sees it.
  Ref<bool> overwrite = db.call(&Database::insert, std::string("key1"), std::string("value2"));
  expect_value(checks, "a read sees the same caller's overwrite", sys.get(db.call(&Database::get, std::string("key1"))),
               "value2");
  checks.always("overwrite returns true", sys.get(overwrite));

  // Writers insert while the driver reads: each read is empty or exactly the value written. In
  // rounds of fresh keys, with a pause between them, until the fault window has passed.
  std::vector<ActorHandle<Writer>> writers;
  for (int i = 0; i < kWriters; ++i) writers.push_back(sys.spawn<Writer>({}, db, i));
  int rounds = 0;
  for (; keep_working(sys, checks, rounds); ++rounds) {
    if (rounds > 0) troupe::sleep(std::chrono::milliseconds(350 + troupe::random() % 200));
    writers_round(sys, checks, db, writers, rounds);
  }
  const int64_t size = sys.get(db.call(&Database::size));
  checks.always("size counts every distinct key", size == 1 + rounds * kWriters * kKeysPerWriter,
                fmt::format("got {}, expected {}", size, 1 + rounds * kWriters * kKeysPerWriter));

  // A second database is a separate actor with its own state.
  auto other = sys.spawn<Database>({}, std::string("other_db"));
  expect_value(checks, "databases do not share keys", sys.get(other.call(&Database::get, std::string("key1"))),
               std::nullopt);
  checks.always("the second database has its own name", sys.get(other.call(&Database::name)) == "other_db");
}

// One round of the writers, writing round `write_round`'s keys while the driver reads them.
void writers_round(System& sys, Checks& checks, ActorHandle<Database> db, const std::vector<ActorHandle<Writer>>& writers,
                   int write_round) {
  std::vector<Ref<int>> writes;
  for (const ActorHandle<Writer>& writer : writers) {
    writes.push_back(writer.call(&Writer::write, write_round, kKeysPerWriter));
  }
  for (int round = 0; round < 4; ++round) {
    troupe::sleep(std::chrono::microseconds(400));
    for (int j = 0; j < kKeysPerWriter; ++j) {
      const int i = (round + j) % kWriters;
      std::optional<std::string> seen = sys.get(db.call(&Database::get, key_name(write_round, i, j)));
      const std::string written = fmt::format("value {}.{}", i, j);
      checks.always("a concurrent read is empty or the written value", !seen || *seen == written,
                    fmt::format("{}: got {}", key_name(write_round, i, j), show(seen)));
      checks.sometimes("a concurrent read came before the write", !seen);
      checks.sometimes("a concurrent read came after the write", seen.has_value());
    }
  }
  for (int i = 0; i < kWriters; ++i) {
    const int acknowledged = sys.get(writes[static_cast<size_t>(i)]);
    checks.always("every insert of a writer returns true", acknowledged == kKeysPerWriter,
                  fmt::format("writer {}: {} of {}", i, acknowledged, kKeysPerWriter));
    for (int j = 0; j < kKeysPerWriter; ++j) {
      expect_value(checks, "every written key reads back", sys.get(db.call(&Database::get, key_name(write_round, i, j))),
                   fmt::format("value {}.{}", i, j));
    }
  }
}

}  // namespace

void register_database(Registry& registry) {
  registry.add({.name = "database",
                .summary = "the seed's Database(name): insert/get exact values, missing keys, concurrent writers",
                .driver = database_driver,
                .tolerates = kDelayFaults});
}

}  // namespace troupe::scenarios
