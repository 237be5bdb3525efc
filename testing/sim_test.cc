#include "testing/sim_test.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "absl/strings/numbers.h"
#include "faults/injector.h"
#include "faults/swarm.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/clock.h"
#include "scenarios/runner.h"
#include "testing/rerun.h"
#include "testing/seed_recording.h"

namespace troupe::testing {
namespace {

// The first GoogleTest failure reported while a seed's body runs, with the simulated time then.
struct FirstFailure {
  std::string where;    // "file:line" (empty when GoogleTest gave none)
  std::string summary;  // the failure's message without GoogleTest's trace lines
  Nanos sim_time = 0;
};

// The run in progress on this thread, seen by the listener below.
struct ActiveRun {
  bool body_running = false;  // inside the simulated run (troupe::now() is valid)
  std::optional<FirstFailure> first;
};
thread_local ActiveRun* active_run = nullptr;

// Records the first failure of the active run, and when it happened in simulated time.
class FailureTimeListener : public ::testing::EmptyTestEventListener {
 public:
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (active_run == nullptr || !active_run->body_running || active_run->first || !result.failed()) return;
    FirstFailure first;
    if (result.file_name() != nullptr) first.where = fmt::format("{}:{}", result.file_name(), result.line_number());
    first.summary = result.summary();
    // GoogleTest appends the ScopedTrace lines (the seed and rerun command): the report says them.
    if (const size_t trace = first.summary.find("\nGoogle Test trace:"); trace != std::string::npos) {
      first.summary.resize(trace);
    }
    first.sim_time = troupe::now().count();
    active_run->first = std::move(first);
  }
};

void install_listener_once() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  ::testing::UnitTest::GetInstance()->listeners().Append(new FailureTimeListener);  // owned by GoogleTest
}

std::optional<uint64_t> parse_seed(std::string_view text) {
  uint64_t value = 0;
  if (!absl::SimpleAtoi(absl::string_view(text.data(), text.size()), &value) || value == 0) return std::nullopt;
  return value;
}

struct SeedRange {
  uint64_t first = 1;
  uint64_t last = 1;
  bool from_environment = false;  // TROUPE_SEED or TROUPE_SEEDS: the regression seeds are not run
};

// The seeds to run: the options' range unless TROUPE_SEED or TROUPE_SEEDS say otherwise. An
// error names the variable and what is wrong with it.
absl::StatusOr<SeedRange> seed_range(const SimTestOptions& options) {
  if (const char* one = std::getenv("TROUPE_SEED"); one != nullptr) {
    std::optional<uint64_t> seed = parse_seed(one);
    if (!seed) return absl::InvalidArgumentError(fmt::format("TROUPE_SEED='{}': not a seed (a whole number from 1)", one));
    return SeedRange{*seed, *seed, true};
  }
  if (const char* range = std::getenv("TROUPE_SEEDS"); range != nullptr) {
    const std::string_view text(range);
    const size_t dots = text.find("..");
    std::optional<uint64_t> first = dots == std::string_view::npos ? std::nullopt : parse_seed(text.substr(0, dots));
    std::optional<uint64_t> last = dots == std::string_view::npos ? std::nullopt : parse_seed(text.substr(dots + 2));
    if (!first || !last || *first > *last) {
      return absl::InvalidArgumentError(
          fmt::format("TROUPE_SEEDS='{}': not a seed range (A..B with 1 <= A <= B, e.g. 1..5000)", range));
    }
    if (*last - *first >= kSimTestSeedsMax) {
      return absl::InvalidArgumentError(
          fmt::format("TROUPE_SEEDS='{}': more than {} seeds in one test", range, kSimTestSeedsMax));
    }
    return SeedRange{*first, *last, true};
  }
  if (options.first_seed == 0) return absl::InvalidArgumentError("SimTestOptions::first_seed must be at least 1");
  if (options.seeds == 0 || options.seeds > kSimTestSeedsMax) {
    return absl::InvalidArgumentError(
        fmt::format("SimTestOptions::seeds must be 1 to {} (got {})", kSimTestSeedsMax, options.seeds));
  }
  if (options.first_seed > UINT64_MAX - (options.seeds - 1)) {
    return absl::InvalidArgumentError("SimTestOptions: first_seed + seeds - 1 overflows 64 bits");
  }
  for (uint64_t seed : options.regression_seeds) {
    if (seed == 0) return absl::InvalidArgumentError("SimTestOptions::regression_seeds: seeds start at 1 (got 0)");
  }
  return SeedRange{options.first_seed, options.first_seed + options.seeds - 1};
}

std::string kinds_text(const std::set<faults::FaultKind>& kinds) {
  if (kinds.empty()) return "none";
  std::vector<std::string_view> names;
  for (faults::FaultKind kind : kinds) names.push_back(faults::fault_kind_name(kind));
  return fmt::format("{}", fmt::join(names, ", "));
}

// The Scenario a seed runs: the body as the driver, the options' cluster and timing.
scenarios::Scenario make_scenario(const SimTestOptions& options, const std::string& name, SimTestBody body,
                                  ActiveRun& active, uint64_t& seed_now) {
  scenarios::Scenario scenario;
  scenario.name = name;
  scenario.summary = "a TROUPE_SIM_TEST";
  scenario.cluster = options.cluster;
  scenario.fault_window_ns = options.fault_window_ns;
  scenario.quiet_ns = options.quiet_ns;
  scenario.deadline_ns = options.deadline_ns;
  scenario.buggify_sites = options.buggify_sites;
  scenario.tolerates = options.faults;
  scenario.driver = [body, &active, &seed_now](System& sys, scenarios::Checks& checks) {
    SimRun run(seed_now, checks);
    active.body_running = true;
    // An exception leaving the body fails the seed through run_scenario; body_running must end
    // with the body either way.
    struct EndBody {
      ActiveRun& active;
      ~EndBody() { active.body_running = false; }
    } end{active};
    body(sys, run);
  };
  return scenario;
}

// The swarm settings of a test: run_scenario's (its cluster, timing and kinds), with a window
// shorter than a second compressed: the mean number of faults per window, their durations and
// delays are those of a one-second window, so a body that runs for milliseconds still meets faults.
faults::SwarmOptions swarm_options(const scenarios::Scenario& scenario) {
  faults::SwarmOptions swarm = scenarios::swarm_options_for(scenario, scenario.tolerates);
  if (scenario.fault_window_ns > 0 && scenario.fault_window_ns < kSecond) {
    const double scale = static_cast<double>(scenario.fault_window_ns) / kSecond;
    const auto shrink = [scale](Nanos duration) { return std::max<Nanos>(1'000, static_cast<Nanos>(duration * scale)); };
    swarm.intensity_per_s_min /= scale;
    swarm.intensity_per_s_max /= scale;
    swarm.duration_ns_min = shrink(swarm.duration_ns_min);
    swarm.duration_ns_max = shrink(swarm.duration_ns_max);
    swarm.reboot_after_ns_min = shrink(swarm.reboot_after_ns_min);
    swarm.reboot_after_ns_max = shrink(swarm.reboot_after_ns_max);
    swarm.extra_latency_ns_min = shrink(swarm.extra_latency_ns_min);
    swarm.extra_latency_ns_max = shrink(swarm.extra_latency_ns_max);
  }
  return swarm;
}

}  // namespace

std::string format_sim_time(Nanos time) {
  if (time < kSecond) return fmt::format("{:.3f} ms", static_cast<double>(time) / kMillisecond);
  return fmt::format("{:.6f} s", static_cast<double>(time) / kSecond);
}

namespace {

std::string indent_lines(std::string_view text, std::string_view prefix) {
  std::string out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start || end < text.size()) out += fmt::format("{}{}\n", prefix, text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

SimTestReport run_sim_test(const SimTestOptions& options, SimTestBody body) {
  SimTestReport report;
  const std::string name = current_test_name();
  absl::StatusOr<SeedRange> range = seed_range(options);
  if (!range.ok()) {
    report.failure = fmt::format("TROUPE_SIM_TEST {}: {}", name, range.status().message());
    ADD_FAILURE() << report.failure;
    return report;
  }
  for (faults::FaultKind kind : options.faults) {
    if (!all_faults().contains(kind)) {
      report.failure = fmt::format("TROUPE_SIM_TEST {}: the simulator does not inject '{}' faults", name,
                                   faults::fault_kind_name(kind));
      ADD_FAILURE() << report.failure;
      return report;
    }
  }
  ActiveRun active;
  uint64_t seed_now = 0;
  const scenarios::Scenario scenario = make_scenario(options, name, body, active, seed_now);
  const faults::SwarmOptions swarm = swarm_options(scenario);
  if (!options.faults.empty()) {
    if (absl::Status valid = faults::validate_swarm_options(swarm); !valid.ok()) {
      report.failure = fmt::format("TROUPE_SIM_TEST {}: bad options: {}", name, valid.message());
      ADD_FAILURE() << report.failure;
      return report;
    }
  }
  const absl::StatusOr<RecordingRequest> recording =
      recording_from_environment(range->from_environment && range->first == range->last);
  if (!recording.ok()) {
    report.failure = fmt::format("TROUPE_SIM_TEST {}: {}", name, recording.status().message());
    ADD_FAILURE() << report.failure;
    return report;
  }
  report.first_seed = range->first;
  report.last_seed = range->last;
  install_listener_once();

  uint64_t seeds_with_faults = 0;
  uint64_t faults_realized = 0;
  std::set<std::string> declared;
  std::set<std::string> hit;
  const auto start = std::chrono::steady_clock::now();
  const std::string settings = fmt::format("strategy {}, faults: {}", sim::strategy_name(options.strategy),
                                           kinds_text(options.faults));
  // The regression seeds first (seeds that once failed), then the range.
  const std::vector<uint64_t> regression =
      range->from_environment ? std::vector<uint64_t>{} : options.regression_seeds;
  const uint64_t total = regression.size() + (range->last - range->first + 1);
  for (uint64_t index = 0; index < total; ++index) {
    const bool is_regression = index < regression.size();
    const uint64_t seed = is_regression ? regression[index] : range->first + (index - regression.size());
    seed_now = seed;
    const std::string rerun = fmt::format("TROUPE_SEED={} {} --gtest_filter={}", seed, this_executable(), name);
    scenarios::RunOptions run_options;
    run_options.seed = seed;
    run_options.strategy = options.strategy;
    if (!options.faults.empty()) run_options.plan = faults::swarm_plan(seed, swarm);
    std::optional<SeedRecording> files;  // TROUPE_TRACE, TROUPE_HTML
    if (!recording->empty()) {
      files.emplace();
      if (absl::Status opened = files->open(*recording); !opened.ok()) {
        report.failure = fmt::format("TROUPE_SIM_TEST {}: {}", name, opened.message());
        ADD_FAILURE() << report.failure;
        return report;
      }
      run_options.trace = files->trace();
    }
    active = ActiveRun{};
    active_run = &active;
    scenarios::RunOutcome outcome;
    {
      ::testing::ScopedTrace trace_seed(__FILE__, __LINE__, fmt::format("troupe seed {} (rerun: {})", seed, rerun));
      outcome = scenarios::run_scenario(scenario, run_options);
      // What GoogleTest did not see: a failed `always` check, an exception, a deadlock, liveness.
      if (!outcome.passed && !active.first) ADD_FAILURE() << outcome.failure;
    }
    active_run = nullptr;
    ++report.seeds_run;
    if (!outcome.faults.empty()) ++seeds_with_faults;
    faults_realized += outcome.faults.size();
    declared.insert(outcome.sometimes_declared.begin(), outcome.sometimes_declared.end());
    hit.insert(outcome.sometimes_hit.begin(), outcome.sometimes_hit.end());

    const bool failed = ::testing::Test::HasFailure();
    // What failed first: GoogleTest's first failure in the body, else the run's own.
    std::string what = outcome.failure;
    if (active.first) {
      what = active.first->where.empty() ? active.first->summary
                                         : fmt::format("{}: {}", active.first->where, active.first->summary);
    }
    if (files) {
      scenarios::RunOutcome seen = outcome;  // as the test saw it: an EXPECT failure fails the seed
      seen.passed = !failed;
      seen.failure = failed ? what : "";
      absl::StatusOr<std::string> written = files->finish(seen, fmt::format("{} seed {}", name, seed), rerun);
      if (written.ok()) {
        fmt::print("{}", indent_lines(*written, "[ troupe   ] "));
      } else {
        ADD_FAILURE() << fmt::format("TROUPE_SIM_TEST {}: {}", name, written.status().message());
      }
    }
    if (failed) {
      const Nanos when = active.first ? active.first->sim_time : outcome.sim_time;
      std::string faults_text;
      if (outcome.faults.empty()) {
        faults_text = "  realized faults: none\n";
      } else {
        faults_text = fmt::format("  realized faults ({}):\n", outcome.faults.size());
        for (const std::string& fault : outcome.faults) faults_text += fmt::format("    {}\n", fault);
      }
      report.failed_seed = seed;
      report.rerun_command = rerun;
      report.failure = fmt::format(
          "TROUPE_SIM_TEST {} failed on {}seed {} ({} seed{} passed before it; seeds {}..{}{}, {})\n"
          "  at simulated time {}:\n{}{}rerun only this seed:\n  {}{}",
          name, is_regression ? "regression " : "", seed, report.seeds_run - 1, report.seeds_run == 2 ? "" : "s",
          range->first, range->last,
          regression.empty() ? "" : fmt::format(" after regression seeds {}", fmt::join(regression, ", ")), settings,
          format_sim_time(when), indent_lines(what, "    "), faults_text, rerun,
          is_regression ? "" : fmt::format("\nonce fixed, keep it as a regression: add {} to the test's .regression_seeds",
                                           seed));
      if (recording->empty()) {
        report.failure += fmt::format("\nits timeline (and TROUPE_TRACE=FILE.jsonl for every event):\n  "
                                      "TROUPE_SEED={} TROUPE_HTML={}.seed{}.html {} --gtest_filter={}",
                                      seed, name, seed, this_executable(), name);
      }
      ADD_FAILURE() << report.failure;
      return report;
    }
  }

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<std::string> never;
  for (const std::string& probe : declared) {
    if (!hit.contains(probe)) never.push_back(probe);
  }
  report.seeds_with_faults = seeds_with_faults;
  report.faults_realized = faults_realized;
  // How many seeds the faults reached: a body that ends before the fault window has done its work
  // sees few of them (then shorten fault_window_ns, or work in rounds with run.keep_working).
  const std::string fired =
      options.faults.empty() ? std::string()
                             : fmt::format("; faults fired on {} of them, {} in all", seeds_with_faults, faults_realized);
  const std::string with_regressions =
      regression.empty() ? std::string() : fmt::format(" and regression seeds {}", fmt::join(regression, ", "));
  fmt::print("[ troupe   ] {}: {} seed{} passed ({}..{}{}, {}{}) in {:.2f} s\n", name, report.seeds_run,
             report.seeds_run == 1 ? "" : "s", range->first, range->last, with_regressions, settings, fired, seconds);
  if (!never.empty()) {
    const std::string list = fmt::format("'{}'", fmt::join(never, "', '"));
    if (options.require_sometimes) {
      report.failure = fmt::format("TROUPE_SIM_TEST {}: sometimes probes never held on seeds {}..{}: {}", name,
                                   range->first, range->last, list);
      ADD_FAILURE() << report.failure;
    } else {
      fmt::print("[ troupe   ] {}: sometimes probes that never held: {}\n", name, list);
    }
  }
  std::fflush(stdout);
  return report;
}

}  // namespace troupe::testing
