// `troupe head` and `troupe node`: a real cluster's daemons in the foreground (docs/cluster.md).
#pragma once

#include <cstdio>

#include "tools/troupe/args.h"

namespace troupe::cli {

// Runs until Ctrl-C or SIGTERM. Exit status 0 after a clean stop; 1 when the daemon could not
// start (it cannot listen, the head cannot be reached or refuses the token; the reason on `err`).
int head_command(const HeadCommand& command, std::FILE* err);
int node_command(const NodeCommand& command, std::FILE* err);

}  // namespace troupe::cli
