// ChildProcess and ChildWatcher against real processes (/bin/sh, /bin/cat, /bin/sleep, ...).
//
// The die-with-parent tests re-execute this test binary as an intermediate parent: when
// TROUPE_CHILD_PROCESS_TEST_HELPER is set, a static initializer runs the helper before GoogleTest
// starts (see run_helper_if_asked). The test process makes itself a child subreaper so that the
// orphaned grandchild is re-parented to it and its exact end can be read with waitpid.
#include "runtime/cluster/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"

namespace troupe::cluster {
namespace {

using std::chrono::milliseconds;

constexpr char kHelperEnv[] = "TROUPE_CHILD_PROCESS_TEST_HELPER";
constexpr auto kDeadline = std::chrono::seconds(10);  // for polls: far beyond what a run needs

// Helper mode: spawn `/bin/sleep 1000` (with or without die_with_parent), print its pid, then wait
// to be killed.
[[noreturn]] void run_helper(const std::string& mode) {
  absl::StatusOr<ChildProcess> grandchild = ChildProcess::spawn(
      {.executable = "/bin/sleep", .args = {"1000"}, .die_with_parent = mode == "die-with-parent"});
  if (!grandchild.ok()) _exit(50);
  const std::string line = fmt::format("{}\n", grandchild->pid());
  if (::write(1, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(51);
  while (true) ::pause();
}

const bool kHelperChecked = [] {
  if (const char* mode = ::getenv(kHelperEnv)) run_helper(mode);
  return true;
}();

std::string temp_path(const std::string& name) {
  static std::atomic<int> counter{0};
  return fmt::format("{}/child_process_test_{}_{}_{}", ::testing::TempDir(), ::getpid(), counter++, name);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

ChildProcess spawn_ok(const ChildOptions& options) {
  absl::StatusOr<ChildProcess> child = ChildProcess::spawn(options);
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) std::abort();
  return *std::move(child);
}

ChildOptions shell(const std::string& script) { return {.executable = "/bin/sh", .args = {"-c", script}}; }

// Neither running nor a zombie: reaped, and not a child of this process any more.
void expect_gone(pid_t pid) {
  errno = 0;
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  errno = 0;
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

// A payload whose every byte depends on its position, so a lost or reordered chunk shows.
std::string patterned(size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + i / 4096) & 0xff);
  return bytes;
}

TEST(ChildProcess, ExitCodesAreDescribedExactly) {
  EXPECT_EQ(spawn_ok({.executable = "/bin/true"}).wait(), "exited normally");
  EXPECT_EQ(spawn_ok({.executable = "/bin/false"}).wait(), "exited with code 1");
  EXPECT_EQ(spawn_ok(shell("exit 3")).wait(), "exited with code 3");
  EXPECT_EQ(spawn_ok(shell("exit 255")).wait(), "exited with code 255");
}

TEST(ChildProcess, DeathBySignalNamesTheSignal) {
  EXPECT_EQ(spawn_ok(shell("kill -TERM $$")).wait(), "killed by signal 15 (SIGTERM)");
  EXPECT_EQ(spawn_ok(shell("kill -USR1 $$")).wait(), "killed by signal 10 (SIGUSR1)");
  EXPECT_EQ(spawn_ok(shell("kill -KILL $$")).wait(), "killed by signal 9 (SIGKILL)");
}

TEST(ChildProcess, DescribeWaitStatusCoversEveryShape) {
  EXPECT_EQ(describe_wait_status(0), "exited normally");
  EXPECT_EQ(describe_wait_status(7 << 8), "exited with code 7");
  EXPECT_EQ(describe_wait_status(SIGSEGV), "killed by signal 11 (SIGSEGV)");
  EXPECT_EQ(describe_wait_status(SIGSEGV | 0x80), "killed by signal 11 (SIGSEGV)");  // core dumped
  EXPECT_EQ(describe_wait_status(SIGRTMIN + 2), fmt::format("killed by signal {}", SIGRTMIN + 2));
}

TEST(ChildProcess, KillThenWaitSaysSigkillAndEveryLaterCallAgrees) {
  ChildProcess child = spawn_ok({.executable = "/bin/sleep", .args = {"1000"}});
  EXPECT_EQ(child.try_wait(), std::nullopt);
  EXPECT_EQ(child.wait_for(milliseconds(30)), std::nullopt);
  child.kill();
  EXPECT_EQ(child.wait(), "killed by signal 9 (SIGKILL)");
  EXPECT_EQ(child.wait(), "killed by signal 9 (SIGKILL)");
  EXPECT_EQ(child.try_wait(), "killed by signal 9 (SIGKILL)");
  EXPECT_EQ(child.wait_for(milliseconds(0)), "killed by signal 9 (SIGKILL)");
  child.kill();  // reaped: a no-op
  child.terminate();
  expect_gone(child.pid());
}

TEST(ChildProcess, TerminateSendsSigterm) {
  ChildProcess child = spawn_ok({.executable = "/bin/sleep", .args = {"1000"}});
  child.terminate();
  EXPECT_EQ(child.wait(), "killed by signal 15 (SIGTERM)");
}

TEST(ChildProcess, WaitForReturnsOnceTheChildEnds) {
  ChildProcess child = spawn_ok(shell("sleep 0.05"));
  EXPECT_EQ(child.wait_for(std::chrono::duration_cast<milliseconds>(kDeadline)), "exited normally");
}

TEST(ChildProcess, KillFromAnotherThreadWakesABlockedWait) {
  ChildProcess child = spawn_ok({.executable = "/bin/sleep", .args = {"1000"}});
  std::string seen;
  std::thread waiter([&] { seen = child.wait(); });
  child.kill();
  waiter.join();
  EXPECT_EQ(seen, "killed by signal 9 (SIGKILL)");
}

TEST(ChildProcess, StdinBytesReachTheChild) {
  const std::string path = temp_path("stdin");
  EXPECT_EQ(spawn_ok({.executable = "/bin/sh", .args = {"-c", "cat > \"$0\"", path}, .stdin_bytes = "hello\0world"})
                .wait(),
            "exited normally");
  EXPECT_EQ(read_file(path), "hello");  // the literal stops at the NUL
  const std::string with_nul("a\0b\n", 4);
  EXPECT_EQ(spawn_ok({.executable = "/bin/sh", .args = {"-c", "cat > \"$0\"", path}, .stdin_bytes = with_nul}).wait(),
            "exited normally");
  EXPECT_EQ(read_file(path), with_nul);
}

TEST(ChildProcess, LargeStdinPayloadsArriveWhole) {
  // 1 MiB fits the enlarged pipe; 8 MiB needs writing while the child reads.
  for (size_t size : {size_t{1} << 20, size_t{8} << 20}) {
    const std::string path = temp_path("stdin_large");
    const std::string payload = patterned(size);
    ChildProcess child = spawn_ok({.executable = "/bin/sh", .args = {"-c", "cat > \"$0\"", path}, .stdin_bytes = payload});
    EXPECT_EQ(child.wait(), "exited normally") << size;
    const std::string received = read_file(path);
    EXPECT_EQ(received.size(), size);
    EXPECT_TRUE(received == payload) << size;
  }
}

TEST(ChildProcess, AChildThatIgnoresItsStdinDoesNotBreakTheParent) {
  // The child exits without reading 8 MiB: the parent's write meets a closed pipe (EPIPE) and
  // must neither block nor die of SIGPIPE.
  ChildProcess child = spawn_ok({.executable = "/bin/true", .stdin_bytes = patterned(size_t{8} << 20)});
  EXPECT_EQ(child.wait(), "exited normally");
}

TEST(ChildProcess, EmptyStdinIsDevNull) {
  const std::string path = temp_path("devnull");
  EXPECT_EQ(spawn_ok({.executable = "/bin/sh", .args = {"-c", "cat > \"$0\"; readlink /proc/self/fd/0 >> \"$0\"", path}})
                .wait(),
            "exited normally");
  EXPECT_EQ(read_file(path), "/dev/null\n");
}

TEST(ChildProcess, EnvironmentReachesTheChildOnTopOfTheParents) {
  ::setenv("TROUPE_TEST_INHERITED", "from parent", 1);
  ::setenv("TROUPE_TEST_REPLACED", "parent value", 1);
  const std::string path = temp_path("env");
  ChildOptions options = shell(
      "printf '%s|%s|%s' \"$TROUPE_TEST_INHERITED\" \"$TROUPE_TEST_REPLACED\" \"$TROUPE_TEST_ADDED\" > " + path);
  options.env = {{"TROUPE_TEST_REPLACED", "child value"}, {"TROUPE_TEST_ADDED", "a=b c"}};
  EXPECT_EQ(spawn_ok(options).wait(), "exited normally");
  EXPECT_EQ(read_file(path), "from parent|child value|a=b c");
  ::unsetenv("TROUPE_TEST_INHERITED");
  ::unsetenv("TROUPE_TEST_REPLACED");
}

TEST(ChildProcess, OutputPathReceivesStdoutAndStderrAppended) {
  const std::string path = temp_path("output");
  write_file(path, "before\n");
  ChildOptions options = shell("echo out; echo err >&2; echo out2");
  options.output_path = path;
  EXPECT_EQ(spawn_ok(options).wait(), "exited normally");
  EXPECT_EQ(spawn_ok(options).wait(), "exited normally");
  EXPECT_EQ(read_file(path), "before\nout\nerr\nout2\nout\nerr\nout2\n");
}

TEST(ChildProcess, OutputPathThatCannotBeOpenedIsAnErrorNamingIt) {
  const std::string path = temp_path("no_such_directory") + "/out.log";
  absl::StatusOr<ChildProcess> child = ChildProcess::spawn({.executable = "/bin/true", .output_path = path});
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(child.status().message(),
            fmt::format("cannot open {} for the child's output: No such file or directory", path));
}

TEST(ChildProcess, MissingExecutableIsNotFoundNamingItAndLeavesNoChild) {
  const std::string path = temp_path("does_not_exist");
  absl::StatusOr<ChildProcess> child = ChildProcess::spawn({.executable = path});
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(child.status().message(), fmt::format("cannot execute {}: No such file or directory", path));
  // The failed child was reaped inside spawn(): this process has no child at all.
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(ChildProcess, ThereIsNoPathSearch) {
  absl::StatusOr<ChildProcess> child = ChildProcess::spawn({.executable = "true"});
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(child.status().message(), "cannot execute true: No such file or directory");
}

TEST(ChildProcess, NonExecutableFileIsPermissionDenied) {
  const std::string path = temp_path("not_executable");
  write_file(path, "#!/bin/sh\nexit 0\n");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  absl::StatusOr<ChildProcess> child = ChildProcess::spawn({.executable = path});
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(child.status().message(), fmt::format("cannot execute {}: Permission denied", path));
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(ChildProcess, OnlyStdinStdoutAndStderrReachTheChild) {
  // Descriptors opened WITHOUT O_CLOEXEC by someone else in the process.
  const int leaky_file = ::open("/dev/null", O_RDONLY);
  int leaky_pipe[2];
  ASSERT_GE(leaky_file, 0);
  ASSERT_EQ(::pipe(leaky_pipe), 0);
  const std::string path = temp_path("fds");
  // ls itself opens /proc/self/fd as 3 to list it.
  ChildProcess child = spawn_ok({.executable = "/bin/ls", .args = {"/proc/self/fd"}, .stdin_bytes = "x", .output_path = path});
  EXPECT_EQ(child.wait(), "exited normally");
  EXPECT_EQ(read_file(path), "0\n1\n2\n3\n");
  ::close(leaky_file);
  ::close(leaky_pipe[0]);
  ::close(leaky_pipe[1]);
}

TEST(ChildProcess, DestroyingAnUnreapedChildKillsAndReapsIt) {
  pid_t pid = 0;
  {
    ChildProcess child = spawn_ok({.executable = "/bin/sleep", .args = {"1000"}});
    pid = child.pid();
    ASSERT_EQ(::kill(pid, 0), 0);
  }
  expect_gone(pid);
}

TEST(ChildProcess, MovingTransfersOwnershipAndAssignmentEndsTheOldChild) {
  ChildProcess first = spawn_ok({.executable = "/bin/sleep", .args = {"1000"}});
  const pid_t first_pid = first.pid();
  ChildProcess moved(std::move(first));
  EXPECT_EQ(moved.pid(), first_pid);
  ASSERT_EQ(::kill(first_pid, 0), 0);  // the moved-from object did not end it

  ChildProcess second = spawn_ok({.executable = "/bin/sleep", .args = {"1000"}});
  const pid_t second_pid = second.pid();
  moved = std::move(second);
  expect_gone(first_pid);
  EXPECT_EQ(moved.pid(), second_pid);
  moved.kill();
  EXPECT_EQ(moved.wait(), "killed by signal 9 (SIGKILL)");
}

// Makes this process the subreaper of its descendants for the scope, so an orphaned grandchild
// becomes our child.
class Subreaper {
 public:
  Subreaper() { EXPECT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0); }
  ~Subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 0); }
};

std::string self_executable() {
  char buffer[4096];
  const ssize_t length = ::readlink("/proc/self/exe", buffer, sizeof buffer);
  EXPECT_GT(length, 0);
  return std::string(buffer, static_cast<size_t>(length));
}

// Starts the helper, returns it and the pid of the grandchild it started.
std::pair<ChildProcess, pid_t> spawn_helper(const std::string& mode) {
  const std::string path = temp_path("helper");
  ChildProcess helper = spawn_ok({.executable = self_executable(), .env = {{kHelperEnv, mode}}, .output_path = path});
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  std::string line;
  while (std::chrono::steady_clock::now() < deadline) {
    line = read_file(path);
    if (!line.empty() && line.back() == '\n') break;
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ(helper.try_wait(), std::nullopt);
  EXPECT_TRUE(!line.empty() && line.back() == '\n') << "helper printed '" << line << "'";
  return {std::move(helper), static_cast<pid_t>(std::stol(line))};
}

// Polls waitpid(pid) until it ends or the deadline passes (then kills it, to leave nothing behind).
std::string wait_for_adopted(pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const pid_t result = ::waitpid(pid, &status, WNOHANG);
    if (result == pid) return describe_wait_status(status);
    EXPECT_EQ(result, 0) << "waitpid: " << errno;
    if (result != 0) return "not our child";
    std::this_thread::sleep_for(milliseconds(5));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return "still running at the deadline";
}

TEST(ChildProcessDieWithParent, GrandchildIsKilledWhenItsParentIsKilled) {
  Subreaper subreaper;
  auto [helper, grandchild] = spawn_helper("die-with-parent");
  ASSERT_EQ(::kill(grandchild, 0), 0);
  helper.kill();
  EXPECT_EQ(helper.wait(), "killed by signal 9 (SIGKILL)");
  EXPECT_EQ(wait_for_adopted(grandchild), "killed by signal 9 (SIGKILL)");
  expect_gone(grandchild);
}

TEST(ChildProcessDieWithParent, WithoutItTheGrandchildOutlivesItsParent) {
  Subreaper subreaper;
  auto [helper, grandchild] = spawn_helper("outlive-parent");
  helper.kill();
  EXPECT_EQ(helper.wait(), "killed by signal 9 (SIGKILL)");
  // Still running after its parent was reaped: only our SIGTERM ends it.
  EXPECT_EQ(::waitpid(grandchild, nullptr, WNOHANG), 0);
  ASSERT_EQ(::kill(grandchild, SIGTERM), 0);
  EXPECT_EQ(wait_for_adopted(grandchild), "killed by signal 15 (SIGTERM)");
}

// Runs `body` on a new thread and returns once that thread has fully exited (its task is gone from
// /proc/self/task): by then Linux has sent PR_SET_PDEATHSIG to the children it forked.
template <typename Body>
void run_on_ended_thread(Body body) {
  std::atomic<pid_t> tid{0};
  std::thread thread([&] {
    tid = ::gettid();
    body();
  });
  thread.join();
  const std::string task = fmt::format("/proc/self/task/{}", tid.load());
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (::access(task.c_str(), F_OK) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_NE(::access(task.c_str(), F_OK), 0) << task << " still exists";
}

TEST(ChildProcessDieWithParent, TheParentIsTheSpawningThread) {
  // The documented caveat: the child dies with the thread that forked it, not with the process.
  std::optional<ChildProcess> child;
  run_on_ended_thread([&] { child = spawn_ok({.executable = "/bin/sleep", .args = {"1000"}}); });
  EXPECT_EQ(child->wait_for(std::chrono::duration_cast<milliseconds>(kDeadline)), "killed by signal 9 (SIGKILL)");
}

// Collects on_exit reports and lets a test wait for a number of them.
class Reports {
 public:
  ChildWatcher::OnExit callback() {
    return [this](pid_t pid, const std::string& how) {
      std::lock_guard lock(mutex_);
      by_pid_[pid] = how;
      ++count_;
      changed_.notify_all();
    };
  }
  bool wait_for_count(size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kDeadline, [&] { return count_ >= count; });
  }
  std::map<pid_t, std::string> by_pid() {
    std::lock_guard lock(mutex_);
    return by_pid_;
  }
  size_t count() {
    std::lock_guard lock(mutex_);
    return count_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<pid_t, std::string> by_pid_;
  size_t count_ = 0;
};

TEST(ChildWatcher, ReportsHowEachChildEnded) {
  Reports reports;
  ChildWatcher watcher(reports.callback());
  const pid_t normal = *watcher.spawn({.executable = "/bin/true"});
  const pid_t code = *watcher.spawn(shell("exit 3"));
  const pid_t signalled = *watcher.spawn(shell("kill -TERM $$"));
  const pid_t killed = *watcher.spawn({.executable = "/bin/sleep", .args = {"1000"}});
  const pid_t terminated = *watcher.add(spawn_ok({.executable = "/bin/sleep", .args = {"1000"}}));
  EXPECT_TRUE(watcher.kill(killed));
  EXPECT_TRUE(watcher.terminate(terminated));
  ASSERT_TRUE(reports.wait_for_count(5));
  const std::map<pid_t, std::string> expected = {{normal, "exited normally"},
                                                 {code, "exited with code 3"},
                                                 {signalled, "killed by signal 15 (SIGTERM)"},
                                                 {killed, "killed by signal 9 (SIGKILL)"},
                                                 {terminated, "killed by signal 15 (SIGTERM)"}};
  EXPECT_EQ(reports.by_pid(), expected);
  EXPECT_EQ(watcher.live_count(), 0u);
  EXPECT_FALSE(watcher.kill(killed));
  for (const auto& [pid, how] : expected) expect_gone(pid);
}

TEST(ChildWatcher, SpawnErrorsComeBackAndNothingIsWatched) {
  Reports reports;
  ChildWatcher watcher(reports.callback());
  absl::StatusOr<pid_t> pid = watcher.spawn({.executable = "/nonexistent/worker"});
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(pid.status().message(), "cannot execute /nonexistent/worker: No such file or directory");
  EXPECT_EQ(watcher.live_count(), 0u);
}

TEST(ChildWatcher, DestructionKillsAndReapsLiveChildrenWithoutReporting) {
  Reports reports;
  std::vector<pid_t> pids;
  {
    ChildWatcher watcher(reports.callback());
    for (int i = 0; i < 3; ++i) pids.push_back(*watcher.spawn({.executable = "/bin/sleep", .args = {"1000"}}));
    EXPECT_EQ(watcher.live_count(), 3u);
  }
  for (pid_t pid : pids) expect_gone(pid);
  EXPECT_EQ(reports.count(), 0u);
}

TEST(ChildWatcher, OnExitMayRestartAChild) {
  // A node daemon's restart: the callback spawns a replacement from the watching thread.
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> ends;
  ChildWatcher* watcher_pointer = nullptr;
  ChildWatcher watcher([&](pid_t pid, const std::string& how) {
    std::lock_guard lock(mutex);
    ends.push_back(how);
    if (ends.size() < 3) {
      EXPECT_TRUE(watcher_pointer->spawn(shell(fmt::format("exit {}", ends.size()))).ok());
    }
    changed.notify_all();
  });
  {
    std::lock_guard lock(mutex);
    watcher_pointer = &watcher;
  }
  ASSERT_TRUE(watcher.spawn(shell("exit 7")).ok());
  std::unique_lock lock(mutex);
  ASSERT_TRUE(changed.wait_for(lock, kDeadline, [&] { return ends.size() == 3; }));
  EXPECT_EQ(ends, (std::vector<std::string>{"exited with code 7", "exited with code 1", "exited with code 2"}));
}

TEST(ChildWatcher, ChildrenSpawnedFromAThreadThatEndsLiveOn) {
  // spawn() forks on the watcher's spawner thread, so the asking thread's end does not kill the
  // child (contrast ChildProcessDieWithParent.TheParentIsTheSpawningThread).
  Reports reports;
  ChildWatcher watcher(reports.callback());
  const std::string go = temp_path("go");
  pid_t pid = 0;
  run_on_ended_thread([&] {
    pid = *watcher.spawn(shell(fmt::format("while [ ! -e {} ]; do sleep 0.01; done; exit 4", go)));
  });
  EXPECT_EQ(watcher.live_count(), 1u);
  write_file(go, "");
  ASSERT_TRUE(reports.wait_for_count(1));
  EXPECT_EQ(reports.by_pid(), (std::map<pid_t, std::string>{{pid, "exited with code 4"}}));
}

}  // namespace
}  // namespace troupe::cluster
