// data_store: the seed's DataStore and DataProcessor (Ray actors guide, "Actor 引用传递"): the
// store's handle is passed to the processor's constructor, and process(key) gets the value
// from the store and answers "Processed: <value>", "Processed: None" for a missing key (the
// seed's dict.get returns None).
//
// Checks, with exact values against a model of the store held by the driver:
//   * the seed's run: put("key1", "value1") (waited for), then process("key1") on a new
//     processor is exactly "Processed: value1";
//   * read-your-writes across handles: once the driver's put has returned, any processor (a
//     different caller of the store) reads that value; a key never written is "Processed: None";
//     three processors asked at once all answer the same;
//   * writer actors put concurrently (each its own keys) while processors read those keys: a read
//     that overlaps a put sees the old or the new value, nothing else; once a writer's put has
//     been acknowledged to the driver, every processor reads the new value.
// The driver works in rounds (overwriting a small set of keys) until the fault window has passed.
// The actors do not restart (a crash would lose the store's contents) but resend their calls
// until answered, so the scenario tolerates delays and lost messages: kDelayFaults, partitions
// and connection resets.
//
// data_store.bug_unawaited_put: the driver sends put and, without waiting for its reply, tells a
// processor to read the key. Calls from different callers (the driver, the processor) have no
// order at the store, so the processor's get may run before the put: it reads the old value.
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "runtime/troupe.h"
#include "scenarios/scenario.h"

namespace troupe::scenarios {
namespace {

constexpr int kProcessors = 3;
constexpr int kWriters = 3;
constexpr int kKeys = 4;               // the driver's keys: "key1" ... "key4"
constexpr int kDriverWritesPerRound = 8;
constexpr std::string_view kSlowGetSite = "data_store.processor.slow_get";

// Every call is resent until answered (max_task_retries = -1, no restarts): a lost message costs
// time, never a call. put (a whole value), get and process may run twice with no harm; a call
// is resent only before its caller has its answer, so a put never lands after its
// acknowledgement.
ActorOptions resending_options() { return {.max_task_retries = -1}; }

class DataStore {
 public:
  void put(std::string key, std::string value) { data_[std::move(key)] = std::move(value); }
  std::optional<std::string> get(std::string key) const {
    auto it = data_.find(key);
    if (it == data_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, std::string> data_;
};
TROUPE_ACTOR(DataStore, &DataStore::put, &DataStore::get);

class DataProcessor {
 public:
  explicit DataProcessor(ActorHandle<DataStore> store_handle) : store_(store_handle) {}
  std::string process(std::string key) {
    if (buggify(kSlowGetSite)) troupe::sleep(std::chrono::microseconds(troupe::random() % 300));
    std::optional<std::string> data = this_actor::system().get(store_.call(&DataStore::get, std::move(key)));
    return fmt::format("Processed: {}", data.value_or("None"));
  }

 private:
  ActorHandle<DataStore> store_;
};
TROUPE_ACTOR(DataProcessor, &DataProcessor::process);

// Puts into the store it was given and answers once the put has been acknowledged.
class Writer {
 public:
  explicit Writer(ActorHandle<DataStore> store) : store_(store) {}
  bool write(std::string key, std::string value) {
    this_actor::system().get(store_.call(&DataStore::put, std::move(key), std::move(value)));
    return true;
  }

 private:
  ActorHandle<DataStore> store_;
};
TROUPE_ACTOR(Writer, &Writer::write);

std::string processed(const std::optional<std::string>& value) {
  return fmt::format("Processed: {}", value.value_or("None"));
}

std::optional<std::string> lookup(const std::map<std::string, std::string>& model, const std::string& key) {
  auto it = model.find(key);
  if (it == model.end()) return std::nullopt;
  return it->second;
}

struct Fixture {
  ActorHandle<DataStore> store;
  std::vector<ActorHandle<DataProcessor>> processors;
  std::vector<ActorHandle<Writer>> writers;
  std::map<std::string, std::string> model;  // what the store holds, as acknowledged
  int version = 0;                           // values are "v<version>"
};

// The driver puts a value (waiting for the put unless `unawaited_put`, the planted bug) and asks
// a processor for it; then asks every processor at once for every key.
bool driver_writes(System& sys, Checks& checks, Fixture& f, bool unawaited_put) {
  for (int w = 0; w < kDriverWritesPerRound; ++w) {
    const std::string key = fmt::format("key{}", 1 + troupe::random() % kKeys);
    const std::string value = fmt::format("v{}", ++f.version);
    Ref<void> put = f.store.call(&DataStore::put, key, value);
    if (!unawaited_put) sys.get(put);
    f.model[key] = value;
    const size_t p = troupe::random() % f.processors.size();
    const std::string got = sys.get(f.processors[p].call(&DataProcessor::process, key));
    if (unawaited_put) sys.get(put);
    if (!checks.always("a processor reads what the driver's acknowledged put wrote", got == processed(value),
                       fmt::format("put({}, {}) then processor {}: got \"{}\", expected \"{}\"", key, value, p, got,
                                   processed(value)))) {
      return false;
    }
  }
  std::vector<std::string> keys;
  for (int k = 1; k <= kKeys + 1; ++k) keys.push_back(fmt::format("key{}", k));  // key5 is never written
  std::vector<Ref<std::string>> reads;
  for (const ActorHandle<DataProcessor>& processor : f.processors) {
    for (const std::string& key : keys) reads.push_back(processor.call(&DataProcessor::process, key));
  }
  std::vector<std::string> got = sys.get(reads);
  for (size_t i = 0; i < got.size(); ++i) {
    const std::string& key = keys[i % keys.size()];
    const std::string want = processed(lookup(f.model, key));
    if (!checks.always("processors asked at once all read the acknowledged value", got[i] == want,
                       fmt::format("processor {} for {}: got \"{}\", expected \"{}\"", i / keys.size(), key, got[i],
                                   want))) {
      return false;
    }
  }
  return true;
}

// Writer actors put (each its own key) while processors read those keys.
bool writers_write(System& sys, Checks& checks, Fixture& f, int round) {
  std::vector<std::string> keys;
  std::vector<std::string> values;
  std::vector<Ref<bool>> writes;
  for (int w = 0; w < kWriters; ++w) {
    keys.push_back(fmt::format("w{}.key{}", w, round % 2));  // every other round overwrites
    values.push_back(fmt::format("v{}", ++f.version));
    writes.push_back(f.writers[static_cast<size_t>(w)].call(&Writer::write, keys.back(), values.back()));
  }
  // Reads that overlap the puts: the old value or the new one.
  std::vector<Ref<std::string>> racing;
  for (int w = 0; w < kWriters; ++w) {
    troupe::sleep(std::chrono::microseconds(troupe::random() % 250));  // land before, during or after the put
    racing.push_back(f.processors[static_cast<size_t>(w) % f.processors.size()].call(&DataProcessor::process,
                                                                                  keys[static_cast<size_t>(w)]));
  }
  for (int w = 0; w < kWriters; ++w) {
    const size_t i = static_cast<size_t>(w);
    const std::string got = sys.get(racing[i]);
    const std::string old_value = processed(lookup(f.model, keys[i]));
    const std::string new_value = processed(values[i]);
    if (!checks.always("a read that overlaps a put sees the old or the new value", got == old_value || got == new_value,
                       fmt::format("{}: got \"{}\", expected \"{}\" or \"{}\"", keys[i], got, old_value, new_value))) {
      return false;
    }
    checks.sometimes("a read that overlapped a put saw the old value", got != new_value);
    checks.sometimes("a read that overlapped a put saw the new value", got == new_value);
  }
  for (int w = 0; w < kWriters; ++w) {
    const size_t i = static_cast<size_t>(w);
    checks.always("a writer's put is acknowledged", sys.get(writes[i]), keys[i]);
    f.model[keys[i]] = values[i];
    for (size_t p = 0; p < f.processors.size(); ++p) {
      const std::string got = sys.get(f.processors[p].call(&DataProcessor::process, keys[i]));
      if (!checks.always("after a writer's acknowledged put every processor reads it", got == processed(values[i]),
                         fmt::format("{} = {}, processor {}: got \"{}\"", keys[i], values[i], p, got))) {
        return false;
      }
    }
  }
  return true;
}

void data_store_driver(System& sys, Checks& checks, bool unawaited_put) {
  // The seed's run.
  Fixture f;
  f.store = sys.spawn<DataStore>(resending_options());
  sys.get(f.store.call(&DataStore::put, std::string("key1"), std::string("value1")));
  f.model["key1"] = "value1";
  f.processors.push_back(sys.spawn<DataProcessor>(resending_options(), f.store));
  const std::string first = sys.get(f.processors[0].call(&DataProcessor::process, std::string("key1")));
  if (!checks.always("the seed's process('key1') is \"Processed: value1\"", first == "Processed: value1",
                     fmt::format("got \"{}\"", first))) {
    return;
  }
  const std::string missing = sys.get(f.processors[0].call(&DataProcessor::process, std::string("nope")));
  if (!checks.always("a missing key is \"Processed: None\"", missing == "Processed: None",
                     fmt::format("got \"{}\"", missing))) {
    return;
  }

  for (int p = 1; p < kProcessors; ++p) f.processors.push_back(sys.spawn<DataProcessor>(resending_options(), f.store));
  for (int w = 0; w < kWriters; ++w) f.writers.push_back(sys.spawn<Writer>(resending_options(), f.store));
  for (int round = 0; keep_working(sys, checks, round); ++round) {
    if (round > 0) troupe::sleep(std::chrono::milliseconds(100 + troupe::random() % 150));
    if (!driver_writes(sys, checks, f, unawaited_put)) return;
    if (!writers_write(sys, checks, f, round)) return;
  }
}

std::set<faults::FaultKind> tolerated() {
  std::set<faults::FaultKind> kinds = kDelayFaults;
  kinds.insert(faults::FaultKind::kPartition);
  kinds.insert(faults::FaultKind::kReset);
  return kinds;
}

}  // namespace

void register_data_store(Registry& registry) {
  registry.add({.name = "data_store",
                .summary = "the seed's DataStore handle passed to DataProcessors: read-your-writes across handles",
                .driver = [](System& sys, Checks& checks) { data_store_driver(sys, checks, false); },
                .buggify_sites = {std::string(kSlowGetSite)},
                .tolerates = tolerated()});
  registry.add({.name = "data_store.bug_unawaited_put",
                .summary = "the driver asks a processor to read before its put was acknowledged: the read may miss it",
                .expect_fail = true,
                .driver = [](System& sys, Checks& checks) { data_store_driver(sys, checks, true); },
                .buggify_sites = {std::string(kSlowGetSite)},
                .tolerates = tolerated()});
}

}  // namespace troupe::scenarios
