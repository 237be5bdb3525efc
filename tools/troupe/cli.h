// The `troupe` command-line tool as a function, so tests can run it in-process against their
// own registry (tools/troupe/main.cc calls it with the built-in scenarios).
//
//   scenarios::Registry registry;
//   scenarios::register_builtin_scenarios(registry);
//   int code = run_cli({"run", "counter", "--seeds", "1..100"}, registry, stdout, stderr);
//
// Results and reports go to `out`; usage errors (`troupe: <what is wrong>`) and progress go to
// `err`. Returns the exit status: kExitPassed, kExitFailed or kExitUsage (tools/troupe/args.h).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "scenarios/scenario.h"
#include "tools/troupe/args.h"

namespace troupe::cli {

// `args` excludes the program name.
int run_cli(const std::vector<std::string>& args, const scenarios::Registry& registry, std::FILE* out,
            std::FILE* err);

// The subcommands, after parsing.
int list_scenarios(const scenarios::Registry& registry, std::FILE* out);
int run_command(const RunCommand& command, const scenarios::Registry& registry, std::FILE* out, std::FILE* err);
int replay_command(const ReplayCommand& command, const scenarios::Registry& registry, std::FILE* out, std::FILE* err);

}  // namespace troupe::cli
