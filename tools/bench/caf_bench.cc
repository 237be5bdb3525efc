// troupe_caf_bench: the CAF baseline for troupe_real_bench. The same workloads on the C++ Actor
// Framework (Debian's libcaf-dev, CAF 0.17), under names a script joins with Troupe's rows:
//
//   BM_CafCalls/10000/0     synchronous request/response (BM_ThreadsCalls/10000/0's workload):
//                           one requester actor asks an echo actor for i and waits for the answer
//                           before asking for i + 1, i.e. request(echo, i).then(next request).
//   BM_CafCalls/100000/1    pipelined (BM_ThreadsCalls/100000/1's): the requester sends all
//                           100,000 requests back to back, then collects every answer; as plain
//                           messages answered by the echo's return value, because CAF 0.17's
//                           request(...).then(...) is quadratic in the requests outstanding
//                           (see `requester`).
//   BM_CafCallsBlocking/..  the same two from a scoped_actor (a blocking actor on the benchmark's
//                           thread): request(echo, i).receive(...) per call, or all requests
//                           first and then a receive for each (so the pipelined one does use
//                           request ids). Shown for comparison: each synchronous answer wakes an
//                           OS thread, so that row measures CAF's thread hand-off.
//   BM_PingPong, BM_Counting, BM_ThreadRing, BM_ForkJoin, BM_Chameneos
//                           the Savina subset of savina.h (sizes, items), written as Savina
//                           writes them for Akka: one-way messages between event-based actors.
//
// Counters as in troupe_real_bench: items_per_second (calls or messages per wall second of the
// timed phase, manual time) and, for the calls, us_per_call. Only the message phase is timed:
// spawning the actors is not (each run spawns its actors, then a scoped_actor starts the phase
// with one message and waits for the run's answer, which is checked).
//
// CAF's configuration: one actor system for the binary, with 2 scheduler threads (the pool size
// of the threads platform in troupe_real_bench) and CAF's default work-stealing scheduler with
// its default polling. Chosen from runs of this binary on the 2-core machine (shared with other
// builds, so noisy: medians of 3 repetitions; the default and sharing in two alternating
// rounds, the others in one):
//   - requester: the event-based one answers a synchronous call in 0.9 to 1.7 us; the
//     scoped_actor (BM_CafCallsBlocking) in 80 to 120 us, because each request has to wake a
//     worker out of its poll-then-sleep loop (work-stealing.moderate-sleep-duration, 50 us) and
//     each answer a blocked OS thread. BM_CafCalls is the event-based one: it is how a CAF
//     program waits for an answer before its next request, and its requester runs on the
//     scheduler's threads, as Troupe's driver fiber runs on the platform's pool.
//   - scheduler.policy=sharing (one queue, a condition variable): the scoped_actor drops to
//     23 us a call, but the event-based calls rise to 2.4 to 2.8 us and ping-pong takes 1.4 to
//     2.5 times as long; counting, the ring, fork-join and chameneos moved within the noise.
//   - polling more (work-stealing.aggressive-poll-attempts=10000, or moderate-sleep-duration=10us):
//     the scoped_actor gets 36 or 55 us, the event-based runs are no faster and ping-pong slower:
//     on 2 cores a spinning worker takes the CPU from the actor it waits for.
//   - scheduler.max-threads=1: within the noise of 2 threads except chameneos (faster); not
//     used, so that both runtimes have two threads.
// So the defaults, which are the best for the rows compared with Troupe (BM_CafCalls, Savina).
// Any CAF option can be changed on the command line after the benchmark flags, e.g.
//   troupe_caf_bench --benchmark_filter=BM_CafCalls --scheduler.policy=sharing
//   troupe_caf_bench --scheduler.max-threads=4 --work-stealing.moderate-sleep-duration=10us
// The configuration in use is printed in the benchmark context (caf_scheduler...).
#include <benchmark/benchmark.h>

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "tools/bench/savina.h"

namespace troupe::bench::caf_bench {
namespace {

using Clock = std::chrono::steady_clock;
using namespace troupe::bench::savina;

// Message tags (CAF 0.17 atoms: at most 10 characters).
using go_atom = caf::atom_constant<caf::atom("go")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using incr_atom = caf::atom_constant<caf::atom("incr")>;
using total_atom = caf::atom_constant<caf::atom("total")>;
using link_atom = caf::atom_constant<caf::atom("linknext")>;
using work_atom = caf::atom_constant<caf::atom("work")>;
using meet_atom = caf::atom_constant<caf::atom("meet")>;
using change_atom = caf::atom_constant<caf::atom("change")>;
using fade_atom = caf::atom_constant<caf::atom("fade")>;
using count_atom = caf::atom_constant<caf::atom("count")>;

// How long a run may take before the benchmark gives up on it (a lost message would hang it).
constexpr auto kRunTimeout = std::chrono::seconds(120);

caf::actor_system* the_system = nullptr;

caf::actor_system& sys() { return *the_system; }

// Ends `actors` and waits until they are gone, so that no run overlaps the next one's timing.
void shut_down(caf::scoped_actor& self, const std::vector<caf::actor>& actors) {
  for (const caf::actor& a : actors) self->send_exit(a, caf::exit_reason::user_shutdown);
  for (const caf::actor& a : actors) self->wait_for(a);
}

// Waits for the run's (done_atom, value) answer; nullopt after kRunTimeout.
std::optional<int64_t> await_done(caf::scoped_actor& self) {
  std::optional<int64_t> value;
  self->receive([&](done_atom, int64_t v) { value = v; },
                caf::after(std::chrono::duration_cast<std::chrono::milliseconds>(kRunTimeout)) >> [] {});
  return value;
}

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// One run: `run(self)` returns the seconds of its timed phase, or throws std::runtime_error
// naming what went wrong (the benchmark then stops with that error).
template <typename Run>
void measure(benchmark::State& state, int64_t items, Run run) {
  for (auto _ : state) {
    caf::scoped_actor self{sys()};
    double seconds = 0;
    try {
      seconds = run(self);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      return;
    }
    state.SetIterationTime(seconds);
  }
  state.SetItemsProcessed(state.iterations() * items);
}

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

// --- Calls: request/response ---------------------------------------------------------------------

caf::behavior echo(caf::event_based_actor*) {
  return {[](int64_t value) { return value; }};
}

struct RequesterState {
  caf::actor echo;
  caf::actor reply_to;
  int64_t calls = 0;
  int64_t next = 0;     // synchronous: the next value to ask for
  int64_t answers = 0;  // pipelined: answers collected
  int64_t sum = 0;      // pipelined: -1 once an answer came out of order or wrong
};
using Requester = caf::stateful_actor<RequesterState>;

// Asks for state.next, and from its answer for the next one, until all calls are answered; then
// tells reply_to how many answers were right.
void request_next(Requester* self) {
  RequesterState& st = self->state;
  if (st.next == st.calls) {
    self->send(st.reply_to, done_atom::value, st.calls);
    return;
  }
  const int64_t asked = st.next;
  self->request(st.echo, caf::infinite, asked).then([self, asked](int64_t value) {
    if (value != asked) {
      self->send(self->state.reply_to, done_atom::value, int64_t{-1});
      return;
    }
    ++self->state.next;
    request_next(self);
  });
}

// Synchronous: request_next. Pipelined: every request is sent at once as a plain message, and
// the echo's return value comes back as a plain message too (CAF answers an asynchronous message
// that way). Not request(...).then(...) for each: CAF 0.17 keeps the handlers of outstanding
// requests in a flat map searched linearly, so 100,000 of them take 150 us a call (quadratic).
caf::behavior requester(Requester* self) {
  return {
      [self](go_atom, caf::actor echo, int64_t calls, bool pipelined, caf::actor reply_to) {
        RequesterState& st = self->state;
        st = RequesterState{.echo = echo, .reply_to = reply_to, .calls = calls};
        if (!pipelined) {
          request_next(self);
          return;
        }
        for (int64_t i = 0; i < calls; ++i) self->send(st.echo, i);
      },
      // A pipelined answer: they come back in the order asked (CAF keeps one sender's order).
      [self](int64_t value) {
        RequesterState& st = self->state;
        if (value != st.answers) st.sum = -1;
        if (++st.answers == st.calls) self->send(st.reply_to, done_atom::value, st.sum == 0 ? st.calls : int64_t{-1});
      },
  };
}

void report_calls(benchmark::State& state, int64_t calls, double total) {
  state.SetItemsProcessed(state.iterations() * calls);
  state.counters["us_per_call"] = 1e6 * total / static_cast<double>(state.iterations() * calls);
}

void BM_CafCalls(benchmark::State& state) {
  const int64_t calls = state.range(0);
  const bool pipelined = state.range(1) != 0;
  double total = 0;
  for (auto _ : state) {
    caf::scoped_actor self{sys()};
    caf::actor server = sys().spawn(echo);
    caf::actor client = sys().spawn(requester);
    // Warm-up: both actors have run once.
    self->send(client, go_atom::value, server, int64_t{1}, false, caf::actor{self});
    if (await_done(self) != 1) {
      state.SkipWithError("bad warm-up answer");
      return;
    }
    const Clock::time_point start = Clock::now();
    self->send(client, go_atom::value, server, calls, pipelined, caf::actor{self});
    const std::optional<int64_t> answered = await_done(self);
    const double seconds = since(start);
    shut_down(self, {client, server});
    if (answered != calls) {
      state.SkipWithError(answered ? "a wrong answer" : "timed out");
      return;
    }
    state.SetIterationTime(seconds);
    total += seconds;
  }
  report_calls(state, calls, total);
}
BENCHMARK(BM_CafCalls)->Args({10000, 0})->Args({100000, 1})->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_CafCallsBlocking(benchmark::State& state) {
  const int64_t calls = state.range(0);
  const bool pipelined = state.range(1) != 0;
  double total = 0;
  for (auto _ : state) {
    caf::scoped_actor self{sys()};
    caf::actor server = sys().spawn(echo);
    bool right = true;
    auto answer_is = [&right](int64_t expected) {
      return [&right, expected](int64_t value) { right = right && value == expected; };
    };
    auto failed = [&right](caf::error&) { right = false; };
    self->request(server, caf::infinite, int64_t{-1}).receive(answer_is(-1), failed);
    const Clock::time_point start = Clock::now();
    if (pipelined) {
      std::vector<decltype(self->request(server, caf::infinite, int64_t{0}))> pending;
      pending.reserve(static_cast<size_t>(calls));
      for (int64_t i = 0; i < calls; ++i) pending.push_back(self->request(server, caf::infinite, i));
      for (int64_t i = 0; i < calls; ++i) pending[static_cast<size_t>(i)].receive(answer_is(i), failed);
    } else {
      for (int64_t i = 0; i < calls; ++i) self->request(server, caf::infinite, i).receive(answer_is(i), failed);
    }
    const double seconds = since(start);
    shut_down(self, {server});
    if (!right) {
      state.SkipWithError("a wrong answer");
      return;
    }
    state.SetIterationTime(seconds);
    total += seconds;
  }
  report_calls(state, calls, total);
}
BENCHMARK(BM_CafCallsBlocking)->Args({10000, 0})->Args({100000, 1})->UseManualTime()->Unit(benchmark::kMillisecond);

// --- Savina: PingPong ----------------------------------------------------------------------------

caf::behavior pong(caf::event_based_actor*) {
  return {[](ping_atom, int64_t i) { return caf::make_message(pong_atom::value, i); }};
}

struct PingState {
  caf::actor pong;
  caf::actor reply_to;
  int64_t rounds = 0;
  int64_t right = 0;
};

caf::behavior ping(caf::stateful_actor<PingState>* self) {
  return {
      [self](go_atom, caf::actor pong, int64_t rounds, caf::actor reply_to) {
        self->state = PingState{.pong = pong, .reply_to = reply_to, .rounds = rounds};
        self->send(pong, ping_atom::value, int64_t{0});
      },
      [self](pong_atom, int64_t i) {
        PingState& st = self->state;
        if (i == st.right) ++st.right;
        if (i + 1 == st.rounds) {
          self->send(st.reply_to, done_atom::value, st.right);
        } else {
          self->send(st.pong, ping_atom::value, i + 1);
        }
      },
  };
}

void BM_PingPong(benchmark::State& state) {
  const int64_t rounds = state.range(0);
  measure(state, ping_pong_items(rounds), [rounds](caf::scoped_actor& self) {
    caf::actor b = sys().spawn(pong);
    caf::actor a = sys().spawn(ping);
    const Clock::time_point start = Clock::now();
    self->send(a, go_atom::value, b, rounds, caf::actor{self});
    const std::optional<int64_t> right = await_done(self);
    const double seconds = since(start);
    shut_down(self, {a, b});
    check(right == rounds, fmt::format("ping-pong: {} of {} answers right", right.value_or(-1), rounds));
    return seconds;
  });
}

// --- Savina: Counting ----------------------------------------------------------------------------

caf::behavior counter(caf::stateful_actor<int64_t>* self) {
  self->state = 0;
  return {
      [self](incr_atom) { ++self->state; },
      [self](total_atom) { return self->state; },
  };
}

caf::behavior producer(caf::event_based_actor* self) {
  return {
      [self](go_atom, caf::actor counter, int64_t n, caf::actor reply_to) {
        for (int64_t i = 0; i < n; ++i) self->send(counter, incr_atom::value);
        self->request(counter, caf::infinite, total_atom::value).then([self, reply_to](int64_t total) {
          self->send(reply_to, done_atom::value, total);
        });
      },
  };
}

void BM_Counting(benchmark::State& state) {
  const int64_t n = state.range(0);
  measure(state, n, [n](caf::scoped_actor& self) {
    caf::actor c = sys().spawn(counter);
    caf::actor p = sys().spawn(producer);
    const Clock::time_point start = Clock::now();
    self->send(p, go_atom::value, c, n, caf::actor{self});
    const std::optional<int64_t> total = await_done(self);
    const double seconds = since(start);
    shut_down(self, {p, c});
    check(total == n, fmt::format("counting: total {}, expected {}", total.value_or(-1), n));
    return seconds;
  });
}

// --- Savina: ThreadRing --------------------------------------------------------------------------

struct RingState {
  int64_t index = 0;
  caf::actor next;
  caf::actor done;
};

caf::behavior ring_member(caf::stateful_actor<RingState>* self, int64_t index) {
  self->state.index = index;
  return {
      [self](link_atom, caf::actor next, caf::actor done) {
        self->state.next = next;
        self->state.done = done;
        return int64_t{1};
      },
      // The token with `left` hops to go; the actor holding it last says who it is.
      [self](int64_t left) {
        if (left == 0) {
          self->send(self->state.done, done_atom::value, self->state.index);
        } else {
          self->send(self->state.next, left - 1);
        }
      },
  };
}

void BM_ThreadRing(benchmark::State& state) {
  const int64_t actors = state.range(0);
  const int64_t hops = state.range(1);
  measure(state, hops, [actors, hops](caf::scoped_actor& self) {
    std::vector<caf::actor> ring;
    for (int64_t i = 0; i < actors; ++i) ring.push_back(sys().spawn(ring_member, i));
    for (int64_t i = 0; i < actors; ++i) {
      self->request(ring[i], caf::infinite, link_atom::value, ring[(i + 1) % actors], caf::actor{self})
          .receive([](int64_t) {}, [](caf::error&) { throw std::runtime_error("thread ring: a link failed"); });
    }
    const Clock::time_point start = Clock::now();
    self->send(ring[0], hops);
    const std::optional<int64_t> last = await_done(self);
    const double seconds = since(start);
    shut_down(self, ring);
    // Hop h (1-based) lands on actor h mod R; the token's last hop is hop `hops`.
    check(last == hops % actors,
          fmt::format("thread ring: ended at actor {}, expected {}", last.value_or(-1), hops % actors));
    return seconds;
  });
}

// --- Savina: ForkJoin (throughput) ---------------------------------------------------------------

struct WorkerState {
  int64_t count = 0;
  int64_t expected = 0;
  caf::actor done;
};

caf::behavior fj_worker(caf::stateful_actor<WorkerState>* self, int64_t expected, caf::actor done) {
  self->state.expected = expected;
  self->state.done = done;
  return {
      [self](work_atom) {
        WorkerState& st = self->state;
        if (fork_join_work(kForkJoinTheta) > 0) ++st.count;  // a wrong result leaves it short
        if (st.count == st.expected) self->send(st.done, done_atom::value, st.count);
      },
  };
}

// The sender: Savina's main loop, as an actor on the scheduler (as Troupe's driver is a fiber on
// the platform's threads): M rounds, one message to each worker per round.
caf::behavior fj_sender(caf::event_based_actor* self) {
  return {
      [self](go_atom, std::vector<caf::actor> workers, int64_t messages) {
        for (int64_t m = 0; m < messages; ++m) {
          for (const caf::actor& w : workers) self->send(w, work_atom::value);
        }
      },
  };
}

void BM_ForkJoin(benchmark::State& state) {
  const int64_t actors = state.range(0);
  const int64_t messages = state.range(1);
  measure(state, actors * messages, [actors, messages](caf::scoped_actor& self) {
    std::vector<caf::actor> workers;
    for (int64_t i = 0; i < actors; ++i) workers.push_back(sys().spawn(fj_worker, messages, caf::actor{self}));
    caf::actor sender = sys().spawn(fj_sender);
    const Clock::time_point start = Clock::now();
    self->send(sender, go_atom::value, workers, messages);
    int64_t finished = 0;
    for (int64_t i = 0; i < actors; ++i) {
      if (await_done(self) == messages) ++finished;
    }
    const double seconds = since(start);
    workers.push_back(sender);
    shut_down(self, workers);
    check(finished == actors, fmt::format("fork-join: {} of {} workers got all their messages", finished, actors));
    return seconds;
  });
}

// --- Savina: Chameneos ---------------------------------------------------------------------------

struct MallState {
  int64_t left = 0;  // meetings still to take place
  int64_t chameneos = 0;
  caf::actor reply_to;
  caf::actor waiting;  // the first of a pair, if any
  int waiting_color = kFaded;
  int64_t faded = 0;
  int64_t sum = 0;
};

caf::behavior mall(caf::stateful_actor<MallState>* self) {
  return {
      [self](go_atom, int64_t meetings, int64_t chameneos, caf::actor reply_to) {
        self->state = MallState{.left = meetings, .chameneos = chameneos, .reply_to = reply_to};
      },
      [self](meet_atom, int color, caf::actor who) {
        MallState& st = self->state;
        if (st.left == 0) {
          self->send(who, fade_atom::value);
        } else if (!st.waiting) {
          st.waiting = who;
          st.waiting_color = color;
        } else {
          --st.left;
          self->send(st.waiting, meet_atom::value, color, who);
          st.waiting = nullptr;
        }
      },
      [self](count_atom, int64_t meetings) {
        MallState& st = self->state;
        st.sum += meetings;
        if (++st.faded == st.chameneos) self->send(st.reply_to, done_atom::value, st.sum);
      },
  };
}

struct ChameneoState {
  caf::actor mall;
  int color = kFaded;
  int64_t meetings = 0;
};

caf::behavior chameneo(caf::stateful_actor<ChameneoState>* self, caf::actor mall, int color) {
  self->state.mall = mall;
  self->state.color = color;
  auto meet_again = [self] {
    self->send(self->state.mall, meet_atom::value, self->state.color, caf::actor_cast<caf::actor>(self));
  };
  return {
      [meet_again](go_atom) { meet_again(); },
      // Met `other`, of colour `color`: both take the complement; tell the other.
      [self, meet_again](meet_atom, int color, caf::actor other) {
        ChameneoState& st = self->state;
        st.color = complement(st.color, color);
        ++st.meetings;
        self->send(other, change_atom::value, st.color);
        meet_again();
      },
      [self, meet_again](change_atom, int color) {
        self->state.color = color;
        ++self->state.meetings;
        meet_again();
      },
      [self](fade_atom) {
        self->state.color = kFaded;
        self->send(self->state.mall, count_atom::value, self->state.meetings);
      },
  };
}

void BM_Chameneos(benchmark::State& state) {
  const int64_t chameneos = state.range(0);
  const int64_t meetings = state.range(1);
  measure(state, chameneos_items(meetings), [chameneos, meetings](caf::scoped_actor& self) {
    caf::actor m = sys().spawn(mall);
    self->send(m, go_atom::value, meetings, chameneos, caf::actor{self});
    std::vector<caf::actor> all;
    for (int64_t i = 0; i < chameneos; ++i) all.push_back(sys().spawn(chameneo, m, initial_color(i)));
    const Clock::time_point start = Clock::now();
    for (const caf::actor& c : all) self->send(c, go_atom::value);
    const std::optional<int64_t> sum = await_done(self);
    const double seconds = since(start);
    all.push_back(m);
    shut_down(self, all);
    // Both sides of a meeting count it.
    check(sum == 2 * meetings,
          fmt::format("chameneos: {} meetings counted, expected {}", sum.value_or(-1), 2 * meetings));
    return seconds;
  });
}

TROUPE_SAVINA_BENCHMARKS();

// The configuration described in the header; options on the command line override it.
void configure(caf::actor_system_config& cfg) {
  cfg.set("scheduler.max-threads", 2);
}

}  // namespace
}  // namespace troupe::bench::caf_bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  // What benchmark::Initialize left are CAF's options.
  caf::actor_system_config cfg;
  troupe::bench::caf_bench::configure(cfg);
  if (caf::error err = cfg.parse(argc, argv)) {
    fmt::print(stderr, "troupe_caf_bench: bad CAF options: {}\n", cfg.render(err));
    return 1;
  }
  if (cfg.cli_helptext_printed) return 0;
  caf::actor_system system{cfg};
  troupe::bench::caf_bench::the_system = &system;
  benchmark::AddCustomContext(
      "caf_scheduler",
      fmt::format("{} policy, {} threads", caf::to_string(caf::get_or(cfg, "scheduler.policy", caf::atom("stealing"))),
                  system.scheduler().num_workers()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
