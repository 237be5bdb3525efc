// Network: latency with a heavy tail, per-link FIFO, partitions, clogging and connection resets,
// observed through a World the way the runtime sees them (messages arriving, or not).
#include "sim/network.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "absl/functional/any_invocable.h"
#include "sim/world.h"

namespace troupe::sim {
namespace {

// A host that records what it receives, with the arrival time.
struct Arrival {
  Nanos time;
  ProcessId from;
  std::string payload;
};

class Host : public ProcessHost {
 public:
  explicit Host(absl::AnyInvocable<void(ProcessId, std::string)> on_message)
      : on_message_(std::move(on_message)) {}
  void on_message(ProcessId from, std::string payload) override { on_message_(from, std::move(payload)); }

 private:
  absl::AnyInvocable<void(ProcessId, std::string)> on_message_;
};

// Two nodes (n0, n1), one process on each (p1 on n0, p2 on n1) and a third (p3) on n0.
struct Fixture {
  explicit Fixture(uint64_t seed = 1, NetworkOptions network = {})
      : world({.seed = seed, .network = network, .trace = &retain(trace)}) {
    world.add_node({.name = "head"});
    world.add_node({.name = "other"});
    a = start(NodeId{0});
    b = start(NodeId{1});
    c = start(NodeId{0});
  }
  ProcessId start(NodeId node) {
    auto host = std::make_unique<Host>([this, index = next_index++](ProcessId from, std::string payload) {
      arrivals[index].push_back({world.now(), from, std::move(payload)});
    });
    return *world.start_process(node, "p", std::move(host));
  }
  // Runs `body` in a fiber of `process` now, then runs the world until nothing is left.
  void run(ProcessId process, absl::AnyInvocable<void()> body) {
    world.spawn(process, "test", std::move(body));
    absl::Status status = world.run();
    // The world ends in "deadlock" once every message is delivered: nothing is left to do.
    ASSERT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  }
  // Sends "0".."n-1" from `from` to `to`.
  void send_numbered(ProcessId from, ProcessId to, int n) {
    for (int i = 0; i < n; ++i) world.send(from, to, std::to_string(i));
  }
  std::vector<std::string> payloads(ProcessId to) const {
    std::vector<std::string> result;
    for (const Arrival& arrival : arrivals[to.value - 1]) result.push_back(arrival.payload);
    return result;
  }
  std::vector<std::string> details(TraceKind kind) const {
    std::vector<std::string> result;
    for (const TraceEvent& event : trace.retained()) {
      if (event.kind == kind) result.push_back(event.detail);
    }
    return result;
  }

  static Trace& retain(Trace& trace) {
    trace.set_retain(true);
    return trace;
  }

  Trace trace;
  World world;
  int next_index = 0;
  std::vector<Arrival> arrivals[3];
  ProcessId a, b, c;
};

std::vector<std::string> numbered(int n) {
  std::vector<std::string> result;
  for (int i = 0; i < n; ++i) result.push_back(std::to_string(i));
  return result;
}

constexpr NetworkOptions kBigJitter = {.jitter_ns = 10 * kMillisecond};

TEST(Network, FifoLinksDeliverInSendOrderUnderBigJitter) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Fixture f(seed, kBigJitter);
    f.run(f.a, [&] { f.send_numbered(f.a, f.b, 100); });
    EXPECT_EQ(f.payloads(f.b), numbered(100)) << "seed " << seed;
  }
}

TEST(Network, WithoutFifoLinksMessagesOvertakeEachOther) {
  NetworkOptions options = kBigJitter;
  options.fifo_links = false;
  int reordered = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Fixture f(seed, options);
    f.run(f.a, [&] { f.send_numbered(f.a, f.b, 100); });
    ASSERT_EQ(f.payloads(f.b).size(), 100u) << "seed " << seed;
    if (f.payloads(f.b) != numbered(100)) ++reordered;
  }
  EXPECT_EQ(reordered, 20);
}

TEST(Network, HeavyTailAddsAParetoDelayWithTheGivenProbability) {
  NetworkOptions options{.jitter_ns = 0, .tail_probability = 0.1, .tail_scale_ns = kMillisecond,
                         .tail_shape = 1.5, .tail_max_ns = 50 * kMillisecond};
  Network network(options, nullptr);
  Rng rng(7);
  int tailed = 0, beyond_10ms = 0, capped = 0;
  Nanos base = options.remote_latency_ns;
  for (int i = 0; i < 10'000; ++i) {
    Nanos delay = network.latency(NodeId{0}, NodeId{1}, rng);
    ASSERT_GE(delay, base);
    ASSERT_LE(delay, base + options.tail_max_ns);
    if (delay == base) continue;
    ++tailed;
    EXPECT_GE(delay, base + options.tail_scale_ns) << "a Pareto draw is at least its scale";
    if (delay > base + 10 * kMillisecond) ++beyond_10ms;
    if (delay == base + options.tail_max_ns) ++capped;
  }
  // Pinned for seed 7. Expected about 10% tailed (1000); of those, P(X > 10 ms) = (1/10)^1.5 =
  // 3.2% (32) beyond 10 ms and (1/50)^1.5 = 0.28% (2.8) at the 50 ms cap.
  EXPECT_EQ(tailed, 997);
  EXPECT_EQ(beyond_10ms, 39);
  EXPECT_EQ(capped, 2);
}

TEST(Network, TheTailIsOffByDefault) {
  Network network({}, nullptr);
  Rng rng(7);
  for (int i = 0; i < 1000; ++i) {
    Nanos delay = network.latency(NodeId{0}, NodeId{1}, rng);
    ASSERT_LE(delay, network.options().remote_latency_ns + network.options().jitter_ns);
  }
}

TEST(Network, APartitionDropsMessagesBothWaysAndHealingRestoresThem) {
  Fixture f;
  f.world.network().partition({NodeId{0}}, {NodeId{1}}, /*one_way=*/false);
  f.run(f.a, [&] {
    f.world.send(f.a, f.b, "a->b");
    f.world.send(f.b, f.a, "b->a");
    f.world.send(f.a, f.c, "a->c same side");
  });
  EXPECT_EQ(f.payloads(f.b), (std::vector<std::string>{}));
  EXPECT_EQ(f.payloads(f.a), (std::vector<std::string>{}));
  EXPECT_EQ(f.payloads(f.c), (std::vector<std::string>{"a->c same side"}));
  EXPECT_EQ(f.details(TraceKind::kDrop), (std::vector<std::string>{"partitioned", "partitioned"}));

  f.world.network().heal_partitions();
  f.run(f.a, [&] {
    f.world.send(f.a, f.b, "a->b healed");
    f.world.send(f.b, f.a, "b->a healed");
  });
  EXPECT_EQ(f.payloads(f.b), (std::vector<std::string>{"a->b healed"}));
  EXPECT_EQ(f.payloads(f.a), (std::vector<std::string>{"b->a healed"}));
  EXPECT_EQ(f.details(TraceKind::kFault), (std::vector<std::string>{"partition n0 | n1", "heal partitions"}));
}

TEST(Network, AOneWayPartitionBlocksOnlyOneDirection) {
  Fixture f;
  f.world.network().partition({NodeId{0}}, {NodeId{1}}, /*one_way=*/true);
  f.run(f.a, [&] {
    f.world.send(f.a, f.b, "a->b");
    f.world.send(f.b, f.a, "b->a");
  });
  EXPECT_EQ(f.payloads(f.b), (std::vector<std::string>{}));
  EXPECT_EQ(f.payloads(f.a), (std::vector<std::string>{"b->a"}));
  EXPECT_EQ(f.details(TraceKind::kFault), (std::vector<std::string>{"partition n0 | n1 one-way"}));
}

TEST(Network, APartitionLosesMessagesInFlightEvenIfItHealsBeforeTheyArrive) {
  Fixture f;
  f.run(f.a, [&] {
    f.world.send(f.a, f.b, "in flight");
    f.world.network().partition({NodeId{1}}, {NodeId{0}}, /*one_way=*/false);
    f.world.network().heal_partitions();
    f.world.send(f.a, f.b, "after heal");
  });
  EXPECT_EQ(f.payloads(f.b), (std::vector<std::string>{"after heal"}));
  EXPECT_EQ(f.details(TraceKind::kDrop), (std::vector<std::string>{"partitioned"}));
}

TEST(Network, AResetLosesEveryMessageInFlightOnTheLinkBothWays) {
  Fixture f;
  f.run(f.a, [&] {
    f.send_numbered(f.a, f.b, 3);
    f.world.send(f.b, f.a, "b->a");
    f.world.send(f.a, f.c, "other link");
    f.world.network().reset_link(f.b, f.a);
    f.world.send(f.a, f.b, "after reset");
  });
  EXPECT_EQ(f.payloads(f.b), (std::vector<std::string>{"after reset"}));
  EXPECT_EQ(f.payloads(f.a), (std::vector<std::string>{}));
  EXPECT_EQ(f.payloads(f.c), (std::vector<std::string>{"other link"}));
  EXPECT_EQ(f.details(TraceKind::kDrop), (std::vector<std::string>(4, "connection reset")));
  EXPECT_EQ(f.details(TraceKind::kFault), (std::vector<std::string>{"reset p2<->p1"}));
}

TEST(Network, ResettingAProcessLosesWhatIsInFlightOnAllItsLinks) {
  Fixture f;
  f.run(f.a, [&] {
    f.world.send(f.a, f.b, "a->b");
    f.world.send(f.c, f.a, "c->a");
    f.world.send(f.c, f.b, "c->b");
    f.world.network().reset_process(f.a);
  });
  EXPECT_EQ(f.payloads(f.a), (std::vector<std::string>{}));
  EXPECT_EQ(f.payloads(f.b), (std::vector<std::string>{"c->b"}));
  EXPECT_EQ(f.details(TraceKind::kFault), (std::vector<std::string>{"reset p1"}));
}

TEST(Network, ClogHoldsMessagesUntilItEndsAndReleasesThemInOrder) {
  NetworkOptions options = kBigJitter;
  options.fifo_links = false;  // the clog alone keeps the held messages in order
  Fixture f(3, options);
  Nanos until = 50 * kMillisecond;
  f.world.network().clog(NodeId{1}, until);
  f.run(f.a, [&] {
    f.send_numbered(f.a, f.b, 20);
    f.world.send(f.a, f.c, "unclogged");
  });
  EXPECT_EQ(f.payloads(f.b), numbered(20));
  for (const Arrival& arrival : f.arrivals[1]) EXPECT_GE(arrival.time, until) << arrival.payload;
  ASSERT_EQ(f.arrivals[2].size(), 1u);
  EXPECT_LT(f.arrivals[2][0].time, until);
  EXPECT_EQ(f.details(TraceKind::kDrop), (std::vector<std::string>{}));
  EXPECT_EQ(f.details(TraceKind::kFault), (std::vector<std::string>{"clog n1 until 50000000ns"}));
}

TEST(Network, AClogOnALinkHoldsOnlyThatDirection) {
  Fixture f;
  Nanos until = 20 * kMillisecond;
  f.world.network().clog_link(f.a, f.b, until);
  f.run(f.a, [&] {
    f.world.send(f.a, f.b, "held");
    f.world.send(f.b, f.a, "free");
  });
  ASSERT_EQ(f.arrivals[1].size(), 1u);
  EXPECT_EQ(f.arrivals[1][0].time, until);
  ASSERT_EQ(f.arrivals[0].size(), 1u);
  EXPECT_LT(f.arrivals[0][0].time, until);
  EXPECT_EQ(f.details(TraceKind::kFault), (std::vector<std::string>{"clog p1->p2 until 20000000ns"}));
}

TEST(Network, FaultsAreTracedAsFaultEvents) {
  Fixture f;
  Network& network = f.world.network();
  network.partition({NodeId{0}, NodeId{2}}, {NodeId{1}}, /*one_way=*/true);
  network.heal_partitions();
  network.clog(NodeId{0}, kSecond);
  network.reset_process(f.b);
  size_t faults = 0;
  for (const TraceEvent& event : f.trace.retained()) {
    if (event.kind != TraceKind::kFault) continue;
    ++faults;
    EXPECT_EQ(trace_kind_name(event.kind), "fault");
  }
  EXPECT_EQ(faults, 4u);
  EXPECT_EQ(f.details(TraceKind::kFault),
            (std::vector<std::string>{"partition n0,n2 | n1 one-way", "heal partitions", "clog n0 until 1000000000ns",
                                      "reset p2"}));
}

// Latency spikes, on the Network alone: no jitter, so every delivery time is exact.
struct SpikeFixture {
  explicit SpikeFixture(NetworkOptions options = {.jitter_ns = 0})
      : network(options, [this](TraceEvent event) { faults.push_back(event.detail); }) {}
  Nanos send(Endpoint from, Endpoint to, Nanos now) {
    Route route = network.route(from, to, now, rng);
    EXPECT_FALSE(route.dropped);
    return route.at;
  }
  std::vector<std::string> faults;
  Network network;
  Rng rng{1};
  Endpoint a{ProcessId{1}, NodeId{0}};
  Endpoint b{ProcessId{2}, NodeId{1}};
  Endpoint c{ProcessId{3}, NodeId{0}};
};

constexpr Nanos kRemote = 100 * kMicrosecond;  // NetworkOptions defaults
constexpr Nanos kLocal = 5 * kMicrosecond;

TEST(Network, ALatencySpikeDelaysEveryMessageSentDuringIt) {
  SpikeFixture f;
  EXPECT_EQ(f.send(f.a, f.b, 0), kRemote);
  f.network.spike_latency(5 * kMillisecond, 10 * kMillisecond);
  EXPECT_EQ(f.send(f.a, f.b, 1 * kMillisecond), 1 * kMillisecond + kRemote + 5 * kMillisecond);
  EXPECT_EQ(f.send(f.c, f.a, 2 * kMillisecond), 2 * kMillisecond + kLocal + 5 * kMillisecond);  // local links too
  EXPECT_EQ(f.send(f.b, f.c, 9'999'999), 9'999'999 + kRemote + 5 * kMillisecond);
  // The window is [call, until): a message sent at `until` is on time again.
  EXPECT_EQ(f.send(f.b, f.a, 10 * kMillisecond), 10 * kMillisecond + kRemote);
  EXPECT_EQ(f.faults, (std::vector<std::string>{"latency +5000000ns until 10000000ns"}));
}

TEST(Network, OverlappingLatencySpikesAddUp) {
  SpikeFixture f;
  f.network.spike_latency(5 * kMillisecond, 10 * kMillisecond);
  f.network.spike_latency(1 * kMillisecond, 20 * kMillisecond);
  EXPECT_EQ(f.send(f.b, f.a, 6 * kMillisecond), 6 * kMillisecond + kRemote + 6 * kMillisecond);
  EXPECT_EQ(f.send(f.a, f.b, 15 * kMillisecond), 15 * kMillisecond + kRemote + 1 * kMillisecond);
  EXPECT_EQ(f.send(f.a, f.b, 20 * kMillisecond), 20 * kMillisecond + kRemote);  // both over
  EXPECT_EQ(f.send(f.b, f.a, 20 * kMillisecond), 20 * kMillisecond + kRemote);
  EXPECT_EQ(f.faults, (std::vector<std::string>{"latency +5000000ns until 10000000ns",
                                                "latency +1000000ns until 20000000ns"}));
}

TEST(Network, AfterASpikeFifoLinksKeepNewMessagesBehindTheSlowOnes) {
  SpikeFixture fifo;
  fifo.network.spike_latency(5 * kMillisecond, 10 * kMillisecond);
  EXPECT_EQ(fifo.send(fifo.a, fifo.b, 9 * kMillisecond), 14 * kMillisecond + kRemote);
  EXPECT_EQ(fifo.send(fifo.a, fifo.b, 10 * kMillisecond), 14 * kMillisecond + kRemote + 1);  // head-of-line
  EXPECT_EQ(fifo.send(fifo.a, fifo.c, 10 * kMillisecond), 10 * kMillisecond + kLocal);       // another link

  SpikeFixture unordered({.jitter_ns = 0, .fifo_links = false});
  unordered.network.spike_latency(5 * kMillisecond, 10 * kMillisecond);
  EXPECT_EQ(unordered.send(unordered.a, unordered.b, 9 * kMillisecond), 14 * kMillisecond + kRemote);
  EXPECT_EQ(unordered.send(unordered.a, unordered.b, 10 * kMillisecond), 10 * kMillisecond + kRemote);  // overtakes
}

TEST(Network, AClogAndASpikeTogetherDeliverAtTheLaterOfTheTwo) {
  SpikeFixture f;
  f.network.clog_link(f.a.process, f.b.process, 8 * kMillisecond);
  f.network.spike_latency(5 * kMillisecond, 10 * kMillisecond);
  // Sent at 1 ms: the spike alone says 6.1 ms, the clog holds it to 8 ms.
  EXPECT_EQ(f.send(f.a, f.b, 1 * kMillisecond), 8 * kMillisecond);
  // Sent at 4 ms: the spike (9.1 ms) outlasts the clog; the extra counts from the send, not the release.
  EXPECT_EQ(f.send(f.a, f.b, 4 * kMillisecond), 9 * kMillisecond + kRemote);
  EXPECT_EQ(f.faults,
            (std::vector<std::string>{"clog p1->p2 until 8000000ns", "latency +5000000ns until 10000000ns"}));
}

TEST(Network, ASpikeDrawsNothingExtraFromTheRng) {
  // Same seed with and without a spike: every delivery is exactly `extra` later, so the spike
  // shifted no draw (jitter on, FIFO off so that no arrival is pushed by another).
  NetworkOptions options{.jitter_ns = 50 * kMicrosecond, .fifo_links = false};
  SpikeFixture plain(options);
  SpikeFixture spiked(options);
  spiked.network.spike_latency(3 * kMillisecond, kSecond);
  for (int i = 0; i < 100; ++i) {
    const Nanos now = i * kMicrosecond;
    ASSERT_EQ(spiked.send(spiked.a, spiked.b, now) - plain.send(plain.a, plain.b, now), 3 * kMillisecond) << i;
  }
}

TEST(Network, ASpikeIsSeenByAWorldRunAndTracedAsAFault) {
  Fixture f(1, {.jitter_ns = 0});
  f.world.network().spike_latency(2 * kMillisecond, kMillisecond);
  f.run(f.a, [&] {
    f.world.send(f.a, f.b, "slow");
    f.world.send(f.a, f.c, "slow local");
  });
  ASSERT_EQ(f.arrivals[1].size(), 1u);
  EXPECT_EQ(f.arrivals[1][0].time, kRemote + 2 * kMillisecond);
  ASSERT_EQ(f.arrivals[2].size(), 1u);
  EXPECT_EQ(f.arrivals[2][0].time, kLocal + 2 * kMillisecond);
  EXPECT_EQ(f.details(TraceKind::kFault), (std::vector<std::string>{"latency +2000000ns until 1000000ns"}));
}

}  // namespace
}  // namespace troupe::sim
