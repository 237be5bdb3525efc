#include "testing/actor_model.h"

#include <chrono>
#include <exception>
#include <typeinfo>

#include "fmt/format.h"
#include "runtime/clock.h"
#include "runtime/detail/args.h"
#include "runtime/fiber/fiber.h"
#include "scenarios/runner.h"
#include "scenarios/scenario.h"
#include "testing/sim_test.h"

namespace troupe::testing {
namespace {

thread_local std::optional<ModelCase> last_failing;
thread_local ModelCaseStats stats;

}  // namespace

const std::optional<ModelCase>& last_failing_model_case() { return last_failing; }
ModelCaseStats& model_case_stats() { return stats; }

namespace detail {

Nanos now_ns() { return troupe::now().count(); }

void sleep_until(Nanos time) {
  const Nanos now = now_ns();
  if (time > now) troupe::sleep(std::chrono::nanoseconds(time - now));
}

void rethrow_naming_call(std::exception_ptr error, size_t index, size_t count, const std::string& call) {
  if (is_forced_unwind(error)) std::rethrow_exception(error);
  const std::string prefix = fmt::format("call {} of {}, {}: ", index + 1, count, call);
  try {
    std::rethrow_exception(error);
  } catch (const rc::detail::CaseResult& result) {
    if (result.type != rc::detail::CaseResult::Type::Failure) throw;
    throw rc::detail::CaseResult(result.type, prefix + result.description);
  } catch (const std::exception& e) {
    throw rc::detail::CaseResult(rc::detail::CaseResult::Type::Failure,
                                 fmt::format("{}threw {}: {}", prefix, troupe::detail::demangle(typeid(e).name()), e.what()));
  } catch (...) {
    throw rc::detail::CaseResult(rc::detail::CaseResult::Type::Failure,
                                 prefix + "threw an exception that is not a std::exception");
  }
}

void run_model_case(const ModelTestOptions& options, uint64_t seed, const faults::FaultPlan& plan, size_t commands,
                    std::function<void(System&)> driver) {
  scenarios::Scenario scenario;
  scenario.name = options.name;
  scenario.summary = "a model-based actor test";
  scenario.cluster = options.cluster;
  scenario.fault_window_ns = options.faults.fault_window_ns;
  scenario.quiet_ns = options.quiet_ns;
  scenario.deadline_ns = std::max(options.deadline_ns, options.faults.fault_window_ns + options.quiet_ns);
  scenario.buggify_sites = options.faults.buggify_sites;
  // What the driver threw: RapidCheck's failures are exceptions that must reach RapidCheck, on the
  // property's own stack, after the simulated world is gone.
  std::exception_ptr thrown;
  scenario.driver = [&driver, &thrown](System& sys, scenarios::Checks&) {
    try {
      driver(sys);
    } catch (...) {
      thrown = std::current_exception();
      if (is_forced_unwind(thrown)) throw;
    }
  };
  scenarios::RunOptions run_options;
  run_options.seed = seed;
  run_options.strategy = options.strategy;
  run_options.plan = plan;
  const scenarios::RunOutcome outcome = scenarios::run_scenario(scenario, run_options);

  ++stats.cases;
  stats.commands += commands;
  stats.faults_realized += outcome.faults.size();
  stats.sim_time_ns += outcome.sim_time;
  if (!outcome.faults.empty()) ++stats.cases_with_faults;

  std::string failure;
  if (thrown) {
    try {
      std::rethrow_exception(thrown);
    } catch (const rc::detail::CaseResult& result) {
      if (result.type == rc::detail::CaseResult::Type::Failure) failure = result.description;
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "an exception that is not a std::exception";
    }
  } else if (!outcome.passed) {
    failure = outcome.failure;
  }
  if (!failure.empty()) {
    last_failing = ModelCase{.seed = seed,
                             .commands = commands,
                             .plan = plan,
                             .realized_faults = outcome.faults.size(),
                             .failure = failure};
    ++stats.failing_cases;
    if (!stats.first_failing) stats.first_failing = last_failing;
  }
  if (thrown) std::rethrow_exception(thrown);
  if (!outcome.passed) {
    RC_FAIL(fmt::format("the simulated run failed at {} of simulated time: {}", format_sim_time(outcome.sim_time),
                        outcome.failure));
  }
}

}  // namespace detail
}  // namespace troupe::testing
