// bank_payday: the example's program. The same driver runs on real threads or in the simulator:
//
//   ./bank_payday                           threads
//   ./bank_payday --platform=sim --seed=7   the simulator, seed 7
//
// It prints "final balance: 1075" (100 + 4 payrolls x 25 salaries x 10 - 25) either way.
#include "fmt/format.h"
#include "bank.h"
#include "runtime/run_main.h"

int main(int argc, char** argv) {
  return troupe::run_main(argc, argv, [](troupe::System& sys) {
    fmt::print("final balance: {}\n", bank::run_payday(sys, 4, 25));
  });
}
