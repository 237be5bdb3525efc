// Ctrl-C during a sweep: the first SIGINT asks the sweep to stop after the seeds it is running
// and print what it has; a second one kills the process as usual.
//
//   InterruptGuard guard;               // installs the handler for the sweep's duration
//   for (...) { if (interrupted()) break; ... }
//
// Process-wide (a signal handler is); one guard at a time.
#pragma once

#include <csignal>

namespace troupe::cli {

// The exit status of a sweep stopped by Ctrl-C (128 + SIGINT, as a shell reports it).
inline constexpr int kExitInterrupted = 130;

class InterruptGuard {
 public:
  InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  // Restores the previous SIGINT disposition.
  ~InterruptGuard();

 private:
  struct sigaction previous_ = {};
};

// Whether SIGINT arrived since the current guard was installed.
bool interrupted();

}  // namespace troupe::cli
