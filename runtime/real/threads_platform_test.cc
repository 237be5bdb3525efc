#include "runtime/real/threads_platform.h"
#include "runtime/real/threads_test_support.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "runtime/core/random.h"

namespace troupe {
namespace {

using testing_support::Guard;
using testing_support::here;
using testing_support::run_until_stopped;

// A ProcessHost that forwards to std::functions (either may be empty).
class FunctionHost final : public ProcessHost {
 public:
  using OnMessage = std::function<void(ProcessId from, std::string payload)>;
  explicit FunctionHost(OnMessage on_message = nullptr, std::function<void()> on_start = nullptr,
                        std::function<void()> on_destroy = nullptr)
      : on_message_(std::move(on_message)), on_start_(std::move(on_start)), on_destroy_(std::move(on_destroy)) {}
  ~FunctionHost() override {
    if (on_destroy_) on_destroy_();
  }
  void on_message(ProcessId from, std::string payload) override {
    if (on_message_) on_message_(from, std::move(payload));
  }
  void on_start() override {
    if (on_start_) on_start_();
  }

 private:
  OnMessage on_message_;
  std::function<void()> on_start_;
  std::function<void()> on_destroy_;
};

std::unique_ptr<ProcessHost> host(FunctionHost::OnMessage on_message = nullptr,
                                  std::function<void()> on_start = nullptr) {
  return std::make_unique<FunctionHost>(std::move(on_message), std::move(on_start));
}

ProcessId start(ThreadsPlatform& platform, std::unique_ptr<ProcessHost> process_host, std::string name = "p") {
  absl::StatusOr<ProcessId> id = platform.start_process(NodeId{0}, std::move(name), std::move(process_host));
  EXPECT_TRUE(id.ok()) << id.status();
  return id.value_or(ProcessId{});
}

ThreadsPlatformOptions four_threads() { return {.threads = 4, .seed = 7}; }

TEST(ThreadsPlatform, TwoProcessesPingPongEveryMessageInOrder) {
  constexpr int kRounds = 2000;
  ThreadsPlatform platform(four_threads());
  std::atomic<int> received_by_a{0};
  std::atomic<int> received_by_b{0};
  std::atomic<int> out_of_order{0};
  std::atomic<bool> b_started{false};
  std::atomic<bool> b_message_before_start{false};
  ProcessId b = start(platform, host([&](ProcessId from, std::string payload) {
                  if (!b_started) b_message_before_start = true;
                  int value = std::stoi(payload);
                  if (value != 2 * received_by_b) ++out_of_order;
                  ++received_by_b;
                  platform.send(here().process, from, std::to_string(value + 1));
                }, [&] { b_started = true; }));
  start(platform, host([&](ProcessId from, std::string payload) {
          int value = std::stoi(payload);
          if (value != 2 * received_by_a + 1) ++out_of_order;
          if (++received_by_a == kRounds) {
            platform.stop();
            return;
          }
          platform.send(here().process, from, std::to_string(value + 1));
        }, [&] { platform.send(here().process, b, "0"); }));
  run_until_stopped(platform);
  EXPECT_EQ(received_by_a, kRounds);
  EXPECT_EQ(received_by_b, kRounds);
  EXPECT_EQ(out_of_order, 0);
  EXPECT_FALSE(b_message_before_start);
}

// The cluster platform places processes under cluster-wide ids (runtime/cluster).
TEST(ThreadsPlatform, ProcessesStartedUnderChosenIdsTalkAndTheNextFreeIdFollowsThem) {
  ThreadsPlatform platform(four_threads());
  std::atomic<uint32_t> pong_from{0};
  absl::StatusOr<ProcessId> nine = platform.start_process_as(
      ProcessId{9}, NodeId{0}, "nine", host([&](ProcessId from, std::string payload) {
        EXPECT_EQ(payload, "ping");
        platform.send(here().process, from, "pong");
      }));
  ASSERT_TRUE(nine.ok()) << nine.status();
  EXPECT_EQ(nine->value, 9u);
  absl::StatusOr<ProcessId> five = platform.start_process_as(
      ProcessId{5}, NodeId{0}, "five", host([&](ProcessId from, std::string payload) {
        EXPECT_EQ(payload, "pong");
        pong_from = from.value;
        platform.stop();
      }, [&] { platform.send(here().process, ProcessId{9}, "ping"); }));
  ASSERT_TRUE(five.ok()) << five.status();
  absl::StatusOr<ProcessId> again = platform.start_process_as(ProcessId{5}, NodeId{0}, "again", host());
  EXPECT_EQ(again.status().message(), "process p5 exists already");
  absl::StatusOr<ProcessId> too_big = platform.start_process_as(ProcessId{ThreadsPlatform::kProcessIdMax + 1},
                                                                NodeId{0}, "big", host());
  EXPECT_EQ(too_big.status().message(), "process id 16777217 exceeds the limit of 16777216");
  EXPECT_EQ(start(platform, host()).value, 10u);
  run_until_stopped(platform);
  EXPECT_EQ(pong_from, 9u);
}

TEST(ThreadsPlatform, ParkedFiberResumesWhenAMessageHandlerOfItsProcessUnparksIt) {
  ThreadsPlatform platform(four_threads());
  // Strand-owned by `waiter`: its fiber and its handler never run at once.
  FiberId parked;
  bool reply_arrived = false;
  int parks = 0;
  bool resumed = false;
  ProcessId echo = start(platform, host([&](ProcessId from, std::string payload) {
                     platform.send(here().process, from, "pong");
                   }));
  ProcessId waiter = start(platform, host([&](ProcessId, std::string payload) {
                       EXPECT_EQ(payload, "pong");
                       reply_arrived = true;
                       platform.unpark(parked);
                     }));
  platform.spawn(waiter, "waiter", [&] {
    parked = here().fiber;
    platform.send(here().process, echo, "ping");
    while (!reply_arrived) {
      ++parks;
      platform.park({"pong"});
    }
    resumed = true;
    platform.stop();
  });
  run_until_stopped(platform);
  EXPECT_TRUE(resumed);
  EXPECT_EQ(parks, 1);
}

TEST(ThreadsPlatform, ARunPastItsDeadlineStopsAndSaysWhatEachFiberWaitsFor) {
  ThreadsPlatform platform({.threads = 2, .deadline = 200 * kMillisecond});
  ProcessId stuck = start(platform, host(), "stuck");
  platform.spawn(stuck, "forever", [&] { platform.park({"a reply that never comes"}); });
  absl::Status status = platform.run();  // nothing calls stop(): only the deadline ends it
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_GE(platform.now(), 200 * kMillisecond);
  EXPECT_EQ(std::string(status.message()),
            fmt::format("deadline of 0.200s (real time) passed with work unfinished\n"
                        "  n0 {} (stuck) fiber f1 'forever' waits for a reply that never comes\n",
                        stuck));
}

TEST(ThreadsPlatform, SleepWithATimerReturnsNoEarlierThanTheDeadline) {
  ThreadsPlatform platform(four_threads());
  ProcessId sleeper = start(platform, host());
  std::vector<std::pair<Nanos, Nanos>> deadline_and_wake;  // strand-owned
  platform.spawn(sleeper, "sleeper", [&] {
    for (Nanos duration : {Nanos{0}, kMicrosecond, kMillisecond, 3 * kMillisecond}) {
      Nanos deadline = platform.now() + duration;
      FiberId self = here().fiber;
      platform.start_timer(here().process, deadline, [&platform, self] { platform.unpark(self); });
      platform.park({"sleep"});
      deadline_and_wake.emplace_back(deadline, platform.now());
    }
    platform.stop();
  });
  run_until_stopped(platform);
  ASSERT_EQ(deadline_and_wake.size(), 4u);
  for (auto [deadline, woke] : deadline_and_wake) EXPECT_GE(woke, deadline);
}

TEST(ThreadsPlatform, TimersOfOneProcessRunInDeadlineOrderThenIdOrder) {
  ThreadsPlatform platform(four_threads());
  ProcessId p = start(platform, host());
  std::vector<int> order;  // strand-owned
  // Added before run(): the timer thread finds them all due and fires them in heap order.
  platform.start_timer(p, 3, [&] { order.push_back(3); });
  platform.start_timer(p, 1, [&] { order.push_back(1); });
  platform.start_timer(p, 2, [&] { order.push_back(2); });
  platform.start_timer(p, 1, [&] { order.push_back(11); });
  platform.start_timer(p, 4, [&] { platform.stop(); });
  run_until_stopped(platform);
  EXPECT_EQ(order, (std::vector<int>{1, 11, 2, 3}));
}

TEST(ThreadsPlatform, FibersAndHandlersOfOneProcessNeverRunConcurrently) {
  constexpr int kProcesses = 4;
  constexpr int kFibers = 4;
  constexpr int kSteps = 300;
  constexpr int kTotal = 2 * kProcesses * kFibers * kSteps;  // fiber steps + messages handled
  ThreadsPlatform platform(four_threads());
  struct Counters {
    std::atomic<int> inside{0};
    std::atomic<int> most_inside{0};
    std::atomic<int> wrong_context{0};
  };
  std::vector<Counters> counters(kProcesses);
  std::vector<ProcessId> ids(kProcesses);
  std::atomic<int> done{0};
  // One step of work in process `index`: counts how many steps of that process run at once.
  auto step = [&](int index) {
    Counters& c = counters[index];
    if (here().process != ids[index]) ++c.wrong_context;
    int now_inside = c.inside.fetch_add(1) + 1;
    int most = c.most_inside.load();
    while (now_inside > most && !c.most_inside.compare_exchange_weak(most, now_inside)) {
    }
    volatile int sink = 0;
    for (int spin = 0; spin < 200; ++spin) sink = spin;
    (void)sink;
    c.inside.fetch_sub(1);
    if (done.fetch_add(1) + 1 == kTotal) platform.stop();
  };
  for (int i = 0; i < kProcesses; ++i) {
    ids[i] = start(platform, host([&, i](ProcessId, std::string) { step(i); }));
  }
  for (int i = 0; i < kProcesses; ++i) {
    for (int f = 0; f < kFibers; ++f) {
      platform.spawn(ids[i], "worker", [&, i] {
        for (int s = 0; s < kSteps; ++s) {
          platform.send(ids[i], ids[(i + 1) % kProcesses], "work");
          step(i);
          platform.yield();
        }
      });
    }
  }
  run_until_stopped(platform);
  EXPECT_EQ(done, kTotal);
  for (int i = 0; i < kProcesses; ++i) {
    EXPECT_EQ(counters[i].most_inside, 1) << "process " << i;
    EXPECT_EQ(counters[i].wrong_context, 0) << "process " << i;
  }
}

TEST(ThreadsPlatform, YieldRunsTheOtherQueuedFibersFirst) {
  ThreadsPlatform platform(four_threads());
  ProcessId p = start(platform, host());
  std::vector<std::string> steps;  // strand-owned
  int finished = 0;
  for (std::string name : {"a", "b"}) {
    platform.spawn(p, name, [&, name] {
      for (int i = 0; i < 3; ++i) {
        steps.push_back(name + std::to_string(i));
        platform.yield();
      }
      if (++finished == 2) platform.stop();
    });
  }
  run_until_stopped(platform);
  EXPECT_EQ(steps, (std::vector<std::string>{"a0", "b0", "a1", "b1", "a2", "b2"}));
}

TEST(ThreadsPlatform, UnparkingTwiceResumesTheFiberOnce) {
  ThreadsPlatform platform(four_threads());
  ProcessId p = start(platform, host());
  FiberId sleeper;
  int wakes = 0;  // strand-owned
  int wakes_seen = -1;
  platform.spawn(p, "sleeper", [&] {
    sleeper = here().fiber;
    platform.park({"first"});
    ++wakes;
    platform.park({"second"});  // only the platform's teardown ends this
    ++wakes;
  });
  platform.spawn(p, "waker", [&] {
    platform.unpark(sleeper);
    platform.unpark(sleeper);
    platform.unpark(here().fiber);  // not parked: a no-op
    for (int i = 0; i < 10; ++i) platform.yield();
    wakes_seen = wakes;
    platform.stop();
  });
  run_until_stopped(platform);
  EXPECT_EQ(wakes_seen, 1);
}

TEST(ThreadsPlatform, KillProcessUnwindsAParkedFiberAndLaterMessagesAreDropped) {
  ThreadsPlatform platform(four_threads());
  std::atomic<int> victim_messages{0};
  std::atomic<bool> unwound{false};
  ProcessId unwound_in;   // written by the victim's strand before it calls stop()
  FiberId unwound_fiber;
  ProcessId victim = start(platform, host([&](ProcessId, std::string) { ++victim_messages; }), "victim");
  ProcessId killer = start(platform, host([&](ProcessId from, std::string) {
                       platform.kill_process(from, "test kill");
                       platform.send(here().process, from, "too late");
                     }), "killer");
  platform.spawn(victim, "parked", [&] {
    Guard guard([&] {
      unwound_in = here().process;
      unwound_fiber = here().fiber;
      unwound = true;
      platform.stop();
    });
    platform.send(here().process, killer, "kill me");
    platform.park({"forever"});
    ADD_FAILURE() << "a fiber of a killed process was resumed";
  });
  run_until_stopped(platform);
  EXPECT_TRUE(unwound);
  EXPECT_EQ(unwound_in, victim);
  EXPECT_TRUE(unwound_fiber.valid());
  EXPECT_EQ(victim_messages, 0);
  platform.send(killer, victim, "after the run");
  EXPECT_EQ(victim_messages, 0);
}

TEST(ThreadsPlatform, TimersAndSpawnsOfAKilledProcessNeverRun) {
  ThreadsPlatform platform(four_threads());
  std::atomic<bool> ran{false};
  ProcessId victim = start(platform, host([&](ProcessId, std::string) { ran = true; }, [&] { ran = true; }));
  ProcessId other = start(platform, host());
  platform.start_timer(victim, 0, [&] { ran = true; });
  platform.kill_process(victim, "killed before it ran");
  platform.spawn(victim, "never", [&] { ran = true; });
  platform.send(other, victim, "dropped");
  platform.start_timer(other, 1, [&] { platform.stop(); });
  run_until_stopped(platform);
  EXPECT_FALSE(ran);
}

TEST(ThreadsPlatform, ProcessKillingItselfFromAFiberUnwindsEveryFiberInIdOrder) {
  ThreadsPlatform platform(four_threads());
  std::mutex mutex;
  std::vector<std::string> unwound;
  std::atomic<bool> kill_returned{false};
  auto record_unwind = [&](std::string name) {
    std::lock_guard lock(mutex);
    unwound.push_back(std::move(name));
    if (unwound.size() == 2) platform.stop();
  };
  ProcessId p = start(platform, host());
  platform.spawn(p, "parked", [&] {
    Guard guard([&] { record_unwind("parked"); });
    platform.park({"forever"});
  });
  platform.spawn(p, "suicidal", [&] {
    Guard guard([&] { record_unwind("suicidal"); });
    platform.kill_process(here().process, "killed itself");
    kill_returned = true;
  });
  run_until_stopped(platform);
  EXPECT_FALSE(kill_returned);
  std::lock_guard lock(mutex);
  EXPECT_EQ(unwound, (std::vector<std::string>{"parked", "suicidal"}));
}

TEST(ThreadsPlatform, ProcessKillingItselfFromAHandlerReturnsAndItsFibersUnwindAfterTheHandler) {
  ThreadsPlatform platform(four_threads());
  bool handler_finished = false;  // strand-owned
  std::atomic<bool> handler_finished_before_unwind{false};
  ProcessId p = start(platform, host([&](ProcessId, std::string) {
    platform.kill_process(here().process, "killed itself");
    handler_finished = true;
  }));
  platform.spawn(p, "parked", [&] {
    Guard guard([&] {
      handler_finished_before_unwind = handler_finished;
      platform.stop();
    });
    platform.send(here().process, here().process, "die");
    platform.park({"forever"});
  });
  run_until_stopped(platform);
  EXPECT_TRUE(handler_finished_before_unwind);
}

TEST(ThreadsPlatform, StopMakesRunReturnAndRunCanBeCalledAgain) {
  ThreadsPlatform platform(four_threads());
  std::atomic<int> messages{0};
  ProcessId p = start(platform, host([&](ProcessId, std::string) {
                    ++messages;
                    platform.stop();
                  }, [&] { platform.stop(); }));
  run_until_stopped(platform);
  EXPECT_EQ(messages, 0);
  platform.send(p, p, "queued between runs");
  run_until_stopped(platform);
  EXPECT_EQ(messages, 1);
}

TEST(ThreadsPlatform, StopBeforeRunMakesRunReturnAtOnce) {
  ThreadsPlatform platform(four_threads());
  std::atomic<bool> started{false};
  start(platform, host(nullptr, [&] { started = true; }));
  platform.stop();
  EXPECT_TRUE(platform.run().ok());
  EXPECT_FALSE(started);
}

TEST(ThreadsPlatform, CancelledTimerDoesNotFire) {
  ThreadsPlatform platform(four_threads());
  std::atomic<bool> fired{false};
  ProcessId p = start(platform, host());
  TimerId cancelled = platform.start_timer(p, 1 * kMillisecond, [&] { fired = true; });
  platform.spawn(p, "canceller", [&] {
    platform.cancel_timer(cancelled);
    platform.start_timer(here().process, platform.now() + 2 * kMillisecond, [&] { platform.stop(); });
  });
  run_until_stopped(platform);
  EXPECT_FALSE(fired);
}

TEST(ThreadsPlatform, ExceptionEscapingAHandlerCrashesItsProcessWhichThenSendsNothing) {
  ThreadsPlatform platform(four_threads());
  std::atomic<int> bad_messages{0};
  std::atomic<int> sent_by_the_dead{0};
  std::atomic<bool> unwound{false};
  ProcessId bad = start(platform, host([&](ProcessId, std::string) {
    ++bad_messages;
    throw std::runtime_error("handler failed");
  }));
  ProcessId good = start(platform, host([&](ProcessId, std::string payload) {
    if (payload == "go") {
      platform.send(here().process, bad, "throw");
      platform.send(here().process, bad, "dropped");
    } else if (payload == "from the dead") {
      ++sent_by_the_dead;
    } else if (payload == "stop") {
      platform.stop();
    }
  }));
  platform.spawn(bad, "parked", [&] {
    Guard guard([&] {
      unwound = true;
      platform.send(here().process, good, "from the dead");  // dropped: the sender is dead
      platform.stop();
    });
    platform.send(here().process, good, "go");
    platform.park({"forever"});
  });
  run_until_stopped(platform);
  EXPECT_TRUE(unwound);
  EXPECT_EQ(bad_messages, 1);
  // `good` handles its queue in order: a message from the dead would come before this one.
  platform.send(good, good, "stop");
  run_until_stopped(platform);
  EXPECT_EQ(sent_by_the_dead, 0);
}

TEST(ThreadsPlatform, ExceptionEscapingAFiberCrashesItsProcess) {
  ThreadsPlatform platform(four_threads());
  std::atomic<bool> unwound{false};
  ProcessId p = start(platform, host());
  platform.spawn(p, "parked", [&] {
    Guard guard([&] {
      unwound = true;
      platform.stop();
    });
    platform.park({"forever"});
  });
  platform.spawn(p, "thrower", [] { throw std::logic_error("fiber failed"); });
  run_until_stopped(platform);
  EXPECT_TRUE(unwound);
}

TEST(ThreadsPlatform, DestroyingThePlatformUnwindsParkedFibersThenDestroysHosts) {
  std::vector<std::string> events;  // the destructor runs on this thread
  {
    ThreadsPlatform platform(four_threads());
    ProcessId p = start(platform, std::make_unique<FunctionHost>(nullptr, nullptr, [&] { events.push_back("host"); }));
    platform.spawn(p, "parked", [&] {
      Guard guard([&] {
        events.push_back(here().process == p ? "fiber unwound in its process" : "fiber unwound elsewhere");
      });
      platform.stop();
      platform.park({"forever"});
    });
    run_until_stopped(platform);
    EXPECT_TRUE(events.empty());
  }
  EXPECT_EQ(events, (std::vector<std::string>{"fiber unwound in its process", "host"}));
}

TEST(ThreadsPlatform, DestroyingThePlatformDropsWorkThatNeverRan) {
  bool started = false;
  bool delivered = false;
  bool body_ran = false;
  bool body_destroyed = false;
  {
    ThreadsPlatform platform(four_threads());
    ProcessId p = start(platform, host([&](ProcessId, std::string) { delivered = true; }, [&] { started = true; }));
    platform.send(p, p, "never delivered");
    auto guard = std::make_shared<Guard>([&] { body_destroyed = true; });
    platform.spawn(p, "never started", [&, guard] { body_ran = true; });
    platform.start_timer(p, 0, [&] { body_ran = true; });
  }
  EXPECT_FALSE(started);
  EXPECT_FALSE(delivered);
  EXPECT_FALSE(body_ran);
  EXPECT_TRUE(body_destroyed);
}

#ifndef NDEBUG
TEST(ThreadsPlatformDeathTest, UnparkingAFiberOfAnotherProcessIsABug) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        ThreadsPlatform platform(four_threads());
        ProcessId owner = start(platform, host());
        ProcessId other = start(platform, host([&](ProcessId, std::string payload) {
          platform.unpark(FiberId{std::stoull(payload)});
        }));
        platform.spawn(owner, "parked", [&] {
          platform.send(here().process, other, std::to_string(here().fiber.value));
          platform.park({"forever"});
        });
        run_until_stopped(platform);
      },
      "of a fiber of another process");
}
#endif

TEST(ThreadsPlatform, IdsAreCountersFromOne) {
  ThreadsPlatform platform(four_threads());
  ProcessId first = start(platform, host());
  ProcessId second = start(platform, host());
  EXPECT_EQ(first, ProcessId{1});
  EXPECT_EQ(second, ProcessId{2});
  std::vector<FiberId> fibers;  // strand-owned
  for (int i = 0; i < 2; ++i) {
    platform.spawn(first, "f", [&] {
      fibers.push_back(here().fiber);
      if (fibers.size() == 2) platform.stop();
    });
  }
  EXPECT_EQ(platform.start_timer(second, kSecond, [] {}), TimerId{1});
  EXPECT_EQ(platform.start_timer(second, kSecond, [] {}), TimerId{2});
  run_until_stopped(platform);
  EXPECT_EQ(fibers, (std::vector<FiberId>{FiberId{1}, FiberId{2}}));
}

TEST(ThreadsPlatform, RandomStreamOfAProcessIsForkedFromTheSeed) {
  ThreadsPlatform platform({.threads = 2, .seed = 42});
  start(platform, host());
  ProcessId second = start(platform, host());
  std::vector<uint64_t> drawn;
  platform.spawn(second, "draw", [&] {
    for (int i = 0; i < 3; ++i) drawn.push_back(platform.random_u64());
    platform.stop();
  });
  run_until_stopped(platform);
  Rng expected = Rng(42).fork(kStreamProcessBase + 2);
  EXPECT_EQ(drawn, (std::vector<uint64_t>{expected.next_u64(), expected.next_u64(), expected.next_u64()}));
}

TEST(ThreadsPlatform, NodesDefaultToOneLocalNodeAndUnknownNodesAreRefused) {
  ThreadsPlatform platform;
  std::vector<NodeInfo> nodes = platform.nodes();
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].id, NodeId{0});
  EXPECT_EQ(nodes[0].name, "local");
  EXPECT_EQ(nodes[0].cpus, 64);
  EXPECT_TRUE(nodes[0].alive);
  absl::StatusOr<ProcessId> refused = platform.start_process(NodeId{1}, "nowhere", host());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kNotFound);

  ThreadsPlatform two({.nodes = {{.name = "head", .cpus = 4}, {.cpus = 2}}});
  nodes = two.nodes();
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].name, "head");
  EXPECT_EQ(nodes[1].id, NodeId{1});
  EXPECT_EQ(nodes[1].name, "node1");
  EXPECT_EQ(nodes[1].cpus, 2);
  EXPECT_TRUE(two.start_process(NodeId{1}, "worker", host()).ok());
}

TEST(ThreadsPlatform, TraceFillsTimeNodeAndProcessFromTheContext) {
  Trace trace;
  trace.set_retain(true);
  {
    ThreadsPlatform platform({.threads = 2, .nodes = {{.name = "a"}, {.name = "b"}}, .trace = &trace});
    absl::StatusOr<ProcessId> p = platform.start_process(NodeId{1}, "traced", host());
    ASSERT_TRUE(p.ok());
    platform.spawn(*p, "tracer", [&] {
      platform.trace({.kind = TraceKind::kUser, .detail = "hello"});
      platform.stop();
    });
    run_until_stopped(platform);
  }
  const TraceEvent* user = nullptr;
  for (const TraceEvent& event : trace.retained()) {
    if (event.kind == TraceKind::kUser) user = &event;
  }
  ASSERT_NE(user, nullptr);
  EXPECT_EQ(user->detail, "hello");
  EXPECT_EQ(user->node, NodeId{1});
  EXPECT_EQ(user->process, ProcessId{1});
  EXPECT_GT(user->time, 0);
  EXPECT_EQ(trace.retained().front().kind, TraceKind::kProcessStart);
}

}  // namespace
}  // namespace troupe
