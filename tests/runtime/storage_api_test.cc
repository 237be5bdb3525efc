// troupe::storage end to end: actors checkpoint into the cluster store and restore from it after
// a crash, on the simulator and on the threads platform (in memory and in files), with the same
// driver code and the same expected values.
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// ---- Fencing against split brain (docs/semantics.md "Split brain", "Storage") --------------------

// What each FencedRegister instance did: "<incarnation>: <event>". A test-side log (the
// simulator is single-threaded), cleared before each seed.
std::vector<std::string>& register_log() {
  static std::vector<std::string> log;
  return log;
}

constexpr std::string_view kRegisterKey = "register";

// A register that checkpoints before each reply, like scenarios/stateful_actor.cc. Fenced: its
// constructor restores with a fenced get (token restart_count() + 1) and its checkpoints carry
// the same token; a checkpoint refused as fenced means a successor took over, and the instance
// crashes instead of replying. Unfenced (token 0): plain get and put.
class FencedRegister {
 public:
  explicit FencedRegister(bool fenced)
      : token_(fenced ? static_cast<uint64_t>(this_actor::restart_count()) + 1 : 0) {
    value_ = storage::get_value<int>(kRegisterKey, {.fence = token_}).value_or(0);
    register_log().push_back(fmt::format("{}: restored {}", this_actor::restart_count(), value_));
  }
  int set(int value) {
    value_ = value;
    bool replaced = false;
    try {
      storage::put_value(kRegisterKey, value_, {.fence = token_});
    } catch (const StorageError& error) {
      if (!error.fenced()) throw;
      replaced = true;
    }
    if (replaced) {
      register_log().push_back(fmt::format("{}: fenced at set({})", this_actor::restart_count(), value));
      this_actor::crash();
    }
    register_log().push_back(fmt::format("{}: acknowledged set({})", this_actor::restart_count(), value));
    return value_;
  }
  int get() { return value_; }

 private:
  uint64_t token_;
  int value_ = 0;
};
TROUPE_ACTOR(FencedRegister, &FencedRegister::set, &FencedRegister::get);

// The seed-87 pattern of stateful_actor under --faults swarm, pinned. The worker p3 is falsely
// suspected at 10 ms; the directory (p1) restarts the register on p4, whose constructor restores
// the checkpoint at ~11 ms, and fences p3 (its fence message is held: p1 -> p3 is clogged until
// 100 ms). The driver (p2) has not heard of the restart either (p1 -> p2 is clogged too), so at
// 20 ms it sends set(2) to the old instance p3.
//   * Unfenced, p3 checkpoints 2 and replies: the driver's write is acknowledged, yet p4 holds 1
//     and answers 1 once the driver talks to it: an acknowledged write is lost.
//   * Fenced, p4's get raised the checkpoint's fence to 2; p3's put (token 1) is refused, p3
//     crashes before replying, and the driver retries set(2) on p4 (max_task_retries = 1), which
//     acknowledges it: nothing acknowledged is lost.
struct SplitBrainOutcome {
  int reply = 0;       // set(2)'s result, as the driver got it
  int seen_after = 0;  // get() on the instance the driver talks to at 150 ms
  std::optional<int> checkpoint;
  bool operator==(const SplitBrainOutcome&) const = default;
};

SplitBrainOutcome run_split_brain(uint64_t seed, bool fenced) {
  register_log().clear();
  SplitBrainOutcome outcome;
  sim::SimRunOptions options{.seed = seed};
  options.cluster.nodes = {{.name = "head", .cpus = 0}, {.name = "node1", .cpus = 8}};
  options.prepare = [](sim::World& w) {
    w.at(5 * kMillisecond, [&w] {
      w.network().clog_link(ProcessId{1}, ProcessId{3}, 100 * kMillisecond);  // holds the fence
      w.network().clog_link(ProcessId{1}, ProcessId{2}, 100 * kMillisecond);  // holds "restarting"
    });
    w.at(10 * kMillisecond, [&w] { w.suspect_process(ProcessId{3}, "missed heartbeats"); });
  };
  sim::SimRunResult result = sim::run_simulation(options, [&](System& sys) {
    auto reg = sys.spawn<FencedRegister>({.max_restarts = 1, .max_task_retries = 1}, fenced);
    EXPECT_EQ(sys.get(reg.call(&FencedRegister::set, 1)), 1);
    troupe::sleep(std::chrono::nanoseconds(20 * kMillisecond - troupe::now().count()));
    outcome.reply = sys.get(reg.call(&FencedRegister::set, 2));
    troupe::sleep(std::chrono::nanoseconds(150 * kMillisecond - troupe::now().count()));
    outcome.seen_after = sys.get(reg.call(&FencedRegister::get));
    outcome.checkpoint = storage::get_value<int>(kRegisterKey);
  });
  EXPECT_TRUE(result.status.ok()) << "seed " << seed << ": " << result.status;
  return outcome;
}

TEST(SplitBrainStorageSim, WithoutFencingTheOldInstanceAcknowledgesAWriteItsSuccessorNeverSees) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    EXPECT_EQ(run_split_brain(seed, /*fenced=*/false), (SplitBrainOutcome{.reply = 2, .seen_after = 1, .checkpoint = 2}));
    EXPECT_EQ(register_log(), (std::vector<std::string>{"0: restored 0", "0: acknowledged set(1)", "1: restored 1",
                                                        "0: acknowledged set(2)"}));
  }
}

TEST(SplitBrainStorageSim, AFencedCheckpointRefusesTheOldInstanceAndNoAcknowledgedWriteIsLost) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    EXPECT_EQ(run_split_brain(seed, /*fenced=*/true), (SplitBrainOutcome{.reply = 2, .seen_after = 2, .checkpoint = 2}));
    EXPECT_EQ(register_log(), (std::vector<std::string>{"0: restored 0", "0: acknowledged set(1)", "1: restored 1",
                                                        "0: fenced at set(2)", "1: acknowledged set(2)"}));
  }
}

INSTANTIATE_TEST_SUITE_P(Platforms, StorageApi,
                         ::testing::Values(Backend::kSim, Backend::kThreadsMemory, Backend::kThreadsFiles),
                         backend_name);

}  // namespace
}  // namespace troupe
