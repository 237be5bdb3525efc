#include "tools/troupe/workers.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace troupe::cli {
namespace {

// Frames from a worker: a 1-byte type, the scenario index (4 bytes) and the payload length (4
// bytes, little-endian as the host is), then the payload (an encoded SeedResult for kResult).
constexpr char kFrameResult = 'R';
constexpr char kFrameUnitDone = 'D';
constexpr size_t kFrameHeaderBytes = 9;
// A seed result is a few KiB at most (failure messages are bounded by the runtime's reports); a
// longer frame means a corrupt pipe.
constexpr uint32_t kFramePayloadMax = 64 << 20;
// A unit on the command pipe: scenario (4 bytes), first and last seed (8 bytes each).
constexpr size_t kUnitBytes = 20;

volatile std::sig_atomic_t g_worker_interrupted = 0;

void on_worker_sigint(int) { g_worker_interrupted = 1; }

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Reads exactly `size` bytes; false on end of file or error.
bool read_all(int fd, char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::read(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool write_frame(int fd, char type, uint32_t scenario, const std::string& payload) {
  char header[kFrameHeaderBytes];
  header[0] = type;
  const auto length = static_cast<uint32_t>(payload.size());
  std::memcpy(header + 1, &scenario, 4);
  std::memcpy(header + 5, &length, 4);
  return write_all(fd, header, sizeof header) && write_all(fd, payload.data(), payload.size());
}

// The body of a worker process: runs the units it is given until its command pipe closes.
[[noreturn]] void worker_main(int command_fd, int result_fd, const WorkerPool::Compute& compute) {
  struct sigaction action = {};
  action.sa_handler = on_worker_sigint;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  char unit_bytes[kUnitBytes];
  while (read_all(command_fd, unit_bytes, kUnitBytes)) {
    SeedUnit unit;
    std::memcpy(&unit.scenario, unit_bytes, 4);
    std::memcpy(&unit.first, unit_bytes + 4, 8);
    std::memcpy(&unit.last, unit_bytes + 12, 8);
    for (uint64_t seed = unit.first; g_worker_interrupted == 0; ++seed) {
      if (!write_frame(result_fd, kFrameResult, unit.scenario, encode_seed_result(compute(unit.scenario, seed)))) {
        _exit(3);
      }
      if (seed == unit.last) break;  // the range may end at 2^64-1
    }
    if (!write_frame(result_fd, kFrameUnitDone, unit.scenario, "")) _exit(3);
  }
  _exit(0);
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    return fmt::format("killed by signal {} ({})", signal, strsignal(signal));
  }
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  return fmt::format("ended with wait status {}", status);
}

}  // namespace

absl::StatusOr<std::unique_ptr<WorkerPool>> WorkerPool::start(int jobs, Compute compute) {
  if (jobs < 1 || jobs > kMaxJobs) {
    return absl::InvalidArgumentError(fmt::format("--jobs must be from 1 to {} (got {})", kMaxJobs, jobs));
  }
  std::unique_ptr<WorkerPool> pool(new WorkerPool(std::move(compute)));
  pool->workers_.resize(static_cast<size_t>(jobs));
  for (Worker& worker : pool->workers_) {
    if (absl::Status status = pool->spawn(worker); !status.ok()) return status;
  }
  return pool;
}

absl::Status WorkerPool::spawn(Worker& worker) {
  int command[2];
  int result[2];
  if (::pipe(command) != 0) return absl::InternalError(fmt::format("pipe: {}", std::strerror(errno)));
  if (::pipe(result) != 0) {
    ::close(command[0]);
    ::close(command[1]);
    return absl::InternalError(fmt::format("pipe: {}", std::strerror(errno)));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    for (int fd : {command[0], command[1], result[0], result[1]}) ::close(fd);
    return absl::InternalError(fmt::format("fork: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    // The child keeps only its own two ends: another worker's pipe left open here would keep that
    // worker from ever seeing its command pipe close.
    for (const Worker& other : workers_) {
      if (other.command_fd >= 0) ::close(other.command_fd);
      if (other.result_fd >= 0) ::close(other.result_fd);
    }
    ::close(command[1]);
    ::close(result[0]);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(1);  // the parent died before prctl took effect
    worker_main(command[0], result[1], compute_);
  }
  ::close(command[0]);
  ::close(result[1]);
  ::fcntl(command[1], F_SETFD, FD_CLOEXEC);
  ::fcntl(result[0], F_SETFD, FD_CLOEXEC);
  worker = Worker{.pid = pid, .command_fd = command[1], .result_fd = result[0]};
  return absl::OkStatus();
}

WorkerPool::~WorkerPool() {
  for (Worker& worker : workers_) {
    if (worker.command_fd >= 0) ::close(worker.command_fd);
    if (worker.busy && worker.pid > 0) ::kill(worker.pid, SIGKILL);  // idle ones exit on EOF
  }
  for (Worker& worker : workers_) {
    if (worker.result_fd >= 0) ::close(worker.result_fd);
    if (worker.pid > 0) {
      int status = 0;
      while (::waitpid(worker.pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
}

int WorkerPool::idle_count() const {
  int idle = 0;
  for (const Worker& worker : workers_) idle += worker.busy ? 0 : 1;
  return idle;
}

int WorkerPool::busy_count() const { return static_cast<int>(workers_.size()) - idle_count(); }

void WorkerPool::assign(const SeedUnit& unit) {
  for (Worker& worker : workers_) {
    if (worker.busy) continue;
    char bytes[kUnitBytes];
    std::memcpy(bytes, &unit.scenario, 4);
    std::memcpy(bytes + 4, &unit.first, 8);
    std::memcpy(bytes + 12, &unit.last, 8);
    worker.busy = true;
    worker.unit = unit;
    worker.all_reported = false;
    // A failed write means the worker is gone: wait() sees the end of its result pipe and reports
    // the whole unit as the dead worker's.
    write_all(worker.command_fd, bytes, kUnitBytes);
    return;
  }
}

void WorkerPool::interrupt() {
  for (const Worker& worker : workers_) {
    if (worker.pid > 0) ::kill(worker.pid, SIGINT);
  }
}

absl::StatusOr<std::vector<WorkerEvent>> WorkerPool::wait() {
  std::vector<pollfd> fds;
  for (const Worker& worker : workers_) fds.push_back({.fd = worker.result_fd, .events = POLLIN, .revents = 0});
  std::vector<WorkerEvent> events;
  if (::poll(fds.data(), fds.size(), -1) < 0) {
    if (errno == EINTR) return events;
    return absl::InternalError(fmt::format("poll: {}", std::strerror(errno)));
  }
  for (size_t i = 0; i < fds.size(); ++i) {
    if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    Worker& worker = workers_[i];
    char chunk[1 << 16];
    ssize_t n = ::read(worker.result_fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InternalError(fmt::format("reading from worker {}: {}", worker.pid, std::strerror(errno)));
    if (n == 0) {
      if (absl::Status status = handle_exit(static_cast<int>(i), events); !status.ok()) return status;
      continue;
    }
    worker.buffer.append(chunk, static_cast<size_t>(n));
    if (absl::Status status = parse_frames(static_cast<int>(i), events); !status.ok()) return status;
  }
  return events;
}

absl::Status WorkerPool::parse_frames(int index, std::vector<WorkerEvent>& events) {
  Worker& worker = workers_[static_cast<size_t>(index)];
  size_t offset = 0;
  while (worker.buffer.size() - offset >= kFrameHeaderBytes) {
    const char type = worker.buffer[offset];
    uint32_t scenario = 0;
    uint32_t length = 0;
    std::memcpy(&scenario, worker.buffer.data() + offset + 1, 4);
    std::memcpy(&length, worker.buffer.data() + offset + 5, 4);
    if ((type != kFrameResult && type != kFrameUnitDone) || length > kFramePayloadMax) {
      return absl::InternalError(fmt::format("worker {} sent a corrupt frame (type {:#x}, {} bytes)", worker.pid,
                                             static_cast<unsigned char>(type), length));
    }
    if (worker.buffer.size() - offset - kFrameHeaderBytes < length) break;
    const std::string_view payload(worker.buffer.data() + offset + kFrameHeaderBytes, length);
    offset += kFrameHeaderBytes + length;
    if (type == kFrameUnitDone) {
      worker.busy = false;
      events.push_back({.kind = WorkerEvent::Kind::kUnitDone, .worker = index, .scenario = scenario});
      continue;
    }
    absl::StatusOr<SeedResult> result = decode_seed_result(payload);
    if (!result.ok()) {
      return absl::InternalError(fmt::format("worker {} sent a bad result: {}", worker.pid, result.status().message()));
    }
    // The unit shrinks from the front as its seeds are reported (kDied names what is left).
    if (result->seed == worker.unit.last) {
      worker.all_reported = true;
    } else {
      worker.unit.first = result->seed + 1;
    }
    events.push_back({.kind = WorkerEvent::Kind::kResult, .worker = index, .scenario = scenario,
                      .result = std::move(*result)});
  }
  worker.buffer.erase(0, offset);
  return absl::OkStatus();
}

absl::Status WorkerPool::handle_exit(int index, std::vector<WorkerEvent>& events) {
  Worker& worker = workers_[static_cast<size_t>(index)];
  ::close(worker.result_fd);
  ::close(worker.command_fd);
  int status = 0;
  while (::waitpid(worker.pid, &status, 0) < 0 && errno == EINTR) {
  }
  // A worker that reported every seed of its unit and died before saying so lost nothing.
  const bool was_busy = worker.busy && !worker.all_reported;
  const SeedUnit unit = worker.unit;
  worker = Worker{};
  if (absl::Status spawned = spawn(worker); !spawned.ok()) return spawned;
  if (was_busy) {
    events.push_back({.kind = WorkerEvent::Kind::kDied, .worker = index, .scenario = unit.scenario, .unit = unit,
                      .why = describe_status(status)});
  }
  return absl::OkStatus();
}

}  // namespace troupe::cli
