// run_main: the main() of a Troupe program — one driver, any platform, chosen on the command line.
//
//   void driver(troupe::System& sys) { ... }
//   int main(int argc, char** argv) { return troupe::run_main(argc, argv, driver); }
//
//   ./my_program                          threads platform (real threads, real time)
//   ./my_program --platform=sim --seed=7  the simulator: virtual time, seed 7
//   ./my_program --platform=sim --seed=7 --strategy=fifo --nodes=3 --cpus=8
//   ./my_program --platform=cluster       a local cluster: this program re-executed as its head,
//                                         node daemons and one worker process per actor
//   TROUPE_TOKEN=... ./my_program --platform=cluster --address=10.0.0.5:7420   a running cluster
//
// A program started as a cluster's worker (TROUPE_CLUSTER_ROLE, runtime/cluster/cluster_main.h)
// runs that role instead of the driver. Flags: --platform=threads|sim|cluster (default threads),
// --address=HOST:PORT (cluster), --seed=N (default 1), --strategy=random|fifo
// (sim), --nodes=N and --cpus=N (the cluster shape; default 3 nodes of 8 CPUs), --help.
// Returns 0 when the driver finished, 1 when it threw or the run failed (the reason and, under
// sim, the seed are printed to stderr), 2 for bad flags. Linked from the `troupe_main` library.
#pragma once

#include "absl/functional/any_invocable.h"
#include "runtime/system.h"

namespace troupe {

int run_main(int argc, char** argv, absl::AnyInvocable<void(System&)> driver);

}  // namespace troupe
