// ChildProcess and ChildWatcher: the cluster platform's worker and daemon processes (Linux only).
//
// A node daemon (`troupe node`) starts one worker process per actor by re-executing a binary,
// kills workers with SIGKILL (a real crash) and must learn when and how each ended; `troupe run
// --platform cluster` starts the head and node daemons as children and must never leave one
// behind, even when it is itself killed with SIGKILL. ChildProcess is one such child: fork +
// execve, an optional stdin payload, optional output file, and PR_SET_PDEATHSIG so the child dies
// with its parent. ChildWatcher owns many children and reports each one's end from a background
// thread.
//
//   absl::StatusOr<ChildProcess> child = ChildProcess::spawn({.executable = "/bin/sh", .args = {"-c", "exit 3"}});
//   if (!child.ok()) return child.status();   // NotFound / PermissionDenied name the executable
//   std::string how = child->wait();           // "exited with code 3"
//
// Ownership: a ChildProcess owns its child; destroying one that has not been reaped kills it
// (SIGKILL) and reaps it, so neither a zombie nor an orphan remains. Reaping uses waitpid on the
// child's own pid, never waitpid(-1, ...): other children of the process are not ours. A process
// that sets SIGCHLD to SIG_IGN (the kernel then reaps every child itself) breaks this: wait()
// then says "exit status lost (reaped elsewhere)".
//
// Descriptors: every descriptor of the parent other than the child's 0, 1 and 2 is closed on exec
// in the child, whether or not its owner opened it with O_CLOEXEC.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace troupe::cluster {

// Pipe capacity spawn() asks the kernel for so a stdin payload of up to this size is written
// before fork and spawn() never blocks on it (Linux's default /proc/sys/fs/pipe-max-size).
inline constexpr size_t kStdinPrefillBytesMax = 1 << 20;

struct ChildOptions {
  // Path of the program, run with execve: no PATH search, so "sh" is not "/bin/sh".
  std::string executable;
  // argv[1..]; argv[0] is `executable`.
  std::vector<std::string> args;
  // Set in the child on top of the parent's environment (a name given here replaces the parent's).
  std::vector<std::pair<std::string, std::string>> env;
  // Written to the child's stdin (a pipe) which is then closed. Empty: stdin is /dev/null.
  // Up to kStdinPrefillBytesMax the bytes sit in the pipe before the child starts; beyond, spawn()
  // blocks until the child has read all but the last pipe-full or has exited (a child that
  // exits without reading is not an error, and the parent never gets SIGPIPE).
  std::string stdin_bytes;
  // Empty: stdout and stderr are inherited. Otherwise both go to this file, appended (created
  // with mode 0644 if missing).
  std::string output_path;
  // PR_SET_PDEATHSIG(SIGKILL): the child is killed when the parent dies. Caveat: Linux sends it
  // when the THREAD that forked the child ends, not the process, so spawn from a thread that lives
  // as long as the children should (the main thread, or a long-lived supervisor thread;
  // ChildWatcher::spawn forks on such a thread for you). If the parent is already gone when the
  // child sets it, the child _exits(127) at once instead.
  bool die_with_parent = true;
};

// How a wait status reads: "exited normally" (code 0), "exited with code 3",
// "killed by signal 9 (SIGKILL)", "killed by signal 40" (no name for real-time signals).
std::string describe_wait_status(int wait_status);

// One child process. Movable, not copyable. kill(), terminate() and the wait functions may be
// called from different threads at once (kill() never signals a pid that has been reaped and
// maybe reused); moving and destroying are not thread-safe.
class ChildProcess {
 public:
  // fork + execve. Errors, with nothing left running and nothing to reap: NotFound or
  // PermissionDenied naming the executable when execve fails (the child's errno comes back
  // through a close-on-exec pipe), the same naming output_path when it cannot be opened, and
  // Internal when pipe or fork fail.
  static absl::StatusOr<ChildProcess> spawn(const ChildOptions& options);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;  // kills and reaps the child it held
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();  // kills (SIGKILL) and reaps a child that has not been reaped

  // REQUIRES (all members): not moved from.
  pid_t pid() const;
  // SIGKILL. A no-op once the child has been reaped.
  void kill();
  // SIGTERM, for a graceful stop. A no-op once the child has been reaped.
  void terminate();
  // Blocks until the child ends, reaps it, and says how it ended (describe_wait_status). Returns
  // the same string on every later call.
  std::string wait();
  // Like wait() but never blocks: nullopt while the child runs.
  std::optional<std::string> try_wait();
  // Like wait() but gives up after `timeout`: nullopt if the child still runs then.
  std::optional<std::string> wait_for(std::chrono::milliseconds timeout);

 private:
  struct State;
  explicit ChildProcess(std::unique_ptr<State> state);
  void signal(int signal_number);
  std::unique_ptr<State> state_;
};

// Owns children and calls on_exit(pid, how) from a background thread when one ends (one waiting
// thread per live child; they sit blocked in waitid and cost no CPU). The node daemon uses it to
// report worker deaths and to restart workers.
//
// spawn() forks on the watcher's own spawner thread, which lives as long as the watcher: a child
// started with die_with_parent is then killed when the process dies, never merely because the
// thread that asked for it ended (a watching thread, say; see ChildOptions::die_with_parent).
// add() takes a child spawned elsewhere as it is.
//
// on_exit runs on the ended child's thread, after the child has been reaped and removed from
// live_count(); callbacks for different children may run concurrently, so it must be
// thread-safe. It may call add(), spawn(), kill() and live_count() (to restart a worker, say),
// but must not destroy the watcher. It may run before the add() or spawn() that handed over the
// child returns.
//
// The destructor kills (SIGKILL) and reaps every child still alive and joins every thread;
// on_exit is not called for the children it kills, and a callback already running is waited for.
// If such a callback calls add() or spawn(), the child is killed and reaped and the call returns
// Cancelled. Apart from that, no member may be called concurrently with the destructor.
class ChildWatcher {
 public:
  using OnExit = std::function<void(pid_t pid, const std::string& how)>;

  explicit ChildWatcher(OnExit on_exit);
  ~ChildWatcher();
  ChildWatcher(const ChildWatcher&) = delete;
  ChildWatcher& operator=(const ChildWatcher&) = delete;

  // Takes ownership of `child` and watches it; returns its pid. ResourceExhausted if no thread
  // can be started (the child is then killed and reaped).
  absl::StatusOr<pid_t> add(ChildProcess child);
  // ChildProcess::spawn(options) on the spawner thread, then add(). Blocks until spawned.
  absl::StatusOr<pid_t> spawn(const ChildOptions& options);
  // SIGKILL / SIGTERM to a watched child; false if no child with `pid` awaits its report. Its end
  // is reported through on_exit like any other.
  bool kill(pid_t pid);
  bool terminate(pid_t pid);
  // Children added and not yet reported ended.
  size_t live_count() const;

 private:
  struct Watched {
    std::unique_ptr<ChildProcess> child;
    std::thread thread;
  };
  struct SpawnRequest;
  void run_spawner();
  void watch(uint64_t key, ChildProcess* child);
  bool signal(pid_t pid, bool sigkill);
  void join_done_threads();  // REQUIRES: mutex_ not held; not on a watching thread's own id

  OnExit on_exit_;
  mutable std::mutex mutex_;
  std::condition_variable child_ended_;         // signalled when an entry leaves live_
  std::condition_variable spawn_changed_;       // a request queued, answered, or stopping_ set
  bool stopping_ = false;                       // GUARDED_BY(mutex_)
  std::deque<SpawnRequest*> spawn_requests_;    // GUARDED_BY(mutex_)
  // Keyed by a counter, not the pid: a reaped child's pid may be reused by a new child before
  // the old entry is erased.
  uint64_t next_key_ = 0;                       // GUARDED_BY(mutex_)
  std::map<uint64_t, Watched> live_;            // GUARDED_BY(mutex_)
  std::vector<std::thread> ending_;             // GUARDED_BY(mutex_): threads of reaped children
  std::vector<std::thread::id> done_;           // GUARDED_BY(mutex_): of those, the ones that returned
  std::thread spawner_;                         // last: starts once everything above exists
};

}  // namespace troupe::cluster
