// The cluster platform for real: a head and node daemons as separate OS processes, each actor in
// a worker process of its own. The parity suite (issue 8, acceptance 1) checks the semantics the
// simulator's tests check — restart and retry counts, ActorDiedError against
// ActorUnavailableError, per-caller ordering, named and detached actors across two drivers — on
// it; the security test (acceptance 4) sends a real head garbage, a huge length prefix and a
// wrong token while a driver works; and every test ends by checking that no process of its
// cluster is left (acceptance 3).
//
// This binary is its own head, node daemons and workers (runtime/cluster/cluster_main.h), so
// its main() starts with run_cluster_role_if_asked().
#include <dirent.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <utility>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "boost/asio.hpp"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "runtime/cluster/cluster_main.h"
#include "runtime/cluster/cluster_platform.h"
#include "runtime/cluster/cluster_wire.h"
#include "runtime/cluster/local_cluster.h"
#include "runtime/net/frame.h"
#include "runtime/net/link.h"
#include "runtime/troupe.h"

namespace troupe::cluster {
namespace {

// ---- Actors --------------------------------------------------------------------------------------

class Counter {
 public:
  int increment() { return ++value_; }
  int value() const { return value_; }
  // The OS process it runs in, to show that each actor has its own.
  int pid() const { return static_cast<int>(getpid()); }
  // A real process death, mid-call.
  int crash() {
    this_actor::crash();
    return -1;
  }
  int restarts() const { return this_actor::restart_count(); }
  int node() const { return static_cast<int>(this_actor::node().value); }
  std::string cuda_devices() const { return std::getenv("CUDA_VISIBLE_DEVICES") ? std::getenv("CUDA_VISIBLE_DEVICES") : "(unset)"; }

 private:
  int value_ = 0;
};
TROUPE_ACTOR(Counter, &Counter::increment, &Counter::value, &Counter::pid, &Counter::crash, &Counter::restarts,
             &Counter::node, &Counter::cuda_devices);

// Crashes on the first attempt of every call until it has restarted `crashes` times.
class Flaky {
 public:
  explicit Flaky(int crashes) : crashes_(crashes) {}
  int work() {
    if (this_actor::restart_count() < crashes_) this_actor::crash();
    return this_actor::restart_count();
  }

 private:
  int crashes_;
};
TROUPE_ACTOR(Flaky, &Flaky::work);

// ---- Helpers ------------------------------------------------------------------------------------

std::string temp_log() {
  char path[] = "/tmp/troupe-cluster-test-XXXXXX";
  const int fd = mkstemp(path);
  if (fd >= 0) close(fd);
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The parent of process `pid`, or 0.
int parent_of(const std::string& pid) {
  const std::string status = read_file("/proc/" + pid + "/status");
  const size_t at = status.find("PPid:\t");
  return at == std::string::npos ? 0 : std::atoi(status.c_str() + at + 6);
}

// Processes of clusters still running: those whose command line names a cluster role
// (LocalCluster and NodeAgent put "troupe-head", "troupe-node" or "troupe-worker:pN" in argv[1]).
// With `mine`, only descendants of this process: ctest runs tests side by side, and this process
// is a child subreaper (see main), so even an orphaned worker of its clusters stays its
// descendant.
std::vector<std::string> cluster_processes(bool mine = true) {
  std::vector<std::string> found;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return found;
  const int self = static_cast<int>(getpid());
  while (dirent* entry = readdir(proc)) {
    const std::string pid = entry->d_name;
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_file("/proc/" + pid + "/cmdline");
    for (char& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    if (!absl::StrContains(cmdline, " troupe-head") && !absl::StrContains(cmdline, " troupe-node") &&
        !absl::StrContains(cmdline, " troupe-worker:")) {
      continue;
    }
    if (absl::StrContains(read_file("/proc/" + pid + "/status"), "State:\tZ")) continue;  // not running
    if (mine) {
      int ancestor = parent_of(pid);
      for (int depth = 0; depth < 16 && ancestor > 1 && ancestor != self; ++depth) {
        ancestor = parent_of(std::to_string(ancestor));
      }
      if (ancestor != self) continue;
    }
    found.push_back(pid + ": " + cmdline);
  }
  closedir(proc);
  return found;
}

// Waits up to 5 s for every cluster process (of this process, or anyone's) to be gone.
std::vector<std::string> leftovers(bool mine = true) {
  std::vector<std::string> left;
  for (int i = 0; i < 500; ++i) {
    left = cluster_processes(mine);
    if (left.empty()) return left;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return left;
}

// A local cluster: a head with `head_cpus`, and `nodes` nodes of 4 CPUs, logs in a file.
struct TestCluster {
  std::string log = temp_log();
  std::unique_ptr<LocalCluster> cluster;

  explicit TestCluster(int nodes = 2, double head_cpus = 4) {
    LocalClusterOptions options{.log_path = log};
    options.nodes.push_back({.name = "head", .cpus = head_cpus, .memory_bytes = int64_t{8} << 30});
    for (int i = 1; i <= nodes; ++i) {
      options.nodes.push_back({.name = fmt::format("node{}", i), .cpus = 4, .memory_bytes = int64_t{8} << 30,
                               .gpus = i == 1 ? 2 : 0});
    }
    absl::StatusOr<std::unique_ptr<LocalCluster>> started = LocalCluster::start(options);
    EXPECT_TRUE(started.ok()) << started.status();
    if (started.ok()) cluster = std::move(*started);
  }
  ~TestCluster() { std::remove(log.c_str()); }

  // Runs `driver` as a driver of this cluster; its status.
  absl::Status drive(absl::AnyInvocable<void(System&)> driver, size_t min_nodes = 3) {
    absl::StatusOr<std::unique_ptr<ClusterPlatform>> platform = ClusterPlatform::join_as_driver(
        {.host = cluster->host(), .port = cluster->port(), .token = cluster->token(), .deadline = 60 * kSecond},
        self_executable(), min_nodes, 10 * kSecond);
    if (!platform.ok()) return platform.status();
    return run_cluster_driver(**platform, std::move(driver));
  }
};

// ---- Parity: the semantics of the fault-injection issue, on real processes -----------------------

TEST(ClusterParity, EachActorRunsInAWorkerProcessOfItsOwnAndCallsFromOneCallerStayInOrder) {
  std::vector<std::string> before = cluster_processes();
  ASSERT_TRUE(before.empty()) << "cluster processes from elsewhere are running: " << before.front();
  {
    TestCluster cluster;
    ASSERT_NE(cluster.cluster, nullptr);
    EXPECT_EQ(cluster_processes().size(), 3u) << "the head and two node daemons, seen by the leftover check";
    absl::Status status = cluster.drive([](System& sys) {
      ActorHandle<Counter> a = sys.spawn<Counter>();
      ActorHandle<Counter> b = sys.spawn<Counter>();
      const int pid_a = sys.get(a.call(&Counter::pid));
      const int pid_b = sys.get(b.call(&Counter::pid));
      EXPECT_NE(pid_a, pid_b);
      EXPECT_NE(pid_a, static_cast<int>(getpid()));
      // 500 calls in flight at once, from one caller: answered in submission order.
      std::vector<Ref<int>> refs;
      for (int i = 0; i < 500; ++i) refs.push_back(a.call(&Counter::increment));
      std::vector<int> values = sys.get(refs);
      for (int i = 0; i < 500; ++i) ASSERT_EQ(values[static_cast<size_t>(i)], i + 1);
      EXPECT_EQ(sys.get(a.call(&Counter::value)), 500);
      EXPECT_EQ(sys.get(b.call(&Counter::value)), 0);
    });
    EXPECT_TRUE(status.ok()) << status << "\n" << read_file(cluster.log);
  }
  EXPECT_EQ(leftovers(), std::vector<std::string>{});
}

// ---- Direct links: a caller's messages to a worker skip the head ---------------------------------

// Runs `driver` as a driver with or without direct links; `after` sees the platform once the
// driver function has returned.
absl::Status drive_with(TestCluster& cluster, bool direct_links, absl::AnyInvocable<void(System&)> driver,
                        absl::AnyInvocable<void(ClusterPlatform&)> after) {
  absl::StatusOr<std::unique_ptr<ClusterPlatform>> platform = ClusterPlatform::join_as_driver(
      {.host = cluster.cluster->host(), .port = cluster.cluster->port(), .token = cluster.cluster->token(),
       .deadline = 60 * kSecond, .direct_links = direct_links},
      self_executable(), 1, 10 * kSecond);
  if (!platform.ok()) return platform.status();
  absl::Status status = run_cluster_driver(**platform, std::move(driver));
  after(**platform);
  return status;
}

TEST(ClusterDirectLinks, CallsInFlightWhileTheCallerSwitchesToADirectLinkStayInOrder) {
  {
    TestCluster cluster(0);
    ASSERT_NE(cluster.cluster, nullptr);
    for (const bool direct : {true, false}) {
      SCOPED_TRACE(direct ? "with direct links" : "through the head only");
      absl::Status status = drive_with(
          cluster, direct,
          [&](System& sys) {
            ActorHandle<Counter> counter = sys.spawn<Counter>();
            // The first calls go through the head while the driver finds and opens the direct link;
            // the later ones go on it. All 3000 answer in submission order.
            std::vector<Ref<int>> refs;
            for (int i = 0; i < 3000; ++i) refs.push_back(counter.call(&Counter::increment));
            std::vector<int> values = sys.get(refs);
            for (int i = 0; i < 3000; ++i) ASSERT_EQ(values[static_cast<size_t>(i)], i + 1);
            // Synchronous calls after the switch, both ways on the direct link.
            for (int i = 1; i <= 100; ++i) ASSERT_EQ(sys.get(counter.call(&Counter::increment)), 3000 + i);
          },
          [&](ClusterPlatform& platform) {
            // The one worker, on a direct link; none without them.
            EXPECT_EQ(platform.direct_peers().size(), direct ? 1u : 0u);
          });
      EXPECT_TRUE(status.ok()) << status << "\n" << read_file(cluster.log);
    }
  }
  EXPECT_EQ(leftovers(), std::vector<std::string>{});
}

TEST(ClusterDirectLinks, RepliesSentDirectlyBeforeACrashArriveBeforeTheNewsOfTheCrash) {
  {
    TestCluster cluster(0);
    ASSERT_NE(cluster.cluster, nullptr);
    absl::Status status = cluster.drive(
        [](System& sys) {
          for (int round = 0; round < 5; ++round) {
            ActorHandle<Counter> counter = sys.spawn<Counter>();
            ASSERT_EQ(sys.get(counter.call(&Counter::increment)), 1);  // the direct link opens
            // 300 calls and then a crash, all in flight: the worker answers the 300 directly and
            // then dies; the head tells the driver only after the driver has taken the answers in.
            std::vector<Ref<int>> refs;
            for (int i = 0; i < 300; ++i) refs.push_back(counter.call(&Counter::increment));
            Ref<int> crash = counter.call(&Counter::crash);
            std::vector<int> values = sys.get(refs);
            for (int i = 0; i < 300; ++i) ASSERT_EQ(values[static_cast<size_t>(i)], i + 2) << "round " << round;
            EXPECT_THROW(sys.get(crash), ActorDiedError);
          }
        },
        1);
    EXPECT_TRUE(status.ok()) << status << "\n" << read_file(cluster.log);
  }
  EXPECT_EQ(leftovers(), std::vector<std::string>{});
}

TEST(ClusterParity, RestartCountsAndTheDeathAfterTheLastRestart) {
  {
    TestCluster cluster;
    ASSERT_NE(cluster.cluster, nullptr);
    absl::Status status = cluster.drive([](System& sys) {
      ActorHandle<Counter> counter = sys.spawn<Counter>({.max_restarts = 2});
      const int first_pid = sys.get(counter.call(&Counter::pid));
      for (int restart = 1; restart <= 2; ++restart) {
        // No retries: the call that crashed the worker fails as unavailable (it may have run).
        EXPECT_THROW(sys.get(counter.call(&Counter::crash)), ActorUnavailableError);
        EXPECT_EQ(sys.get(counter.with({.max_task_retries = -1}).call(&Counter::restarts)), restart);
        EXPECT_EQ(sys.get(counter.call(&Counter::value)), 0) << "a restarted actor starts from its constructor";
      }
      EXPECT_NE(sys.get(counter.call(&Counter::pid)), first_pid) << "a restart is a new OS process";
      // The third crash uses up the restarts: from then on the actor is dead.
      EXPECT_THROW(sys.get(counter.call(&Counter::crash)), ActorDiedError);
      EXPECT_THROW(sys.get(counter.call(&Counter::value)), ActorDiedError);
    });
    EXPECT_TRUE(status.ok()) << status << "\n" << read_file(cluster.log);
  }
  EXPECT_EQ(leftovers(), std::vector<std::string>{});
}

TEST(ClusterParity, RetriesRerunACallOnTheRestartedActorAndAreCounted) {
  {
    TestCluster cluster;
    ASSERT_NE(cluster.cluster, nullptr);
    absl::Status status = cluster.drive([](System& sys) {
      // Crashes twice, then answers: two retries are enough, one is not.
      ActorHandle<Flaky> enough = sys.spawn<Flaky>({.max_restarts = -1, .max_task_retries = 2}, 2);
      EXPECT_EQ(sys.get(enough.call(&Flaky::work)), 2);
      ActorHandle<Flaky> short_of_one = sys.spawn<Flaky>({.max_restarts = -1, .max_task_retries = 1}, 2);
      EXPECT_THROW(sys.get(short_of_one.call(&Flaky::work)), ActorUnavailableError);
      // The actor itself lives on: its next call finds it restarted twice.
      EXPECT_EQ(sys.get(short_of_one.call(&Flaky::work)), 2);
      // Killed for good: ActorDiedError, not unavailable.
      sys.kill(enough);
      EXPECT_THROW(sys.get(enough.call(&Flaky::work)), ActorDiedError);
    });
    EXPECT_TRUE(status.ok()) << status << "\n" << read_file(cluster.log);
  }
  EXPECT_EQ(leftovers(), std::vector<std::string>{});
}

TEST(ClusterParity, NamedAndDetachedActorsOutliveTheirDriverAndServeTheNextOne) {
  {
    TestCluster cluster;
    ASSERT_NE(cluster.cluster, nullptr);
    absl::Status first = cluster.drive([](System& sys) {
      ActorHandle<Counter> kept = sys.spawn<Counter>({.name = "kept", .lifetime = Lifetime::kDetached});
      ActorHandle<Counter> owned = sys.spawn<Counter>({.name = "owned"});
      EXPECT_EQ(sys.get(kept.call(&Counter::increment)), 1);
      EXPECT_EQ(sys.get(owned.call(&Counter::increment)), 1);
      EXPECT_THROW(sys.spawn<Counter>({.name = "kept"}), ActorNameTakenError);
    });
    ASSERT_TRUE(first.ok()) << first << "\n" << read_file(cluster.log);
    // The first driver has gone: its owned actor died with it (fate-sharing), the detached one
    // lives on under its name.
    absl::Status second = cluster.drive([](System& sys) {
      std::optional<ActorHandle<Counter>> kept = sys.get_actor<Counter>("kept");
      ASSERT_TRUE(kept.has_value());
      EXPECT_EQ(sys.get(kept->call(&Counter::increment)), 2);
      for (int attempt = 0; attempt < 200 && sys.get_actor<Counter>("owned").has_value(); ++attempt) {
        troupe::sleep(std::chrono::milliseconds(10));  // the head hears of the first driver's end
      }
      EXPECT_FALSE(sys.get_actor<Counter>("owned").has_value());
      sys.kill(*kept);
    });
    EXPECT_TRUE(second.ok()) << second << "\n" << read_file(cluster.log);
  }
  EXPECT_EQ(leftovers(), std::vector<std::string>{});
}

TEST(ClusterParity, AWorkerSeesItsGpusAsCudaVisibleDevices) {
  {
    TestCluster cluster;
    ASSERT_NE(cluster.cluster, nullptr);
    absl::Status status = cluster.drive([](System& sys) {
      ActorHandle<Counter> on_gpu = sys.spawn<Counter>({.num_gpus = 1});
      ActorHandle<Counter> on_cpu = sys.spawn<Counter>();
      EXPECT_EQ(sys.get(on_gpu.call(&Counter::cuda_devices)), "0");
      EXPECT_EQ(sys.get(on_cpu.call(&Counter::cuda_devices)), "");
    });
    EXPECT_TRUE(status.ok()) << status << "\n" << read_file(cluster.log);
  }
  EXPECT_EQ(leftovers(), std::vector<std::string>{});
}

TEST(ClusterParity, AKilledNodeTakesItsWorkersAndTheirActorsRestartElsewhere) {
  {
    TestCluster cluster;
    ASSERT_NE(cluster.cluster, nullptr);
    LocalCluster& local = *cluster.cluster;
    absl::Status status = cluster.drive([&local](System& sys) {
      ActorHandle<Counter> counter = sys.spawn<Counter>(
          {.scheduling = NodeAffinity{.node = NodeId{1}, .soft = true}, .max_restarts = -1, .max_task_retries = -1});
      EXPECT_EQ(sys.get(counter.call(&Counter::increment)), 1);
      EXPECT_EQ(sys.get(counter.call(&Counter::node)), 1);
      const int old_pid = sys.get(counter.call(&Counter::pid));
      // kill -9 of node 1's daemon: its worker dies with it (PDEATHSIG), the head sees the node go,
      // and the actor restarts on another node; the retried call finds a fresh instance. (The
      // head may hear of the worker's end before its node's: a restart placed on node 1 in that
      // window is lost with the node too, as on any real cluster, hence at least one restart.)
      ASSERT_TRUE(local.kill_node(1));
      // The old worker may still answer until the kernel delivers its PDEATHSIG: wait for the head
      // to declare the node dead (this driver hears of it with the head's node list).
      auto node_one_alive = [&sys] { return sys.platform().nodes().at(1).alive; };
      for (int i = 0; i < 500 && node_one_alive(); ++i) troupe::sleep(std::chrono::milliseconds(10));
      ASSERT_FALSE(node_one_alive());
      EXPECT_EQ(sys.get(counter.call(&Counter::increment)), 1);
      EXPECT_NE(sys.get(counter.call(&Counter::pid)), old_pid);
      EXPECT_NE(sys.get(counter.call(&Counter::node)), 1);
      const int restarts = sys.get(counter.call(&Counter::restarts));
      EXPECT_TRUE(restarts == 1 || restarts == 2) << restarts;
      int alive = 0;
      for (const NodeInfo& node : sys.platform().nodes()) alive += node.alive ? 1 : 0;
      EXPECT_EQ(alive, 2);
    });
    EXPECT_TRUE(status.ok()) << status << "\n" << read_file(cluster.log);
  }
  EXPECT_EQ(leftovers(), std::vector<std::string>{});
}

// ---- Security: a real head refuses bad peers and keeps serving (acceptance 4) -------------------

// A raw TCP peer of the head: reads the challenge, sends `bytes`, reads until the head closes.
bool raw_peer_is_disconnected(uint16_t port, const std::string& bytes) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  if (!bytes.empty()) asio::write(socket, asio::buffer(bytes));
  std::vector<char> buffer(4096);
  boost::system::error_code error;
  while (!error) socket.read_some(asio::buffer(buffer), error);
  return error == asio::error::eof || error == asio::error::connection_reset;
}

TEST(ClusterSecurity, GarbageAHugeLengthAndAWrongTokenAreRefusedWhileADriverWorks) {
  {
    TestCluster cluster;
    ASSERT_NE(cluster.cluster, nullptr);
    const uint16_t port = cluster.cluster->port();
    std::atomic<bool> driver_busy{true};
    std::thread attackers([&] {
      while (driver_busy.load()) {
        EXPECT_TRUE(raw_peer_is_disconnected(port, "GET / HTTP/1.1\r\nHost: head\r\n\r\n"));
        EXPECT_TRUE(raw_peer_is_disconnected(port, std::string("\xff\xff\xff\xff", 4)));
        net::IoThread io;
        absl::StatusOr<net::LinkPtr> wrong = net::connect_link(io, "127.0.0.1", port, "not-the-token-of-this-cluster",
                                                               {.role = "driver", .name = "mallory"}, {});
        EXPECT_FALSE(wrong.ok());
        if (!wrong.ok()) {
          EXPECT_EQ(wrong.status().code(), absl::StatusCode::kUnavailable);
        }
      }
    });
    absl::Status status = cluster.drive([](System& sys) {
      ActorHandle<Counter> counter = sys.spawn<Counter>();
      for (int i = 1; i <= 2000; ++i) ASSERT_EQ(sys.get(counter.call(&Counter::increment)), i);
    });
    driver_busy = false;
    attackers.join();
    EXPECT_TRUE(status.ok()) << status;
    const std::string log = read_file(cluster.log);
    EXPECT_TRUE(absl::StrContains(log, ": frame of 1195725856 bytes exceeds the limit of 67108864 bytes")) << log;
    EXPECT_TRUE(absl::StrContains(log, ": frame of 4294967295 bytes exceeds the limit of 67108864 bytes")) << log;
    EXPECT_TRUE(absl::StrContains(log, ": authentication failed: driver 'mallory' does not know the cluster token"))
        << log;
  }
  EXPECT_EQ(leftovers(), std::vector<std::string>{});
}

// A peer with the token that says it is a worker the head is not starting (the directory, p1)
// is refused, and the head goes on serving: its refusal closes the link from inside the head's
// frame handler, which must not hold the head's lock then (the close calls back into the head).
TEST(ClusterSecurity, AWorkerReadyForAProcessThatIsNotAStartingWorkerIsRefusedAndTheHeadKeepsServing) {
  {
    TestCluster cluster;
    ASSERT_NE(cluster.cluster, nullptr);
    net::IoThread io;
    absl::StatusOr<net::LinkPtr> impostor =
        net::connect_link(io, "127.0.0.1", cluster.cluster->port(), cluster.cluster->token(),
                          {.role = "worker", .name = "p1"}, {});
    ASSERT_TRUE(impostor.ok()) << impostor.status();
    (*impostor)->send(encode_frame_body(Kind::kWorkerReady, WorkerReady{.process = 1}));
    for (int i = 0; i < 500 && !(*impostor)->closed(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE((*impostor)->closed());
    impostor->reset();
    absl::Status status = cluster.drive([](System& sys) {
      ActorHandle<Counter> counter = sys.spawn<Counter>();
      EXPECT_EQ(sys.get(counter.call(&Counter::increment)), 1);
    });
    EXPECT_TRUE(status.ok()) << status;
    const std::string log = read_file(cluster.log);
    EXPECT_TRUE(absl::StrContains(log, ": p1 is not a worker the head is starting")) << log;
  }
  EXPECT_EQ(leftovers(), std::vector<std::string>{});
}

// Run by ctest after every test that starts a cluster (a fixture cleanup): nothing of theirs
// may still run (acceptance 3).
TEST(ClusterLeftovers, NoClusterProcessRemainsAfterTheSuite) {
  EXPECT_EQ(leftovers(/*mine=*/false), std::vector<std::string>{});
}

}  // namespace
}  // namespace troupe::cluster

int main(int argc, char** argv) {
  if (std::optional<int> code = troupe::cluster::run_cluster_role_if_asked()) return *code;
  prctl(PR_SET_CHILD_SUBREAPER, 1);  // orphans of this test's clusters stay its descendants
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
