// The Savina subset (tools/bench/savina.h: sizes, items, names) on Troupe's threads platform,
// configured as BM_ThreadsCalls is (2 pool threads), for troupe_real_bench. caf_bench.cc runs
// the same workloads on CAF under the same names and arguments.
//
// Troupe has no one-way message: an actor is reached by calling one of its methods, and every
// call returns a Ref that the runtime fills with the result. So a Savina message becomes:
//   - where Savina sends a request and waits for its answer (ping and pong; a chameneo's request
//     to meet and the partner's colour it gets back): a call and its result, both counted;
//   - where Savina sends one way (counting's increments, the ring's token, fork-join's work): a
//     call whose Ref is dropped at once, so nobody waits for it; one item per call. Its result
//     (void) still travels back to the caller's process, which drops it: Troupe does twice the
//     platform messages CAF does here.
// The runs:
//   BM_PingPong    a Ping actor calls Pong::ping(i) N times, each time getting the answer before
//                  the next call (2N items: the call and its result).
//   BM_Counting    a Producer actor calls Counter::increment N times without waiting, then gets
//                  Counter::total, which runs after them (one caller's calls run in order).
//   BM_ThreadRing  R Ring actors, each holding a handle to the next; pass(t) calls
//                  next.pass(t - 1) without waiting, until t = 0 calls Latch::arrive. The driver
//                  waits in Latch::wait (an async actor: its wait parks on an Event while arrive
//                  runs).
//   BM_ForkJoin    the driver calls Worker::work on A workers round robin, M calls each, without
//                  waiting, then gets each worker's Worker::count (which runs after its work).
//   BM_Chameneos   C Chameneo actors each loop in run(): get(mall.meet(colour)) answers the
//                  partner's colour (or kFaded once the N meetings took place). The Mall is an
//                  async actor: the first of a pair parks on an Event until the second arrives,
//                  hands it its colour and takes the first's. Two calls and two results a
//                  meeting, as Savina's two meet messages, the forward and the change.
// Each run is one driver on a fresh platform. The timed phase starts after a warm-up in which
// every caller of the run has made a first call to each actor it calls (Ping to Pong, the
// Producer to the Counter, each Ring actor to the next, the driver to the workers, each Chameneo
// to the Mall): a process's first call to an actor waits for the directory's word on where the
// actor lives, and a caller that does not yield in between (the Producer's loop) would queue all
// its calls until then. The timed phase ends with the run's check.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "runtime/core/cluster.h"
#include "runtime/real/threads_platform.h"
#include "runtime/troupe.h"
#include "tools/bench/savina.h"

namespace troupe::bench::savina {
namespace {

using Clock = std::chrono::steady_clock;

// Drops a call's Ref: the Savina message was one way.
template <typename T>
void one_way(Ref<T>&& ref) {
  Ref<T> dropped = std::move(ref);
}

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

// --- PingPong ------------------------------------------------------------------------------------

class Pong {
 public:
  int ping(int value) { return value; }
};
TROUPE_ACTOR(Pong, &Pong::ping);

class Ping {
 public:
  // Plays `rounds` rounds against `pong`; returns how many answers were right.
  int64_t play(ActorHandle<Pong> pong, int64_t rounds) {
    System& sys = this_actor::system();
    int64_t right = 0;
    for (int64_t i = 0; i < rounds; ++i) {
      if (sys.get(pong.call(&Pong::ping, static_cast<int>(i))) == static_cast<int>(i)) ++right;
    }
    return right;
  }
  // Warm-up: the first call to an actor waits for the directory's word on where it is.
  int ready(ActorHandle<Pong> pong) { return this_actor::system().get(pong.call(&Pong::ping, 1)); }
};
TROUPE_ACTOR(Ping, &Ping::play, &Ping::ready);

// --- Counting ------------------------------------------------------------------------------------

class Counter {
 public:
  void increment() { ++count_; }
  int64_t total() const { return count_; }

 private:
  int64_t count_ = 0;
};
TROUPE_ACTOR(Counter, &Counter::increment, &Counter::total);

class Producer {
 public:
  // Sends `n` increments to `counter` one way, then asks for its total.
  int64_t produce(ActorHandle<Counter> counter, int64_t n) {
    for (int64_t i = 0; i < n; ++i) one_way(counter.call(&Counter::increment));
    return this_actor::system().get(counter.call(&Counter::total));
  }
  // Warm-up: as Ping::ready.
  int64_t ready(ActorHandle<Counter> counter) { return this_actor::system().get(counter.call(&Counter::total)); }
};
TROUPE_ACTOR(Producer, &Producer::produce, &Producer::ready);

// --- ThreadRing ----------------------------------------------------------------------------------

// Opens once arrive() was called; wait() returns the value arrive() brought and closes it again
// (one waiter at a time).
class Latch {
 public:
  int64_t wait() {
    opened_.wait();
    opened_.clear();
    return value_;
  }
  void arrive(int64_t value) {
    value_ = value;
    opened_.set();
  }

 private:
  Event opened_{"latch"};
  int64_t value_ = -1;
};
TROUPE_ACTOR(Latch, &Latch::wait, &Latch::arrive);

class Ring {
 public:
  explicit Ring(int64_t index) : index_(index) {}
  int link(ActorHandle<Ring> next, ActorHandle<Latch> done) {
    next_ = next;
    done_ = done;
    return 1;
  }
  // The token with `left` hops to go; the actor holding it last tells the latch who it is.
  void pass(int64_t left) {
    if (left == 0) {
      one_way(done_.call(&Latch::arrive, index_));
    } else {
      one_way(next_.call(&Ring::pass, left - 1));
    }
  }

 private:
  int64_t index_;
  ActorHandle<Ring> next_;
  ActorHandle<Latch> done_;
};
TROUPE_ACTOR(Ring, &Ring::link, &Ring::pass);

// --- ForkJoin ------------------------------------------------------------------------------------

class Worker {
 public:
  void work() {
    const double result = fork_join_work(kForkJoinTheta);
    if (result > 0) ++count_;  // a wrong result leaves the count short, which the driver sees
  }
  int64_t count() const { return count_; }

 private:
  int64_t count_ = 0;
};
TROUPE_ACTOR(Worker, &Worker::work, &Worker::count);

// --- Chameneos -----------------------------------------------------------------------------------

class Mall {
 public:
  explicit Mall(int64_t meetings) : left_(meetings) {}
  // A chameneo of colour `color` wants to meet: answers its partner's colour, or kFaded once all
  // meetings took place. The first of a pair waits here for the second.
  int meet(int color) {
    if (left_ == 0) return kFaded;
    if (waiting_ == nullptr) {
      auto slot = std::make_shared<Slot>();
      slot->color = color;
      waiting_ = slot;
      slot->met.wait();
      return slot->partner;
    }
    std::shared_ptr<Slot> first = std::move(waiting_);
    waiting_ = nullptr;
    --left_;
    first->partner = color;
    first->met.set();
    return first->color;
  }
  int ready() { return 1; }

 private:
  struct Slot {
    int color = kFaded;
    int partner = kFaded;
    Event met{"meeting"};
  };
  int64_t left_;
  std::shared_ptr<Slot> waiting_;
};
TROUPE_ACTOR(Mall, &Mall::meet, &Mall::ready);

class Chameneo {
 public:
  explicit Chameneo(int color) : color_(color) {}
  // Meets others through `mall` until it answers kFaded; returns the number of meetings.
  int64_t run(ActorHandle<Mall> mall) {
    System& sys = this_actor::system();
    int64_t meetings = 0;
    for (;;) {
      const int partner = sys.get(mall.call(&Mall::meet, color_));
      if (partner == kFaded) return meetings;
      color_ = complement(color_, partner);
      ++meetings;
    }
  }
  // Warm-up: as Ping::ready.
  int ready(ActorHandle<Mall> mall) { return this_actor::system().get(mall.call(&Mall::ready)); }

 private:
  int color_;
};
TROUPE_ACTOR(Chameneo, &Chameneo::run, &Chameneo::ready);

// --- Running -------------------------------------------------------------------------------------

// Enough CPUs on the one node for every actor of the largest run (each needs one to be placed);
// the pool has 2 threads, as for BM_ThreadsCalls.
constexpr double kNodeCpus = 1024;

// Each iteration runs `workload(sys)` as the driver of a fresh platform; it returns the seconds of
// its timed phase. `items` per run give items_per_second.
template <typename Workload>
void run_savina(benchmark::State& state, int64_t items, Workload workload) {
  for (auto _ : state) {
    double seconds = 0;
    ThreadsPlatform platform({.threads = 2, .nodes = {{.name = "local", .cpus = kNodeCpus}}});
    absl::Status status = core::run_driver(platform, [&](System& sys) { seconds = workload(sys); });
    if (!status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      return;
    }
    state.SetIterationTime(seconds);
  }
  state.SetItemsProcessed(state.iterations() * items);
}

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void BM_PingPong(benchmark::State& state) {
  const int64_t rounds = state.range(0);
  run_savina(state, ping_pong_items(rounds), [rounds](System& sys) {
    ActorHandle<Pong> pong = sys.spawn<Pong>();
    ActorHandle<Ping> ping = sys.spawn<Ping>();
    check(sys.get(ping.call(&Ping::ready, pong)) == 1, "warm-up");
    const Clock::time_point start = Clock::now();
    const int64_t right = sys.get(ping.call(&Ping::play, pong, rounds));
    check(right == rounds, fmt::format("ping-pong: {} of {} answers right", right, rounds));
    return since(start);
  });
}

void BM_Counting(benchmark::State& state) {
  const int64_t n = state.range(0);
  run_savina(state, n, [n](System& sys) {
    ActorHandle<Counter> counter = sys.spawn<Counter>();
    ActorHandle<Producer> producer = sys.spawn<Producer>();
    check(sys.get(producer.call(&Producer::ready, counter)) == 0, "warm-up");
    const Clock::time_point start = Clock::now();
    const int64_t total = sys.get(producer.call(&Producer::produce, counter, n));
    check(total == n, fmt::format("counting: total {}, expected {}", total, n));
    return since(start);
  });
}

void BM_ThreadRing(benchmark::State& state) {
  const int64_t actors = state.range(0);
  const int64_t hops = state.range(1);
  run_savina(state, hops, [actors, hops](System& sys) {
    ActorHandle<Latch> latch = sys.spawn<Latch>({.concurrency = Concurrency::kAsync});
    std::vector<ActorHandle<Ring>> ring;
    for (int64_t i = 0; i < actors; ++i) ring.push_back(sys.spawn<Ring>({}, i));
    std::vector<Ref<int>> linked;
    for (int64_t i = 0; i < actors; ++i) {
      linked.push_back(ring[i].call(&Ring::link, ring[(i + 1) % actors], latch));
    }
    sys.get(linked);
    // Warm-up: one lap, so that every actor has called the next one once.
    Ref<int64_t> lap = latch.call(&Latch::wait);
    one_way(ring[0].call(&Ring::pass, actors));
    check(sys.get(lap) == 0, "warm-up lap");
    const Clock::time_point start = Clock::now();
    Ref<int64_t> done = latch.call(&Latch::wait);
    one_way(ring[0].call(&Ring::pass, hops));
    const int64_t last = sys.get(done);
    // Hop h (1-based) lands on actor h mod R; the token's last hop is hop `hops`.
    check(last == hops % actors, fmt::format("thread ring: ended at actor {}, expected {}", last, hops % actors));
    return since(start);
  });
}

void BM_ForkJoin(benchmark::State& state) {
  const int64_t actors = state.range(0);
  const int64_t messages = state.range(1);
  run_savina(state, actors * messages, [actors, messages](System& sys) {
    std::vector<ActorHandle<Worker>> workers;
    for (int64_t i = 0; i < actors; ++i) workers.push_back(sys.spawn<Worker>());
    for (const ActorHandle<Worker>& w : workers) check(sys.get(w.call(&Worker::count)) == 0, "warm-up");
    const Clock::time_point start = Clock::now();
    for (int64_t m = 0; m < messages; ++m) {
      for (const ActorHandle<Worker>& w : workers) one_way(w.call(&Worker::work));
    }
    std::vector<Ref<int64_t>> counts;
    for (const ActorHandle<Worker>& w : workers) counts.push_back(w.call(&Worker::count));
    for (int64_t count : sys.get(counts)) {
      check(count == messages, fmt::format("fork-join: a worker counted {}, expected {}", count, messages));
    }
    return since(start);
  });
}

void BM_Chameneos(benchmark::State& state) {
  const int64_t chameneos = state.range(0);
  const int64_t meetings = state.range(1);
  run_savina(state, chameneos_items(meetings), [chameneos, meetings](System& sys) {
    ActorHandle<Mall> mall = sys.spawn<Mall>({.concurrency = Concurrency::kAsync}, meetings);
    std::vector<ActorHandle<Chameneo>> all;
    for (int64_t i = 0; i < chameneos; ++i) all.push_back(sys.spawn<Chameneo>({}, initial_color(i)));
    std::vector<Ref<int>> warm;
    for (const ActorHandle<Chameneo>& c : all) warm.push_back(c.call(&Chameneo::ready, mall));
    for (int w : sys.get(warm)) check(w == 1, "warm-up");
    const Clock::time_point start = Clock::now();
    std::vector<Ref<int64_t>> runs;
    for (const ActorHandle<Chameneo>& c : all) runs.push_back(c.call(&Chameneo::run, mall));
    int64_t sum = 0;
    for (int64_t m : sys.get(runs)) sum += m;
    // Both sides of a meeting count it.
    check(sum == 2 * meetings, fmt::format("chameneos: {} meetings counted, expected {}", sum, 2 * meetings));
    return since(start);
  });
}

TROUPE_SAVINA_BENCHMARKS();

}  // namespace
}  // namespace troupe::bench::savina
