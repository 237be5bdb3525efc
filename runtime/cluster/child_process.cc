// See child_process.h. Between fork and execve the child only makes async-signal-safe system
// calls: everything it needs (argv, envp, descriptors) is prepared by the parent before fork.
#include "runtime/cluster/child_process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <cassert>
#include <cerrno>
#include <set>
#include <system_error>

#include "absl/status/status.h"
#include "fmt/format.h"

extern char** environ;

namespace troupe::cluster {
namespace {

// A descriptor closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    reset();
    fd_ = std::exchange(other.fd_, -1);
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// The descriptor moved to a number above 2 (close-on-exec), so the child's dup2 onto 0, 1 and 2
// never overwrites one it still needs. Only matters when the parent runs with 0, 1 or 2 closed.
Fd above_stdio(Fd fd) {
  if (fd.get() < 0 || fd.get() > 2) return fd;
  return Fd(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3));
}

absl::Status errno_status(int error, std::string_view what) {
  return absl::Status(absl::ErrnoToStatusCode(error), fmt::format("{}: {}", what, strerrordesc_np(error)));
}

// What the child reports through the close-on-exec pipe when a step before or at execve fails.
enum class ChildStep : int { kDup, kPdeathsig, kParentGone, kExec };
struct ChildFailure {
  ChildStep step;
  int error;
};

// Everything the child needs, prepared before fork so the child allocates nothing.
struct ExecPlan {
  std::vector<std::string> argv_storage;
  std::vector<std::string> envp_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
  int stdin_fd = -1;
  int output_fd = -1;  // -1: inherit 1 and 2
  int report_fd = -1;
  bool die_with_parent = true;
  pid_t parent = 0;
};

ExecPlan make_plan(const ChildOptions& options) {
  ExecPlan plan;
  plan.argv_storage.push_back(options.executable);
  plan.argv_storage.insert(plan.argv_storage.end(), options.args.begin(), options.args.end());
  std::set<std::string> overridden;
  for (const auto& [name, value] : options.env) overridden.insert(name);
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    std::string name(text.substr(0, text.find('=')));
    if (!overridden.contains(name)) plan.envp_storage.emplace_back(text);
  }
  for (const auto& [name, value] : options.env) plan.envp_storage.push_back(name + "=" + value);
  for (std::string& arg : plan.argv_storage) plan.argv.push_back(arg.data());
  plan.argv.push_back(nullptr);
  for (std::string& entry : plan.envp_storage) plan.envp.push_back(entry.data());
  plan.envp.push_back(nullptr);
  plan.die_with_parent = options.die_with_parent;
  plan.parent = ::getpid();
  return plan;
}

[[noreturn]] void child_fail(int report_fd, ChildStep step, int error) {
  ChildFailure failure{step, error};
  // Nothing to do if this write fails: the parent then sees exit code 127 without a report.
  ssize_t written = ::write(report_fd, &failure, sizeof failure);
  (void)written;
  ::_exit(127);
}

// Runs in the child after fork: async-signal-safe calls only.
[[noreturn]] void run_child(const ExecPlan& plan) {
  if (plan.die_with_parent) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(plan.report_fd, ChildStep::kPdeathsig, errno);
    // The parent may have died before prctl: then nobody would ever send the signal.
    if (::getppid() != plan.parent) child_fail(plan.report_fd, ChildStep::kParentGone, 0);
  }
  // Signal dispositions set to ignore and the blocked mask survive execve; a fresh program expects
  // neither.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int signal_number = 1; signal_number < NSIG; ++signal_number) {
    ::sigaction(signal_number, &default_action, nullptr);  // fails harmlessly for KILL, STOP, glibc's own
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  if (::dup2(plan.stdin_fd, 0) < 0) child_fail(plan.report_fd, ChildStep::kDup, errno);
  if (plan.output_fd >= 0) {
    if (::dup2(plan.output_fd, 1) < 0 || ::dup2(plan.output_fd, 2) < 0) {
      child_fail(plan.report_fd, ChildStep::kDup, errno);
    }
  }
  // Descriptors someone opened without O_CLOEXEC must not reach the program either. Marking
  // (rather than closing) keeps report_fd open until execve succeeds.
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    struct rlimit limit {};
    rlim_t highest = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur : 1024;
    highest = std::min<rlim_t>(highest, 1 << 20);
    for (rlim_t fd = 3; fd < highest; ++fd) ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
  }
  ::execve(plan.argv[0], plan.argv.data(), plan.envp.data());
  child_fail(plan.report_fd, ChildStep::kExec, errno);
}

// Writes `bytes` to `fd` (blocking) with SIGPIPE held back in this thread: a child that exits
// without reading its stdin must not kill the parent. Returns false on EPIPE.
void write_all_without_sigpipe(int fd, std::string_view bytes) {
  sigset_t pipe_only, previous;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &previous);
  sigset_t pending;
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  bool broken = false;
  while (!bytes.empty()) {
    ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) {
      broken = errno == EPIPE;
      break;
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
  if (broken && !was_pending) {
    // Consume the SIGPIPE this thread just raised before unblocking it.
    struct timespec zero {};
    while (sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

// The stdin pipe filled as far as it goes without blocking; `rest` is what must follow after fork.
struct StdinPipe {
  Fd read_end;
  Fd write_end;
  std::string_view rest;
};

absl::StatusOr<StdinPipe> prefill_stdin(std::string_view bytes) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_status(errno, "pipe2 for the child's stdin");
  StdinPipe pipe{Fd(fds[0]), Fd(fds[1]), bytes};
  // Failing to grow the pipe only means more is written after fork.
  ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(std::min(bytes.size(), kStdinPrefillBytesMax)));
  const int flags = ::fcntl(fds[1], F_GETFL);
  ::fcntl(fds[1], F_SETFL, flags | O_NONBLOCK);
  while (!pipe.rest.empty()) {
    ssize_t written = ::write(fds[1], pipe.rest.data(), pipe.rest.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) break;  // EAGAIN: full
    pipe.rest.remove_prefix(static_cast<size_t>(written));
  }
  ::fcntl(fds[1], F_SETFL, flags);
  return pipe;
}

absl::Status failure_status(const ChildFailure& failure, const std::string& executable) {
  switch (failure.step) {
    case ChildStep::kExec:
      return errno_status(failure.error, fmt::format("cannot execute {}", executable));
    case ChildStep::kDup:
      return errno_status(failure.error, fmt::format("dup2 in the child for {}", executable));
    case ChildStep::kPdeathsig:
      return errno_status(failure.error, fmt::format("prctl(PR_SET_PDEATHSIG) in the child for {}", executable));
    case ChildStep::kParentGone:
      return absl::AbortedError(fmt::format("the parent died while starting {}", executable));
  }
  return absl::InternalError(fmt::format("unknown failure report from the child for {}", executable));
}

pid_t waitpid_retrying(pid_t pid, int* status, int options) {
  pid_t result;
  do {
    result = ::waitpid(pid, status, options);
  } while (result < 0 && errno == EINTR);
  return result;
}

}  // namespace

std::string describe_wait_status(int wait_status) {
  if (WIFEXITED(wait_status)) {
    const int code = WEXITSTATUS(wait_status);
    return code == 0 ? "exited normally" : fmt::format("exited with code {}", code);
  }
  if (WIFSIGNALED(wait_status)) {
    const int signal_number = WTERMSIG(wait_status);
    const char* abbreviation = sigabbrev_np(signal_number);
    if (abbreviation == nullptr) return fmt::format("killed by signal {}", signal_number);
    return fmt::format("killed by signal {} (SIG{})", signal_number, abbreviation);
  }
  return fmt::format("unexpected wait status {:#x}", wait_status);
}

struct ChildProcess::State {
  pid_t pid = 0;
  std::mutex mutex;
  std::optional<std::string> how;  // GUARDED_BY(mutex): set once reaped

  // Reaps the child if it has ended. REQUIRES: mutex held.
  void reap_if_ended() {
    if (how.has_value()) return;
    int status = 0;
    const pid_t result = waitpid_retrying(pid, &status, WNOHANG);
    if (result == pid) {
      how = describe_wait_status(status);
    } else if (result < 0) {
      assert(errno == ECHILD);
      how = "exit status lost (reaped elsewhere)";
    }
  }
};

ChildProcess::ChildProcess(std::unique_ptr<State> state) : state_(std::move(state)) {}
ChildProcess::ChildProcess(ChildProcess&& other) noexcept = default;

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (state_ != nullptr) {
      kill();
      wait();
    }
    state_ = std::move(other.state_);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (state_ == nullptr) return;
  kill();
  wait();
}

absl::StatusOr<ChildProcess> ChildProcess::spawn(const ChildOptions& options) {
  assert(!options.executable.empty());
  ExecPlan plan = make_plan(options);

  Fd stdin_read;
  Fd stdin_write;
  std::string_view stdin_rest;
  if (options.stdin_bytes.empty()) {
    stdin_read = Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (stdin_read.get() < 0) return errno_status(errno, "open /dev/null for the child's stdin");
  } else {
    absl::StatusOr<StdinPipe> pipe = prefill_stdin(options.stdin_bytes);
    if (!pipe.ok()) return pipe.status();
    stdin_read = std::move(pipe->read_end);
    stdin_write = std::move(pipe->write_end);
    stdin_rest = pipe->rest;
    if (stdin_rest.empty()) stdin_write.reset();  // all in the pipe: the child sees EOF after it
  }
  Fd output;
  if (!options.output_path.empty()) {
    output = Fd(::open(options.output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (output.get() < 0) return errno_status(errno, fmt::format("cannot open {} for the child's output", options.output_path));
  }
  int report_fds[2];
  if (::pipe2(report_fds, O_CLOEXEC) != 0) {
    return absl::InternalError(fmt::format("pipe2 for spawning {}: {}", options.executable, strerrordesc_np(errno)));
  }
  Fd report_read(report_fds[0]);
  Fd report_write = above_stdio(Fd(report_fds[1]));
  stdin_read = above_stdio(std::move(stdin_read));
  output = above_stdio(std::move(output));
  if (report_write.get() < 0 || stdin_read.get() < 0 || (!options.output_path.empty() && output.get() < 0)) {
    return absl::InternalError(fmt::format("fcntl(F_DUPFD_CLOEXEC) for spawning {}: {}", options.executable, strerrordesc_np(errno)));
  }
  plan.stdin_fd = stdin_read.get();
  plan.output_fd = output.get();
  plan.report_fd = report_write.get();

  const pid_t pid = ::fork();
  if (pid < 0) {
    return absl::InternalError(fmt::format("fork for {}: {}", options.executable, strerrordesc_np(errno)));
  }
  if (pid == 0) run_child(plan);

  report_write.reset();  // else the read below would never see EOF
  stdin_read.reset();
  output.reset();
  ChildFailure failure{};
  ssize_t received;
  do {
    received = ::read(report_read.get(), &failure, sizeof failure);
  } while (received < 0 && errno == EINTR);
  if (received != 0) {
    int status = 0;
    waitpid_retrying(pid, &status, 0);
    if (received != sizeof failure) {
      return absl::InternalError(fmt::format("spawning {}: the child ended with a partial report ({})",
                                             options.executable, describe_wait_status(status)));
    }
    return failure_status(failure, options.executable);
  }
  // execve succeeded.
  if (stdin_write.get() >= 0) write_all_without_sigpipe(stdin_write.get(), stdin_rest);
  auto state = std::make_unique<State>();
  state->pid = pid;
  return ChildProcess(std::move(state));
}

pid_t ChildProcess::pid() const {
  assert(state_ != nullptr);
  return state_->pid;
}

void ChildProcess::kill() { signal(SIGKILL); }
void ChildProcess::terminate() { signal(SIGTERM); }

void ChildProcess::signal(int signal_number) {
  assert(state_ != nullptr);
  // Holding the mutex keeps the child unreaped, so its pid cannot have been reused.
  std::lock_guard lock(state_->mutex);
  if (state_->how.has_value()) return;
  ::kill(state_->pid, signal_number);
}

std::string ChildProcess::wait() {
  assert(state_ != nullptr);
  {
    std::lock_guard lock(state_->mutex);
    if (state_->how.has_value()) return *state_->how;
  }
  // Block until it has ended WITHOUT reaping it (WNOWAIT), so that kill() on another thread can
  // never signal a reaped (and maybe reused) pid; the reaping happens under the mutex.
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(state_->pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
  }
  // ECHILD here means another wait() on this object reaped it first: reap_if_ended sees `how`.
  std::lock_guard lock(state_->mutex);
  state_->reap_if_ended();
  assert(state_->how.has_value());
  return *state_->how;
}

std::optional<std::string> ChildProcess::try_wait() {
  assert(state_ != nullptr);
  std::lock_guard lock(state_->mutex);
  state_->reap_if_ended();
  return state_->how;
}

std::optional<std::string> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  // Polling with a growing pause (1 ms up to 20 ms) keeps this free of extra descriptors and
  // threads; it answers within 20 ms of the child's end.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::chrono::milliseconds pause{1};
  while (true) {
    if (std::optional<std::string> how = try_wait()) return how;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::milliseconds{20});
  }
}

// ---- ChildWatcher ----------------------------------------------------------------------------

struct ChildWatcher::SpawnRequest {
  const ChildOptions* options;
  std::optional<absl::StatusOr<ChildProcess>> result;  // set by the spawner thread
};

ChildWatcher::ChildWatcher(OnExit on_exit) : on_exit_(std::move(on_exit)) {
  assert(on_exit_ != nullptr);
  spawner_ = std::thread([this] { run_spawner(); });
}

ChildWatcher::~ChildWatcher() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  spawn_changed_.notify_all();
  spawner_.join();  // answers every queued request first
  {
    std::unique_lock lock(mutex_);
    // Kill every child; its watching thread then reaps it, moves its thread to ending_ and erases
    // its entry.
    for (auto& [key, watched] : live_) watched.child->kill();
    child_ended_.wait(lock, [this] { return live_.empty(); });
    threads = std::move(ending_);
    ending_.clear();
  }
  // A callback that began before the destructor may still run: join waits for it.
  for (std::thread& thread : threads) thread.join();
}

void ChildWatcher::run_spawner() {
  std::unique_lock lock(mutex_);
  while (true) {
    spawn_changed_.wait(lock, [this] { return stopping_ || !spawn_requests_.empty(); });
    if (spawn_requests_.empty()) return;  // stopping_, and nothing left to answer
    SpawnRequest* request = spawn_requests_.front();
    spawn_requests_.pop_front();
    if (stopping_) {
      request->result = absl::CancelledError("the child watcher is shutting down");
    } else {
      lock.unlock();
      absl::StatusOr<ChildProcess> child = ChildProcess::spawn(*request->options);
      lock.lock();
      request->result = std::move(child);
    }
    spawn_changed_.notify_all();
  }
}

absl::StatusOr<pid_t> ChildWatcher::add(ChildProcess child) {
  join_done_threads();
  auto owned = std::make_unique<ChildProcess>(std::move(child));
  ChildProcess* raw = owned.get();
  const pid_t pid = raw->pid();
  std::unique_lock lock(mutex_);
  if (stopping_) {
    lock.unlock();
    owned.reset();  // kills and reaps it
    return absl::CancelledError(fmt::format("the child watcher is shutting down: child {} was killed", pid));
  }
  const uint64_t key = next_key_++;
  Watched& watched = live_[key];
  watched.child = std::move(owned);
  try {
    // The thread waits for mutex_ before it touches live_, so it sees the entry complete.
    watched.thread = std::thread([this, key, raw] { watch(key, raw); });
  } catch (const std::system_error& error) {
    std::unique_ptr<ChildProcess> failed = std::move(watched.child);
    live_.erase(key);
    lock.unlock();
    failed.reset();  // kills and reaps it
    return absl::ResourceExhaustedError(fmt::format("no thread to watch child {}: {}", pid, error.what()));
  }
  return pid;
}

absl::StatusOr<pid_t> ChildWatcher::spawn(const ChildOptions& options) {
  SpawnRequest request{.options = &options, .result = std::nullopt};
  {
    std::unique_lock lock(mutex_);
    if (stopping_) return absl::CancelledError("the child watcher is shutting down");
    spawn_requests_.push_back(&request);
    spawn_changed_.notify_all();
    spawn_changed_.wait(lock, [&] { return request.result.has_value(); });
  }
  if (!request.result->ok()) return request.result->status();
  return add(*std::move(*request.result));
}

void ChildWatcher::watch(uint64_t key, ChildProcess* child) {
  const std::string how = child->wait();
  const pid_t pid = child->pid();
  bool report = false;
  {
    // add() holds the mutex until the entry is complete, so it is there by now.
    std::lock_guard lock(mutex_);
    auto entry = live_.find(key);
    assert(entry != live_.end());
    ending_.push_back(std::move(entry->second.thread));
    live_.erase(entry);  // the child is reaped: destroying it does nothing more
    report = !stopping_;
  }
  child_ended_.notify_all();
  if (report) on_exit_(pid, how);
  std::lock_guard lock(mutex_);
  done_.push_back(std::this_thread::get_id());
}

void ChildWatcher::join_done_threads() {
  std::vector<std::thread> finished;
  {
    std::lock_guard lock(mutex_);
    for (const std::thread::id& id : done_) {
      auto thread = std::find_if(ending_.begin(), ending_.end(), [&](const std::thread& t) { return t.get_id() == id; });
      if (thread == ending_.end()) continue;  // the destructor took it
      finished.push_back(std::move(*thread));
      ending_.erase(thread);
    }
    done_.clear();
  }
  // These threads have returned from watch() or are about to: joining is quick.
  for (std::thread& thread : finished) thread.join();
}

bool ChildWatcher::signal(pid_t pid, bool sigkill) {
  join_done_threads();
  std::lock_guard lock(mutex_);
  bool found = false;
  for (auto& [key, watched] : live_) {
    if (watched.child->pid() != pid) continue;
    found = true;
    sigkill ? watched.child->kill() : watched.child->terminate();
  }
  return found;
}

bool ChildWatcher::kill(pid_t pid) { return signal(pid, true); }
bool ChildWatcher::terminate(pid_t pid) { return signal(pid, false); }

size_t ChildWatcher::live_count() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}

}  // namespace troupe::cluster
