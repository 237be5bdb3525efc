// ThreadsPlatform::run_parallel: threaded calls on lane threads, and the process's turn.
//
// No outcome here depends on timing: concurrency is proven with latches and barriers that only
// complete when enough bodies run at once, and exclusion with counters that would exceed 1.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "runtime/real/threads_platform.h"
#include "runtime/real/threads_test_support.h"

namespace troupe {
namespace {

using testing_support::Guard;
using testing_support::here;
using testing_support::run_until_stopped;

class FunctionHost final : public ProcessHost {
 public:
  using OnMessage = std::function<void(ProcessId from, std::string payload)>;
  explicit FunctionHost(OnMessage on_message = nullptr, std::function<void()> on_destroy = nullptr)
      : on_message_(std::move(on_message)), on_destroy_(std::move(on_destroy)) {}
  ~FunctionHost() override {
    if (on_destroy_) on_destroy_();
  }
  void on_message(ProcessId from, std::string payload) override {
    if (on_message_) on_message_(from, std::move(payload));
  }

 private:
  OnMessage on_message_;
  std::function<void()> on_destroy_;
};

ProcessId start(ThreadsPlatform& platform, FunctionHost::OnMessage on_message = nullptr,
                std::function<void()> on_destroy = nullptr) {
  absl::StatusOr<ProcessId> id = platform.start_process(
      NodeId{0}, "p", std::make_unique<FunctionHost>(std::move(on_message), std::move(on_destroy)));
  EXPECT_TRUE(id.ok()) << id.status();
  return id.value_or(ProcessId{});
}

// std::latch and std::barrier on a mutex and a condition variable. (libstdc++ 12's are built on
// its futex-based atomic wait, as its semaphores are, which the platform stopped using after an
// unexplained hang; these keep the tests free of that suspicion.)
class Latch {
 public:
  explicit Latch(int count) : count_(count) {}
  void count_down() {
    std::lock_guard lock(mutex_);
    EXPECT_GT(count_, 0) << "a latch counted down below zero";
    if (--count_ == 0) done_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return count_ <= 0; });
  }
  void arrive_and_wait() {
    count_down();
    wait();
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  int count_;
};

// Lets threads through in groups of `count`: each arrival waits until `count` have arrived.
class Barrier {
 public:
  explicit Barrier(int count) : count_(count) {}
  void arrive_and_wait() {
    std::unique_lock lock(mutex_);
    const uint64_t phase = phase_;
    if (++arrived_ == count_) {
      arrived_ = 0;
      ++phase_;
      next_phase_.notify_all();
      return;
    }
    next_phase_.wait(lock, [&] { return phase_ != phase; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable next_phase_;
  const int count_;
  int arrived_ = 0;
  uint64_t phase_ = 0;
};

// Raises `max` to at least `value`.
void raise_to(std::atomic<int>& max, int value) {
  int seen = max.load();
  while (seen < value && !max.compare_exchange_weak(seen, value)) {
  }
}

// The OS threads that ran something, for counting lanes.
class ThreadSet {
 public:
  void add() {
    std::lock_guard lock(mutex_);
    ids_.insert(std::this_thread::get_id());
  }
  size_t size() {
    std::lock_guard lock(mutex_);
    return ids_.size();
  }
  bool contains(std::thread::id id) {
    std::lock_guard lock(mutex_);
    return ids_.count(id) == 1;
  }

 private:
  std::mutex mutex_;
  std::set<std::thread::id> ids_;
};

ThreadsPlatformOptions two_threads() { return {.threads = 2, .seed = 11}; }

TEST(ThreadsParallel, FourBodiesRunAtOnceOnFourLanes) {
  ThreadsPlatform platform(two_threads());
  ProcessId p = start(platform);
  Latch all_inside(4);  // completes only when four bodies are inside at once
  ThreadSet lane_threads;
  std::atomic<int> parallel_inside{0};
  int returned = 0;  // strand-owned
  int parallel_after = 0;
  for (int i = 0; i < 4; ++i) {
    platform.spawn(p, "call", [&] {
      platform.run_parallel(0, 4, [&] {
        if (here().parallel) ++parallel_inside;
        lane_threads.add();
        all_inside.arrive_and_wait();
      });
      if (here().parallel) ++parallel_after;
      if (++returned == 4) platform.stop();
    });
  }
  run_until_stopped(platform);
  EXPECT_EQ(returned, 4);
  EXPECT_EQ(parallel_inside, 4);
  EXPECT_EQ(parallel_after, 0);
  EXPECT_EQ(lane_threads.size(), 4u);
}

TEST(ThreadsParallel, TwoLanesRunAtMostTwoBodiesAtOnceAndAllFinish) {
  ThreadsPlatform platform(two_threads());
  ProcessId p = start(platform);
  Barrier pairs(2);  // each body waits for a partner: two run at once, phase after phase
  std::atomic<int> inside{0};
  std::atomic<int> max_inside{0};
  ThreadSet lane_threads;
  int finished = 0;  // strand-owned
  for (int i = 0; i < 4; ++i) {
    platform.spawn(p, "call", [&] {
      platform.run_parallel(0, 2, [&] {
        raise_to(max_inside, ++inside);
        lane_threads.add();
        pairs.arrive_and_wait();
        --inside;
      });
      if (++finished == 4) platform.stop();
    });
  }
  run_until_stopped(platform);
  EXPECT_EQ(finished, 4);
  EXPECT_EQ(max_inside, 2);
  EXPECT_EQ(lane_threads.size(), 2u);
}

TEST(ThreadsParallel, ATurnExcludesTheStrandAndOtherTurns) {
  constexpr int kBodies = 4;
  constexpr int kTurns = 300;
  ThreadsPlatform platform({.threads = 4, .seed = 11});
  std::atomic<int> busy{0};  // callbacks, strand fiber steps and turns of `p` in progress
  std::atomic<int> max_busy{0};
  std::atomic<int> handled{0};
  Latch all_inside(kBodies);
  // Runs `work` as one exclusive section of the process, counting overlaps.
  auto exclusive = [&](const std::function<void()>& work) {
    raise_to(max_busy, ++busy);
    std::this_thread::yield();  // widens the section, so that overlaps would show
    work();
    --busy;
  };
  int bodies_done = 0;  // strand-owned
  auto maybe_stop = [&] {
    if (bodies_done == kBodies && handled == kBodies * kTurns) platform.stop();
  };
  ProcessId p = start(platform, [&](ProcessId, std::string) {
    exclusive([&] {
      ++handled;
      maybe_stop();
    });
  });
  for (int i = 0; i < kBodies; ++i) {
    platform.spawn(p, "call", [&] {
      platform.run_parallel(0, kBodies, [&] {
        all_inside.arrive_and_wait();  // the turns below overlap in time, if nothing excluded them
        for (int turn = 0; turn < kTurns; ++turn) {
          ProcessTurn process_turn;
          exclusive([&] { platform.send(here().process, here().process, "m"); });
        }
      });
      exclusive([&] {
        ++bodies_done;
        maybe_stop();
      });
    });
  }
  // A strand fiber that keeps yielding meanwhile: its steps must not overlap the turns either.
  platform.spawn(p, "strand", [&] {
    while (handled < kBodies * kTurns) {
      exclusive([] {});
      platform.yield();
    }
  });
  run_until_stopped(platform);
  EXPECT_EQ(handled, kBodies * kTurns);
  EXPECT_EQ(bodies_done, kBodies);
  EXPECT_EQ(max_busy, 1);
}

TEST(ThreadsParallel, FiberParkedInATurnIsUnparkedByATimerAndAMessageAndStaysOnItsLane) {
  ThreadsPlatform platform(two_threads());
  std::atomic<bool> reply_arrived{false};
  FiberId parked;  // written in a turn, read by p's handler (both hold p's turn)
  ProcessId echo = start(platform, [&](ProcessId from, std::string) { platform.send(here().process, from, "pong"); });
  ProcessId p = start(platform, [&](ProcessId, std::string payload) {
    EXPECT_EQ(payload, "pong");
    reply_arrived = true;
    platform.unpark(parked);
  });
  std::thread::id lane;
  bool same_lane_after_timer = false;
  bool same_lane_after_message = false;
  bool parallel_after = false;
  Nanos deadline = 0;
  Nanos woke = 0;
  platform.spawn(p, "call", [&] {
    platform.run_parallel(0, 1, [&] {
      lane = std::this_thread::get_id();
      {
        ProcessTurn turn;
        FiberId self = here().fiber;
        deadline = platform.now() + kMillisecond;
        platform.start_timer(here().process, deadline, [&platform, self] { platform.unpark(self); });
        platform.park({"sleep"});
        woke = platform.now();
      }
      same_lane_after_timer = std::this_thread::get_id() == lane;
      {
        ProcessTurn turn;
        parked = here().fiber;
        platform.send(here().process, echo, "ping");
        while (!reply_arrived) platform.park({"pong"});
      }
      same_lane_after_message = std::this_thread::get_id() == lane;
      parallel_after = here().parallel;
    });
    platform.stop();
  });
  run_until_stopped(platform);
  EXPECT_GE(woke, deadline);
  EXPECT_TRUE(reply_arrived);
  EXPECT_TRUE(same_lane_after_timer);
  EXPECT_TRUE(same_lane_after_message);
  EXPECT_TRUE(parallel_after);
}

TEST(ThreadsParallel, AFiberParkedInATurnIsUnparkedFromAnotherTurnWhichYields) {
  ThreadsPlatform platform(two_threads());
  ProcessId p = start(platform);
  // Both written and read only inside turns of p.
  FiberId sleeper;
  bool sleeper_parked = false;
  bool sleeper_woke = false;
  std::thread::id sleeper_lane;
  bool sleeper_on_its_lane = false;
  int returned = 0;  // strand-owned
  platform.spawn(p, "sleeper", [&] {
    platform.run_parallel(0, 2, [&] {
      sleeper_lane = std::this_thread::get_id();
      ProcessTurn turn;
      sleeper = here().fiber;
      sleeper_parked = true;  // the turn is held until park gives it back: the waker sees it parked
      while (!sleeper_woke) platform.park({"woken by the other body"});
      sleeper_on_its_lane = std::this_thread::get_id() == sleeper_lane;
    });
    if (++returned == 2) platform.stop();
  });
  platform.spawn(p, "waker", [&] {
    platform.run_parallel(0, 2, [&] {
      ProcessTurn turn;
      while (!sleeper_parked) platform.yield();  // gives the turn back meanwhile, or the sleeper could never park
      sleeper_woke = true;
      platform.unpark(sleeper);
    });
    if (++returned == 2) platform.stop();
  });
  run_until_stopped(platform);
  EXPECT_EQ(returned, 2);
  EXPECT_TRUE(sleeper_woke);
  EXPECT_TRUE(sleeper_on_its_lane);
}

TEST(ThreadsParallel, TwoPoolsOfAProcessHaveTheirOwnLaneLimits) {
  ThreadsPlatform platform(two_threads());
  ProcessId p = start(platform);
  // Completes only with three bodies inside at once: the single lane of pool 0 and both lanes of
  // pool 1 (the second body of pool 0 cannot be one of them: it waits for the first to end).
  Latch three_inside(3);
  std::atomic<int> arrivals{0};
  std::atomic<int> inside[2] = {0, 0};
  std::atomic<int> max_inside[2] = {0, 0};
  int finished = 0;  // strand-owned
  for (int pool : {0, 0, 1, 1}) {
    platform.spawn(p, "call", [&, pool] {
      platform.run_parallel(pool, pool == 0 ? 1 : 2, [&, pool] {
        raise_to(max_inside[pool], ++inside[pool]);
        if (arrivals++ < 3) three_inside.arrive_and_wait();  // the fourth finds it open
        --inside[pool];
      });
      if (++finished == 4) platform.stop();
    });
  }
  run_until_stopped(platform);
  EXPECT_EQ(finished, 4);
  EXPECT_EQ(max_inside[0], 1);
  EXPECT_EQ(max_inside[1], 2);
}

TEST(ThreadsParallel, AnExceptionFromTheBodyPropagatesToTheCallerOnTheStrand) {
  ThreadsPlatform platform(two_threads());
  ProcessId p = start(platform);
  std::string caught;
  bool parallel_in_handler = true;
  platform.spawn(p, "call", [&] {
    try {
      platform.run_parallel(0, 1, [] { throw std::runtime_error("from the lane"); });
    } catch (const std::runtime_error& e) {
      caught = e.what();
      parallel_in_handler = here().parallel;
    }
    platform.stop();
  });
  run_until_stopped(platform);
  EXPECT_EQ(caught, "from the lane");
  EXPECT_FALSE(parallel_in_handler);
}

TEST(ThreadsParallel, KillingTheProcessUnwindsBodiesAtTheirNextTurn) {
  ThreadsPlatform platform(two_threads());
  constexpr int kBodies = 3;
  Latch started(kBodies + 1);  // the bodies, and the strand fiber that parks
  Latch killed(1);
  std::atomic<int> unwound_on_their_lane{0};
  std::atomic<int> unwound_elsewhere{0};
  std::atomic<int> ran_past_the_turn{0};
  std::atomic<int> parked_unwound{0};
  ProcessId p = start(platform);
  auto count_unwound = [&] {
    if (unwound_on_their_lane + unwound_elsewhere + parked_unwound == kBodies + 1) platform.stop();
  };
  for (int i = 0; i < kBodies; ++i) {
    platform.spawn(p, "call", [&] {
      platform.run_parallel(0, kBodies, [&] {
        const std::thread::id lane = std::this_thread::get_id();
        Guard guard([&, lane] {
          bool right = std::this_thread::get_id() == lane && here().process == p && !here().parallel;
          ++(right ? unwound_on_their_lane : unwound_elsewhere);
          count_unwound();
        });
        started.count_down();
        killed.wait();  // user code goes on after the kill, until its next turn
        ProcessTurn turn;
        ++ran_past_the_turn;
      });
      ++ran_past_the_turn;
    });
  }
  platform.spawn(p, "parked", [&] {
    Guard guard([&] {
      ++parked_unwound;
      count_unwound();
    });
    started.count_down();
    platform.park({"forever"});
  });
  std::thread killer([&] {
    started.wait();
    platform.kill_process(p, "killed while bodies run");
    killed.count_down();
  });
  run_until_stopped(platform);
  killer.join();
  EXPECT_EQ(unwound_on_their_lane, kBodies);
  EXPECT_EQ(unwound_elsewhere, 0);
  EXPECT_EQ(parked_unwound, 1);
  EXPECT_EQ(ran_past_the_turn, 0);
}

TEST(ThreadsParallel, KillingTheProcessWhileBodiesTakeTurnsAndParkUnwindsThemAll) {
  // The kill lands wherever the bodies are: outside a turn, waiting for one, in one, or parked in
  // one on a timer. Every body must be unwound on its lane, whatever the interleaving.
  //   The kill waits until every body has started (its guard exists): a body whose lane thread
  // has not begun it when the process dies never runs at all (the next test), so its guard would
  // never exist and nothing would call stop(). Under ASan on a loaded machine two lane threads
  // once started more than 500 messages late, and this test hung with 2 bodies of 4 unwound.
  constexpr int kBodies = 4;
  ThreadsPlatform platform({.threads = 2, .seed = 11});
  std::atomic<int> unwound_on_their_lane{0};
  std::atomic<int> unwound_elsewhere{0};
  std::atomic<int> returned{0};
  std::atomic<int> bodies_started{0};
  int handled = 0;  // p's turn
  ProcessId p = start(platform, [&](ProcessId, std::string) {
    if (++handled >= 500 && bodies_started == kBodies) platform.kill_process(here().process, "killed mid-flight");
  });
  for (int i = 0; i < kBodies; ++i) {
    platform.spawn(p, "call", [&, i] {
      platform.run_parallel(0, kBodies, [&, i] {
        const std::thread::id lane = std::this_thread::get_id();
        Guard guard([&, lane] {
          ++(std::this_thread::get_id() == lane && here().process == p ? unwound_on_their_lane : unwound_elsewhere);
          if (unwound_on_their_lane + unwound_elsewhere == kBodies) platform.stop();
        });
        ++bodies_started;
        for (int round = 0;; ++round) {
          ProcessTurn turn;
          platform.send(here().process, here().process, "m");
          if ((round + i) % 4 == 0) {  // a short sleep in the turn now and then
            FiberId self = here().fiber;
            platform.start_timer(here().process, platform.now() + kMicrosecond, [&platform, self] { platform.unpark(self); });
            platform.park({"sleep"});
          }
        }
      });
      ++returned;
    });
  }
  run_until_stopped(platform);
  EXPECT_EQ(unwound_on_their_lane, kBodies);
  EXPECT_EQ(unwound_elsewhere, 0);
  EXPECT_EQ(returned, 0);
}

TEST(ThreadsParallel, ABodyQueuedForALaneNeverRunsIfTheProcessDiesFirstAndItsFiberIsUnwoundThere) {
  // One lane: the second call's fiber waits in the pool's queue while the first body runs. The
  // first body kills the process from its turn, which it takes only after the second call was
  // handed to the pool (the hand-off is part of the strand step that holds the turn). The lane
  // thread then unwinds the first fiber, takes the second and unwinds it without running its body:
  // a call whose body had not started when its process died never runs, as in Ray.
  ThreadsPlatform platform(two_threads());
  Latch second_calling(1);
  std::atomic<bool> second_body_ran{false};
  std::atomic<int> unwound_on_the_lane{0};
  std::atomic<int> unwound_elsewhere{0};
  std::atomic<int> returned{0};
  std::thread::id lane_thread;  // written by the first body before the kill, read after it
  ProcessId p = start(platform);
  auto unwound = [&] {
    ++(std::this_thread::get_id() == lane_thread && here().process == p ? unwound_on_the_lane : unwound_elsewhere);
    if (unwound_on_the_lane + unwound_elsewhere == 2) platform.stop();
  };
  platform.spawn(p, "first", [&] {
    Guard guard(unwound);
    platform.run_parallel(0, 1, [&] {
      lane_thread = std::this_thread::get_id();
      second_calling.wait();
      ProcessTurn turn;
      platform.kill_process(here().process, "killed with a call queued for the lane");
    });
    ++returned;
  });
  platform.spawn(p, "second", [&] {
    Guard guard(unwound);
    second_calling.count_down();
    platform.run_parallel(0, 1, [&] { second_body_ran = true; });
    ++returned;
  });
  run_until_stopped(platform);
  EXPECT_EQ(unwound_on_the_lane, 2);
  EXPECT_EQ(unwound_elsewhere, 0);
  EXPECT_FALSE(second_body_ran);
  EXPECT_EQ(returned, 0);
}

TEST(ThreadsParallel, ABodyKillingItsOwnProcessInATurnIsUnwoundWithTheOthers) {
  ThreadsPlatform platform(two_threads());
  Latch both_started(2);
  std::atomic<int> unwound{0};
  std::atomic<bool> kill_returned{false};
  ProcessId p = start(platform);
  auto body = [&](bool killer) {
    Guard guard([&] {
      if (++unwound == 2) platform.stop();
    });
    both_started.arrive_and_wait();
    ProcessTurn turn;
    if (killer) {
      platform.kill_process(here().process, "killed itself from a lane");
      kill_returned = true;
    }
    // The other body's turn may come before the killer's: it then ends normally (its guard runs
    // as it returns) and its fiber goes back to the strand, where reap unwinds it.
  };
  platform.spawn(p, "killer", [&] { platform.run_parallel(0, 2, [&] { body(true); }); });
  platform.spawn(p, "other", [&] {
    platform.run_parallel(0, 2, [&] { body(false); });
    // Back on the strand only if its turn came first; then it parks until the process dies.
    platform.park({"forever"});
  });
  run_until_stopped(platform);
  EXPECT_EQ(unwound, 2);
  EXPECT_FALSE(kill_returned);
}

TEST(ThreadsParallel, BodiesGoOnAfterRunReturnsAndTheNextRunFinishesTheCalls) {
  ThreadsPlatform platform(two_threads());
  Latch inside(1);
  Latch go_on(1);
  std::atomic<int> messages{0};
  bool call_returned = false;  // strand-owned
  ProcessId p = start(platform, [&](ProcessId, std::string) { ++messages; });
  platform.spawn(p, "call", [&] {
    platform.run_parallel(0, 1, [&] {
      {
        ProcessTurn turn;
        platform.stop();
      }
      inside.count_down();
      go_on.wait();  // released after run() returned
      ProcessTurn turn;
      platform.send(here().process, here().process, "after the first run");
    });
    call_returned = true;
    platform.stop();
  });
  run_until_stopped(platform);
  inside.wait();
  go_on.count_down();
  run_until_stopped(platform);
  EXPECT_TRUE(call_returned);
  EXPECT_EQ(messages, 1);
}

TEST(ThreadsParallel, DestroyingThePlatformUnwindsFibersParkedInATurnOnTheirLanes) {
  std::mutex mutex;
  std::vector<std::string> events;
  auto event = [&](std::string what) {
    std::lock_guard lock(mutex);
    events.push_back(std::move(what));
  };
  {
    ThreadsPlatform platform(two_threads());
    ProcessId p = start(platform, nullptr, [&] { event("host"); });
    Latch both_in_turn(2);
    for (int i = 0; i < 2; ++i) {
      platform.spawn(p, "call", [&] {
        platform.run_parallel(0, 2, [&] {
          const std::thread::id lane = std::this_thread::get_id();
          Guard guard([&, lane] {
            event(std::this_thread::get_id() == lane && here().process == p ? "unwound on its lane" : "unwound elsewhere");
          });
          both_in_turn.arrive_and_wait();
          ProcessTurn turn;
          platform.stop();
          platform.park({"forever"});
          event("resumed");
        });
      });
    }
    run_until_stopped(platform);
  }
  EXPECT_EQ(events, (std::vector<std::string>{"unwound on its lane", "unwound on its lane", "host"}));
}

}  // namespace
}  // namespace troupe
