// troupe: list, sweep and replay scenarios (DESIGN §7). See tools/troupe/args.h for the usage.
#include <cstdio>
#include <string>
#include <vector>

#include "scenarios/scenario.h"
#include "tools/troupe/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  troupe::scenarios::Registry registry;
  troupe::scenarios::register_builtin_scenarios(registry);
  return troupe::cli::run_cli(args, registry, stdout, stderr);
}
