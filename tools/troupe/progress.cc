#include "tools/troupe/progress.h"

#include <unistd.h>

#include <string>

#include "fmt/format.h"

namespace troupe::cli {
namespace {

// "42 s", "3 min 5 s", "2 h 10 min": coarse on purpose, the rate moves.
std::string format_eta(double seconds) {
  const auto whole = static_cast<uint64_t>(seconds + 0.5);
  if (whole < 60) return fmt::format("{} s", whole);
  if (whole < 3600) return fmt::format("{} min {} s", whole / 60, whole % 60);
  return fmt::format("{} h {} min", whole / 3600, whole % 3600 / 60);
}

}  // namespace

Progress::Progress(std::FILE* out, uint64_t total_seeds)
    : out_(out), terminal_(isatty(fileno(out)) == 1), total_(total_seeds), start_(Clock::now()), last_print_(start_) {}

void Progress::update(std::string_view scenario, uint64_t done, uint64_t failures) {
  const Clock::time_point now = Clock::now();
  const auto interval = terminal_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(2000);
  if (now - last_print_ < interval) return;
  last_print_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  std::string line = fmt::format("{}: {}/{} seeds, {:.0f} seeds/s, {} failure{} so far", scenario, done, total_, rate,
                                 failures, failures == 1 ? "" : "s");
  if (rate > 0 && done < total_) line += fmt::format(", {} left", format_eta(static_cast<double>(total_ - done) / rate));
  if (terminal_) {
    fmt::print(out_, "\r\033[K{}", line);
    line_shown_ = true;
  } else {
    fmt::print(out_, "progress: {}\n", line);
  }
  std::fflush(out_);
}

void Progress::clear() {
  if (!line_shown_) return;
  fmt::print(out_, "\r\033[K");
  std::fflush(out_);
  line_shown_ = false;
}

}  // namespace troupe::cli
