// Progress of a long sweep on stderr (DESIGN §7: seeds/s, failures so far, time left).
//
// On a terminal: one line, rewritten in place at most every 100ms. Otherwise (a log, CI): a
// plain line at most every 2 seconds, so logs stay short. Nothing is printed for sweeps shorter
// than those intervals. Wall-clock based: lives in tools/, outside the simulated code.
//
//   Progress progress(stderr, total_seeds);
//   progress.update("counter", done, failures);   // after each seed
//   progress.clear();                             // before printing a result line
//   progress.finish();
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string_view>

namespace troupe::cli {

class Progress {
 public:
  Progress(std::FILE* out, uint64_t total_seeds);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `done` seeds of the whole sweep have run, `failures` of them failed; `scenario` is running.
  void update(std::string_view scenario, uint64_t done, uint64_t failures);
  // Erases the in-place line (terminal only), so other output starts on a clean line.
  void clear();
  // Clears the line; no more updates follow.
  void finish() { clear(); }

 private:
  using Clock = std::chrono::steady_clock;

  std::FILE* out_;
  bool terminal_;
  uint64_t total_;
  Clock::time_point start_;
  Clock::time_point last_print_;
  bool line_shown_ = false;
};

}  // namespace troupe::cli
