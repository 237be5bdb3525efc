// bank_troupe: the `troupe` command line over this project's own scenarios, so a sweep, a replay,
// a shrink and the regression corpus work on the bank actors exactly as on Troupe's built-ins:
//
//   ./bank_troupe run bank.payday --seeds 1..1000 --faults swarm
//   ./bank_troupe shrink bank.payday --seed N --faults swarm --out regressions/NAME.json
//   ./bank_troupe regress regressions
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "bank.h"
#include "fmt/format.h"
#include "scenarios/scenario.h"
#include "tools/troupe/cli.h"

int main(int argc, char** argv) {
  troupe::scenarios::Registry registry;
  registry.add({.name = "bank.payday",
                .summary = "four payrolls pay into one account at once; the balance is exact",
                .driver =
                    [](troupe::System& sys, troupe::scenarios::Checks& checks) {
                      const int64_t balance = bank::run_payday(sys, 4, 5);
                      checks.always("the balance is exact", balance == 100 + 4 * 5 * 10 - 25,
                                    fmt::format("got {}", balance));
                    },
                .tolerates = troupe::scenarios::kDelayFaults});
  return troupe::cli::run_cli(std::vector<std::string>(argv + 1, argv + argc), registry, stdout, stderr);
}
