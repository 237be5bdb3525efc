// troupe: list, sweep and replay scenarios (DESIGN §7). See tools/troupe/args.h for the usage.
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "runtime/cluster/cluster_main.h"
#include "scenarios/scenario.h"
#include "tools/troupe/cli.h"

int main(int argc, char** argv) {
  // A worker, head or node daemon of a cluster this binary drives (runtime/cluster/cluster_main.h).
  if (std::optional<int> code = troupe::cluster::run_cluster_role_if_asked()) return *code;
  std::vector<std::string> args(argv + 1, argv + argc);
  troupe::scenarios::Registry registry;
  troupe::scenarios::register_builtin_scenarios(registry);
  return troupe::cli::run_cli(args, registry, stdout, stderr);
}
