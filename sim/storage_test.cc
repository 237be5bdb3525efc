// sim::Storage through the public API (troupe::storage) on raw World fibers: latency,
// visibility at the acknowledgement, loss at a writer's crash, injected errors and losses, limits,
// determinism.
#include "sim/storage.h"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fmt/format.h"
#include "runtime/clock.h"
#include "runtime/storage.h"
#include "sim/world.h"

namespace troupe::sim {
namespace {

using namespace std::chrono_literals;

class Host : public ProcessHost {
 public:
  void on_message(ProcessId, std::string) override {}
};

// Fixed latencies (no jitter), so every time below is exact.
constexpr StorageOptions kExact{.write_latency_ns = kMillisecond, .read_latency_ns = 500 * kMicrosecond, .jitter_ns = 0};

struct Fixture {
  explicit Fixture(uint64_t seed = 1, StorageOptions storage = kExact)
      : world({.seed = seed, .trace = &trace, .storage = storage}) {
    trace.set_retain(true);
    world.add_node({.name = "head"});
    world.add_node({.name = "other"});
  }
  ProcessId start(NodeId node = NodeId{0}) { return *world.start_process(node, "p", std::make_unique<Host>()); }
  // Stops the World at `time`.
  void stop_at(Nanos time) {
    world.at(time, [this] { world.stop(); });
  }
  // The details of the events of `kind`, in order.
  std::vector<std::string> details(TraceKind kind) const {
    std::vector<std::string> result;
    for (const TraceEvent& event : trace.retained()) {
      if (event.kind == kind) result.push_back(event.detail);
    }
    return result;
  }
  Trace trace;
  World world;
};

// Runs `body` and returns the StorageError it throws (fails the test if it throws none).
template <typename Body>
std::optional<StorageError> storage_error(Body body) {
  try {
    body();
  } catch (const StorageError& error) {
    return error;
  }
  ADD_FAILURE() << "no StorageError was thrown";
  return std::nullopt;
}

TEST(SimStorage, OperationsTakeTheirLatencyAndWritesBecomeVisibleAtTheAcknowledgement) {
  Fixture f;
  ProcessId writer = f.start();
  ProcessId reader = f.start(NodeId{1});
  std::vector<Nanos> put_returned;
  std::vector<std::pair<Nanos, std::optional<std::string>>> reads;
  f.world.spawn(writer, "writer", [&] {
    storage::put("k", "old");  // 0 -> 1 ms
    put_returned.push_back(f.world.now());
    storage::put("k", "new");  // 1 -> 2 ms
    put_returned.push_back(f.world.now());
  });
  f.world.spawn(reader, "reader", [&] {
    troupe::sleep(1200us);
    for (int i = 0; i < 2; ++i) {  // 1.2 -> 1.7 ms: before the second ack; 1.7 -> 2.2 ms: after it
      std::optional<std::string> value = storage::get("k");
      reads.emplace_back(f.world.now(), std::move(value));
    }
  });
  f.stop_at(10 * kMillisecond);
  ASSERT_TRUE(f.world.run().ok());
  EXPECT_EQ(put_returned, (std::vector<Nanos>{kMillisecond, 2 * kMillisecond}));
  using Read = std::pair<Nanos, std::optional<std::string>>;
  EXPECT_EQ(reads, (std::vector<Read>{{1'700'000, "old"}, {2'200'000, "new"}}));
  EXPECT_EQ(f.details(TraceKind::kStorage),
            (std::vector<std::string>{"put #1 k", "put #1 k: ok", "put #2 k", "get #3 k", "get #3 k: found",
                                      "get #4 k", "put #2 k: ok", "get #4 k: found"}));
}

TEST(SimStorage, AGetThatCompletesBeforeTheFirstAcknowledgementFindsNothing) {
  Fixture f;
  ProcessId writer = f.start();
  ProcessId reader = f.start();
  std::optional<std::string> seen = "unset";
  f.world.spawn(writer, "writer", [&] { storage::put("k", "v"); });       // acked at 1 ms
  f.world.spawn(reader, "reader", [&] { seen = storage::get("k"); });     // completes at 0.5 ms
  f.stop_at(5 * kMillisecond);
  ASSERT_TRUE(f.world.run().ok());
  EXPECT_EQ(seen, std::nullopt);
  EXPECT_EQ(f.world.storage().peek("k"), "v");
}

TEST(SimStorage, AWriteInFlightWhenItsWriterCrashesIsNeverApplied) {
  Fixture f;
  ProcessId writer = f.start(NodeId{1});
  ProcessId reader = f.start();
  bool second_put_returned = false;
  std::optional<std::string> seen_a;
  std::optional<std::string> seen_b = "unset";
  f.world.spawn(writer, "writer", [&] {
    storage::put("a", "1");  // acknowledged at 1 ms
    storage::put("b", "2");  // would be acknowledged at 2 ms; the process dies at 1.5 ms
    second_put_returned = true;
  });
  f.world.at(1'500'000, [&] { f.world.kill_process(writer, "test crash"); });
  f.world.spawn(reader, "reader", [&] {
    troupe::sleep(3ms);
    seen_a = storage::get("a");
    seen_b = storage::get("b");
  });
  f.stop_at(10 * kMillisecond);
  ASSERT_TRUE(f.world.run().ok());
  EXPECT_FALSE(second_put_returned);
  EXPECT_EQ(seen_a, "1");
  EXPECT_EQ(seen_b, std::nullopt);
  EXPECT_EQ(f.world.storage().peek("b"), std::nullopt);
  EXPECT_EQ(f.details(TraceKind::kStorageFailure),
            (std::vector<std::string>{"put #2 b: lost: the writer's process died before the acknowledgement"}));
}

TEST(SimStorage, ContentsSurviveANodeCrash) {
  Fixture f;
  ProcessId writer = f.start(NodeId{1});
  ProcessId reader = f.start();
  std::optional<std::string> seen;
  f.world.spawn(writer, "writer", [&] { storage::put("k", "durable"); });
  f.world.at(2 * kMillisecond, [&] { f.world.crash_node(NodeId{1}, -1); });
  f.world.spawn(reader, "reader", [&] {
    troupe::sleep(3ms);
    seen = storage::get("k");
  });
  f.stop_at(10 * kMillisecond);
  ASSERT_TRUE(f.world.run().ok());
  EXPECT_FALSE(f.world.process_alive(writer));
  EXPECT_EQ(seen, "durable");
}

TEST(SimStorage, ErrorRateOneFailsEveryOperationWithATransientStorageErrorUntilTheFaultEnds) {
  Fixture f;
  ProcessId p = f.start();
  std::vector<std::optional<StorageError>> errors;
  std::optional<std::string> after;
  f.world.at(0, [&] { f.world.storage().inject_fault({.error_rate = 1.0, .loss_rate = 0, .until = 10 * kMillisecond}); });
  f.world.spawn(p, "main", [&] {
    troupe::sleep(1us);  // after the fault starts
    errors.push_back(storage_error([] { storage::put("k", "v"); }));
    errors.push_back(storage_error([] { (void)storage::get("k"); }));
    errors.push_back(storage_error([] { storage::remove("k"); }));
    troupe::sleep(10ms);
    storage::put("k", "after");
    after = storage::get("k");
  });
  f.stop_at(50 * kMillisecond);
  ASSERT_TRUE(f.world.run().ok());
  ASSERT_EQ(errors.size(), 3u);
  for (const auto& error : errors) {
    ASSERT_TRUE(error.has_value());
    EXPECT_TRUE(error->transient());
  }
  EXPECT_TRUE(errors[0]->may_have_been_applied());
  EXPECT_FALSE(errors[1]->may_have_been_applied());
  EXPECT_TRUE(errors[2]->may_have_been_applied());
  EXPECT_EQ(std::string(errors[1]->what()), "storage: get 'k' failed: injected storage error");
  EXPECT_EQ(after, "after");
  const std::vector<std::string> failures = f.details(TraceKind::kStorageFailure);
  ASSERT_EQ(failures.size(), 3u);
  EXPECT_EQ(failures[1], "get #2 k: injected error (read)");
  EXPECT_EQ(f.details(TraceKind::kFault), (std::vector<std::string>{"storage errors 1 loss 0 until 10000000ns"}));
}

// An injected error on a write either applied it or not; the writer is told "may have been
// applied", and the store holds exactly what the trace says.
TEST(SimStorage, AnInjectedWriteErrorIsHonestAboutWhatTheStoreHolds) {
  const uint64_t seed = 11;
  SCOPED_TRACE(fmt::format("seed {}", seed));
  Fixture f(seed);
  ProcessId p = f.start();
  int applied = 0;
  int not_applied = 0;
  f.world.at(0, [&] { f.world.storage().inject_fault({.error_rate = 1.0, .loss_rate = 0, .until = kSecond}); });
  f.world.spawn(p, "main", [&] {
    troupe::sleep(1us);
    for (int i = 0; i < 100; ++i) {
      const std::optional<std::string> before = f.world.storage().peek("k");
      const std::string value = fmt::format("v{}", i);
      std::optional<StorageError> error = storage_error([&] { storage::put("k", value); });
      ASSERT_TRUE(error && error->may_have_been_applied());
      const std::optional<std::string> now = f.world.storage().peek("k");
      const std::string last = f.details(TraceKind::kStorageFailure).back();
      if (now == value) {
        ++applied;
        EXPECT_EQ(last, fmt::format("put #{} k: injected error (applied)", i + 1));
      } else {
        ++not_applied;
        EXPECT_EQ(now, before);
        EXPECT_EQ(last, fmt::format("put #{} k: injected error (not applied)", i + 1));
      }
    }
  });
  f.stop_at(2 * kSecond);
  ASSERT_TRUE(f.world.run().ok());
  EXPECT_EQ(applied + not_applied, 100);
  EXPECT_GT(applied, 0);
  EXPECT_GT(not_applied, 0);
}

TEST(SimStorage, LossRateOneLosesEveryWriteAndTellsTheWriterItWasNotApplied) {
  Fixture f;
  ProcessId p = f.start();
  std::optional<StorageError> put_error;
  std::optional<StorageError> remove_error;
  std::optional<std::string> read;
  f.world.spawn(p, "main", [&] {
    storage::put("k", "kept");
    f.world.storage().inject_fault({.error_rate = 0, .loss_rate = 1.0, .until = f.world.now() + 10 * kMillisecond});
    put_error = storage_error([] { storage::put("k", "lost"); });
    remove_error = storage_error([] { storage::remove("k"); });
    read = storage::get("k");  // reads are not lost
  });
  f.stop_at(50 * kMillisecond);
  ASSERT_TRUE(f.world.run().ok());
  ASSERT_TRUE(put_error && remove_error);
  EXPECT_FALSE(put_error->may_have_been_applied());
  EXPECT_TRUE(put_error->transient());
  EXPECT_FALSE(remove_error->may_have_been_applied());
  EXPECT_EQ(std::string(put_error->what()),
            "storage: put 'k' failed (the write was not applied): the write was lost before it was acknowledged "
            "(injected storage fault); it was not applied");
  EXPECT_EQ(read, "kept");
  EXPECT_EQ(f.world.storage().peek("k"), "kept");
  EXPECT_EQ(f.details(TraceKind::kStorageFailure),
            (std::vector<std::string>{"put #2 k: injected loss (not applied)", "remove #3 k: injected loss (not applied)"}));
}

// With loss_rate 0.5, some writes are lost and some applied; each outcome the writer sees matches
// the store exactly (success means applied, failure means not).
TEST(SimStorage, PartialLossNeverReportsSuccessForAWriteThatWasNotApplied) {
  const uint64_t seed = 5;
  SCOPED_TRACE(fmt::format("seed {}", seed));
  Fixture f(seed);
  ProcessId p = f.start();
  int ok = 0;
  int lost = 0;
  f.world.at(0, [&] { f.world.storage().inject_fault({.error_rate = 0, .loss_rate = 0.5, .until = kSecond}); });
  f.world.spawn(p, "main", [&] {
    troupe::sleep(1us);
    for (int i = 0; i < 200; ++i) {
      const std::optional<std::string> before = f.world.storage().peek("k");
      const std::string value = fmt::format("v{}", i);
      try {
        storage::put("k", value);
        ++ok;
        EXPECT_EQ(f.world.storage().peek("k"), value);
      } catch (const StorageError& error) {
        ++lost;
        EXPECT_FALSE(error.may_have_been_applied());
        EXPECT_EQ(f.world.storage().peek("k"), before);
      }
    }
  });
  f.stop_at(2 * kSecond);
  ASSERT_TRUE(f.world.run().ok());
  EXPECT_EQ(ok + lost, 200);
  EXPECT_GT(ok, 50);
  EXPECT_GT(lost, 50);
  EXPECT_EQ(f.details(TraceKind::kStorageFailure).size(), static_cast<size_t>(lost));
}

TEST(SimStorage, KeyRulesAndSizeLimitsAreCheckedBeforeAnythingIsSent) {
  Fixture f;
  ProcessId p = f.start();
  std::vector<std::string> messages;
  f.world.spawn(p, "main", [&] {
    const auto expect_rejected = [&](auto body) {
      std::optional<StorageError> error = storage_error(body);
      ASSERT_TRUE(error.has_value());
      EXPECT_FALSE(error->may_have_been_applied());
      EXPECT_FALSE(error->transient());
      messages.push_back(error->what());
    };
    expect_rejected([] { storage::put("", "v"); });
    expect_rejected([] { storage::put(std::string(81, 'k'), "v"); });
    expect_rejected([] { (void)storage::get("line\nbreak"); });
    expect_rejected([] { storage::remove(std::string("nul\0byte", 8)); });
    expect_rejected([] { storage::put("big", std::string(kStorageValueBytesMax + 1, 'x')); });
    // The limits themselves are allowed.
    storage::put(std::string(80, 'k'), std::string(kStorageValueBytesMax, 'x'));
    storage::put("odd/keys: ../ %2F ~!", "ok");
  });
  f.stop_at(kSecond);
  ASSERT_TRUE(f.world.run().ok());
  EXPECT_EQ(messages,
            (std::vector<std::string>{
                "storage: put '' failed (the write was not applied): storage key is empty (keys are 1 to 80 bytes)",
                "storage: put 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...' failed (the write was not applied): storage key is "
                "81 bytes, more than kStorageKeyBytesMax (80)",
                "storage: get 'line\\x0abreak' failed: storage key has byte 0x0a at offset 4: keys are printable ASCII "
                "(0x20 to 0x7e)",
                "storage: remove 'nul\\x00byte' failed (the write was not applied): storage key has byte 0x00 at "
                "offset 3: keys are printable ASCII (0x20 to 0x7e)",
                "storage: put 'big' failed (the write was not applied): storage value for 'big' is 4194305 bytes, more "
                "than kStorageValueBytesMax (4194304)"}));
  EXPECT_EQ(f.world.storage().peek("odd/keys: ../ %2F ~!"), "ok");
  EXPECT_EQ(f.world.storage().size(), 2u);
}

TEST(SimStorage, AWriteBeyondCapacityFailsAndChangesNothing) {
  Fixture f(1, {.write_latency_ns = kMillisecond, .read_latency_ns = kMillisecond, .jitter_ns = 0, .capacity_bytes = 10});
  ProcessId p = f.start();
  std::optional<StorageError> error;
  f.world.spawn(p, "main", [&] {
    storage::put("k", "12345678");  // 9 bytes
    error = storage_error([] { storage::put("j", "12"); });  // 9 + 3 > 10
    storage::put("k", "123456789");  // replacing: 10 bytes, fits
  });
  f.stop_at(kSecond);
  ASSERT_TRUE(f.world.run().ok());
  ASSERT_TRUE(error.has_value());
  EXPECT_FALSE(error->may_have_been_applied());
  EXPECT_FALSE(error->transient());
  EXPECT_EQ(std::string(error->what()),
            "storage: put 'j' failed (the write was not applied): the store is full: 9 + 3 bytes would pass "
            "capacity_bytes (10)");
  EXPECT_EQ(f.world.storage().bytes(), 10);
  EXPECT_EQ(f.world.storage().peek("j"), std::nullopt);
}

TEST(SimStorage, TypedValuesRoundTripThroughMsgpack) {
  Fixture f;
  ProcessId p = f.start();
  std::optional<std::map<std::string, int>> read;
  std::optional<StorageError> wrong_type;
  f.world.spawn(p, "main", [&] {
    storage::put_value("m", std::map<std::string, int>{{"a", 1}, {"b", 2}});
    read = storage::get_value<std::map<std::string, int>>("m");
    wrong_type = storage_error([] { (void)storage::get_value<std::string>("m"); });
  });
  f.stop_at(kSecond);
  ASSERT_TRUE(f.world.run().ok());
  EXPECT_EQ(read, (std::map<std::string, int>{{"a", 1}, {"b", 2}}));
  ASSERT_TRUE(wrong_type.has_value());
  EXPECT_FALSE(wrong_type->transient());
  EXPECT_EQ(std::string(wrong_type->what()).rfind("storage: get 'm': cannot decode the stored value", 0), 0u)
      << wrong_type->what();
}

// ---- Fencing ---------------------------------------------------------------------------------------

// A fenced get raises the key's fence; a put below it is refused (not applied, not transient,
// fenced), one at or above it is applied and raises the fence to its own token.
TEST(SimStorage, AFencedGetRefusesLaterPutsWithALowerTokenAndAdmitsEqualOrHigherOnes) {
  Fixture f;
  ProcessId p = f.start();
  std::optional<std::string> read;
  std::optional<StorageError> low;
  std::optional<StorageError> below_raised;
  std::vector<uint64_t> fences;
  f.world.spawn(p, "main", [&] {
    storage::put("k", "v0");  // unfenced: no fence yet
    fences.push_back(f.world.storage().peek_fence("k"));
    read = storage::get("k", {.fence = 2});
    fences.push_back(f.world.storage().peek_fence("k"));
    low = storage_error([] { storage::put("k", "v1", {.fence = 1}); });
    storage::put("k", "v2", {.fence = 2});  // equal: admitted
    fences.push_back(f.world.storage().peek_fence("k"));
    storage::put("k", "v3", {.fence = 3});  // higher: admitted, and raises the fence
    fences.push_back(f.world.storage().peek_fence("k"));
    below_raised = storage_error([] { storage::put_value("k", 2, {.fence = 2}); });
  });
  f.stop_at(kSecond);
  ASSERT_TRUE(f.world.run().ok());
  EXPECT_EQ(read, "v0");
  EXPECT_EQ(fences, (std::vector<uint64_t>{0, 2, 2, 3}));
  ASSERT_TRUE(low.has_value());
  EXPECT_TRUE(low->fenced());
  EXPECT_FALSE(low->transient());
  EXPECT_FALSE(low->may_have_been_applied());
  EXPECT_EQ(std::string(low->what()),
            "storage: put 'k' failed (the write was not applied): fenced: token 1 is below the key's fence 2");
  ASSERT_TRUE(below_raised.has_value());
  EXPECT_TRUE(below_raised->fenced());
  EXPECT_EQ(std::string(below_raised->what()),
            "storage: put 'k' failed (the write was not applied): fenced: token 2 is below the key's fence 3");
  EXPECT_EQ(f.world.storage().peek("k"), "v3");
  EXPECT_EQ(f.world.storage().peek_fence("k"), 3u);
  EXPECT_EQ(f.details(TraceKind::kStorageFailure),
            (std::vector<std::string>{"put #3 k fence 1: rejected: fenced: token 1 is below the key's fence 2",
                                      "put #6 k fence 2: rejected: fenced: token 2 is below the key's fence 3"}));
  EXPECT_EQ(f.details(TraceKind::kStorage),
            (std::vector<std::string>{"put #1 k", "put #1 k: ok", "get #2 k fence 2", "get #2 k fence 2: found",
                                      "put #3 k fence 1", "put #4 k fence 2", "put #4 k fence 2: ok",
                                      "put #5 k fence 3", "put #5 k fence 3: ok", "put #6 k fence 2"}));
}

// Token 0 neither checks nor changes the fence; a fenced remove is checked like a put, and the
// fence outlives the value it guarded.
TEST(SimStorage, UnfencedOperationsIgnoreTheFenceAndARemovedKeyStaysFenced) {
  Fixture f;
  ProcessId p = f.start();
  std::vector<std::optional<std::string>> reads;
  std::optional<StorageError> low_remove;
  std::optional<StorageError> after_remove;
  f.world.spawn(p, "main", [&] {
    reads.push_back(storage::get("k", {.fence = 5}));  // fences a key that holds nothing
    storage::put("k", "unfenced");                     // admitted: token 0 does not check
    reads.push_back(storage::get("k"));
    low_remove = storage_error([] { storage::remove("k", {.fence = 4}); });
    reads.push_back(storage::get("k"));
    storage::remove("k");  // unfenced: removes the value, keeps the fence
    storage::put("k", "again", {.fence = 5});
    storage::remove("k", {.fence = 6});
    after_remove = storage_error([] { storage::put("k", "stale", {.fence = 5}); });
    reads.push_back(storage::get("k"));
  });
  f.stop_at(kSecond);
  ASSERT_TRUE(f.world.run().ok());
  EXPECT_EQ(reads, (std::vector<std::optional<std::string>>{std::nullopt, "unfenced", "unfenced", std::nullopt}));
  ASSERT_TRUE(low_remove && after_remove);
  EXPECT_TRUE(low_remove->fenced());
  EXPECT_EQ(std::string(low_remove->what()),
            "storage: remove 'k' failed (the write was not applied): fenced: token 4 is below the key's fence 5");
  EXPECT_TRUE(after_remove->fenced());
  EXPECT_EQ(std::string(after_remove->what()),
            "storage: put 'k' failed (the write was not applied): fenced: token 5 is below the key's fence 6");
  EXPECT_EQ(f.world.storage().peek_fence("k"), 6u);
  EXPECT_EQ(f.world.storage().size(), 0u);
  EXPECT_EQ(f.world.storage().bytes(), 0);
  EXPECT_EQ(f.world.storage().peek_fence("never fenced"), 0u);
}

TEST(SimStorage, FencesSurviveANodeCrash) {
  Fixture f;
  ProcessId fencer = f.start(NodeId{1});
  ProcessId writer = f.start();
  std::optional<StorageError> refused;
  f.world.spawn(fencer, "fencer", [&] { (void)storage::get("k", {.fence = 3}); });  // acked at 0.5 ms
  f.world.at(2 * kMillisecond, [&] { f.world.crash_node(NodeId{1}, -1); });
  f.world.spawn(writer, "writer", [&] {
    troupe::sleep(3ms);
    refused = storage_error([] { storage::put("k", "stale", {.fence = 2}); });
    storage::put("k", "current", {.fence = 3});
  });
  f.stop_at(10 * kMillisecond);
  ASSERT_TRUE(f.world.run().ok());
  EXPECT_FALSE(f.world.process_alive(fencer));
  ASSERT_TRUE(refused.has_value());
  EXPECT_TRUE(refused->fenced());
  EXPECT_EQ(f.world.storage().peek("k"), "current");
  EXPECT_EQ(f.world.storage().peek_fence("k"), 3u);
}

// The fence is checked when the put is acknowledged, not when it is issued: a put issued before
// a newer instance's fenced get but acknowledged after it is refused; one acknowledged before it
// is applied, and the get reads it.
TEST(SimStorage, TheFenceIsCheckedAtTheAcknowledgementInstant) {
  for (const Nanos get_issued : {Nanos{200'000}, Nanos{600'000}}) {
    SCOPED_TRACE(fmt::format("get issued at {}ns", get_issued));
    Fixture f;
    ProcessId old_instance = f.start();
    ProcessId new_instance = f.start(NodeId{1});
    std::optional<StorageError> put_error;
    bool put_returned = false;
    std::optional<std::string> restored = "unset";
    Nanos restored_at = 0;
    f.world.spawn(old_instance, "old", [&] {
      try {
        storage::put("ckpt", "old state", {.fence = 1});  // issued at 0, acknowledged at 1 ms
        put_returned = true;
      } catch (const StorageError& error) {
        put_error = error;
      }
    });
    f.world.spawn(new_instance, "new", [&] {
      troupe::sleep(std::chrono::nanoseconds(get_issued));
      restored = storage::get("ckpt", {.fence = 2});  // acknowledged 0.5 ms later
      restored_at = f.world.now();
    });
    f.stop_at(10 * kMillisecond);
    ASSERT_TRUE(f.world.run().ok());
    EXPECT_EQ(restored_at, get_issued + 500'000);
    EXPECT_EQ(f.world.storage().peek_fence("ckpt"), 2u);
    if (get_issued == 200'000) {  // the get (0.7 ms) is acknowledged before the put (1 ms)
      EXPECT_FALSE(put_returned);
      ASSERT_TRUE(put_error.has_value());
      EXPECT_TRUE(put_error->fenced());
      EXPECT_EQ(restored, std::nullopt);
      EXPECT_EQ(f.world.storage().peek("ckpt"), std::nullopt);
    } else {  // the put (1 ms) is acknowledged before the get (1.1 ms)
      EXPECT_TRUE(put_returned);
      EXPECT_FALSE(put_error.has_value());
      EXPECT_EQ(restored, "old state");
      EXPECT_EQ(f.world.storage().peek("ckpt"), "old state");
    }
  }
}

// An injected error on a fenced get either raised the fence or not (1/2 each); the store holds
// exactly what the trace says, and the fence never goes down.
TEST(SimStorage, AFailedFencedGetMayHaveRaisedTheFence) {
  const uint64_t seed = 11;
  SCOPED_TRACE(fmt::format("seed {}", seed));
  Fixture f(seed);
  ProcessId p = f.start();
  int raised = 0;
  int not_raised = 0;
  f.world.at(0, [&] { f.world.storage().inject_fault({.error_rate = 1.0, .loss_rate = 0, .until = kSecond}); });
  f.world.spawn(p, "main", [&] {
    troupe::sleep(1us);
    for (uint64_t token = 1; token <= 60; ++token) {
      const uint64_t before = f.world.storage().peek_fence("k");
      std::optional<StorageError> error = storage_error([token] { (void)storage::get("k", {.fence = token}); });
      ASSERT_TRUE(error && error->transient());
      EXPECT_FALSE(error->fenced());
      const std::string last = f.details(TraceKind::kStorageFailure).back();
      if (f.world.storage().peek_fence("k") == token) {
        ++raised;
        EXPECT_EQ(last, fmt::format("get #{} k fence {}: injected error (read; fence raised)", token, token));
      } else {
        ++not_raised;
        EXPECT_EQ(f.world.storage().peek_fence("k"), before);
        EXPECT_EQ(last, fmt::format("get #{} k fence {}: injected error (read; fence not raised)", token, token));
      }
    }
  });
  f.stop_at(2 * kSecond);
  ASSERT_TRUE(f.world.run().ok());
  EXPECT_EQ(raised + not_raised, 60);
  EXPECT_GT(raised, 0);
  EXPECT_GT(not_raised, 0);
}

// The same seed gives the same trace (jitter and fault draws included); another seed differs.
TEST(SimStorage, RunsAreDeterministicPerSeed) {
  const auto run = [](uint64_t seed) {
    Fixture f(seed, StorageOptions{});
    ProcessId a = f.start();
    ProcessId b = f.start(NodeId{1});
    f.world.at(0, [&] { f.world.storage().inject_fault({.error_rate = 0.3, .loss_rate = 0.3, .until = kSecond}); });
    for (ProcessId p : {a, b}) {
      f.world.spawn(p, "main", [p] {
        for (int i = 0; i < 50; ++i) {
          try {
            storage::put(fmt::format("k{}", i % 5), fmt::format("{}-{}", p, i));
            (void)storage::get(fmt::format("k{}", (i + 1) % 5));
          } catch (const StorageError&) {
          }
        }
      });
    }
    f.stop_at(2 * kSecond);
    EXPECT_TRUE(f.world.run().ok());
    return f.trace.hash();
  };
  EXPECT_EQ(run(3), run(3));
  EXPECT_NE(run(3), run(4));
}

}  // namespace
}  // namespace troupe::sim
