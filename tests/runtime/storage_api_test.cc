// troupe::storage end to end: actors checkpoint into the cluster store and restore from it after
// a crash, on the simulator and on the threads platform (in memory and in files), with the same
// driver code and the same expected values.
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "fmt/format.h"
#include "runtime/core/cluster.h"
#include "runtime/real/threads_platform.h"
#include "runtime/troupe.h"
#include "sim/sim_run.h"

namespace troupe {
namespace {

// A counter that checkpoints before each reply and restores in its constructor.
class DurableCounter {
 public:
  explicit DurableCounter(std::string key) : key_(std::move(key)) {
    value_ = storage::get_value<int>(key_).value_or(0);
  }
  int increment() {
    storage::put_value(key_, value_ + 1);
    return ++value_;
  }
  void crash() { this_actor::crash(); }
  int restarts() { return this_actor::restart_count(); }
  uint32_t node() { return this_actor::node().value; }
  // Writes under a key the store refuses.
  void write_bad_key() { storage::put("bad\nkey", "v"); }
  void forget() { storage::remove(key_); }

 private:
  std::string key_;
  int value_ = 0;
};
TROUPE_ACTOR(DurableCounter, &DurableCounter::increment, &DurableCounter::crash, &DurableCounter::restarts,
             &DurableCounter::node, &DurableCounter::write_bad_key, &DurableCounter::forget);

enum class Backend { kSim, kThreadsMemory, kThreadsFiles };

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  switch (info.param) {
    case Backend::kSim: return "Sim";
    case Backend::kThreadsMemory: return "ThreadsMemory";
    case Backend::kThreadsFiles: return "ThreadsFiles";
  }
  return "unknown";
}

constexpr uint64_t kSeeds = 10;

class StorageApi : public ::testing::TestWithParam<Backend> {
 protected:
  // Runs `driver` on the sim (kSeeds seeds) or once on threads.
  void run(absl::AnyInvocable<void(System&)> driver) {
    if (GetParam() == Backend::kSim) {
      for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
        sim::SimRunResult result = sim::run_simulation({.seed = seed}, [&](System& sys) { driver(sys); });
        ASSERT_TRUE(result.status.ok()) << "seed " << seed << ": " << result.status;
      }
      return;
    }
    std::filesystem::path directory;
    if (GetParam() == Backend::kThreadsFiles) {
      directory = std::filesystem::path(::testing::TempDir()) /
                  fmt::format("troupe_storage_api_{}_{}", ::getpid(),
                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
      std::filesystem::remove_all(directory);
    }
    {
      ThreadsPlatform platform({.threads = 4,
                                .nodes = {{.name = "head", .cpus = 8}, {.name = "node1", .cpus = 8},
                                          {.name = "node2", .cpus = 8}},
                                .seed = 1,
                                .storage = {.directory = directory.string()}});
      absl::Status status = core::run_driver(platform, [&](System& sys) { driver(sys); });
      ASSERT_TRUE(status.ok()) << "threads: " << status;
    }
    if (!directory.empty()) {
      EXPECT_TRUE(std::filesystem::exists(directory / "counter%2Fa"));
      std::filesystem::remove_all(directory);
    }
  }
};

TEST_P(StorageApi, AnActorRestoresItsCheckpointAfterACrash) {
  run([](System& sys) {
    auto counter = sys.spawn<DurableCounter>({.max_restarts = 1}, std::string("counter/a"));
    EXPECT_EQ(sys.get(counter.call(&DurableCounter::increment)), 1);
    EXPECT_EQ(sys.get(counter.call(&DurableCounter::increment)), 2);
    EXPECT_EQ(sys.get(counter.call(&DurableCounter::increment)), 3);
    EXPECT_THROW(sys.get(counter.call(&DurableCounter::crash)), Error);
    auto retrying = counter.with({.max_task_retries = -1});
    EXPECT_EQ(sys.get(retrying.call(&DurableCounter::restarts)), 1);
    EXPECT_EQ(sys.get(retrying.call(&DurableCounter::increment)), 4);
    // The driver reads the same store.
    EXPECT_EQ(storage::get_value<int>("counter/a"), 4);
  });
}

TEST_P(StorageApi, AllNodesShareOneStore) {
  run([](System& sys) {
    storage::put_value("counter/a", 41);
    auto counter = sys.spawn<DurableCounter>({.num_cpus = 8}, std::string("counter/a"));
    auto other = sys.spawn<DurableCounter>({.num_cpus = 8}, std::string("counter/a"));
    const uint32_t node = sys.get(counter.call(&DurableCounter::node));
    const uint32_t other_node = sys.get(other.call(&DurableCounter::node));
    EXPECT_NE(node, other_node);  // 8 CPUs each: one actor per node
    EXPECT_EQ(sys.get(counter.call(&DurableCounter::increment)), 42);
    EXPECT_EQ(storage::get_value<int>("counter/a"), 42);
    sys.get(other.call(&DurableCounter::forget));
    EXPECT_EQ(storage::get("counter/a"), std::nullopt);
    storage::put_value("counter/a", 7);  // leaves the file the file-store run checks for
  });
}

TEST_P(StorageApi, AStorageErrorInAMethodReachesTheCallerAsATaskError) {
  run([](System& sys) {
    auto counter = sys.spawn<DurableCounter>({}, std::string("counter/a"));
    try {
      sys.get(counter.call(&DurableCounter::write_bad_key));
      ADD_FAILURE() << "write_bad_key did not throw";
    } catch (const TaskError& error) {
      EXPECT_EQ(error.type_name(), "troupe::StorageError");
      EXPECT_EQ(error.message(),
                "storage: put 'bad\\x0akey' failed (the write was not applied): storage key has byte 0x0a at offset 3: "
                "keys are printable ASCII (0x20 to 0x7e)");
    }
    try {
      storage::put("", "v");
      ADD_FAILURE() << "put with an empty key did not throw";
    } catch (const StorageError& error) {
      EXPECT_FALSE(error.may_have_been_applied());
      EXPECT_FALSE(error.transient());
    }
    storage::put_value("counter/a", 0);
  });
}

INSTANTIATE_TEST_SUITE_P(Platforms, StorageApi,
                         ::testing::Values(Backend::kSim, Backend::kThreadsMemory, Backend::kThreadsFiles),
                         backend_name);

}  // namespace
}  // namespace troupe
