// run_main: the main() of a Troupe program — one driver, any platform, chosen on the command line.
//
//   void driver(troupe::System& sys) { ... }
//   int main(int argc, char** argv) { return troupe::run_main(argc, argv, driver); }
//
//   ./my_program                          threads platform (real threads, real time)
//   ./my_program --platform=sim --seed=7  the simulator: virtual time, seed 7
//   ./my_program --platform=sim --seed=7 --strategy=fifo --nodes=3 --cpus=8
//
// Flags: --platform=threads|sim (default threads), --seed=N (default 1), --strategy=random|fifo
// (sim), --nodes=N and --cpus=N (the cluster shape; default 3 nodes of 8 CPUs), --help.
// Returns 0 when the driver finished, 1 when it threw or the run failed (the reason and, under
// sim, the seed are printed to stderr), 2 for bad flags. Linked from the `troupe_main` library.
#pragma once

#include "absl/functional/any_invocable.h"
#include "runtime/system.h"

namespace troupe {

int run_main(int argc, char** argv, absl::AnyInvocable<void(System&)> driver);

}  // namespace troupe
