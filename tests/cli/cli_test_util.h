// Running the `troupe` CLI in-process (run_cli) or as the built binary, capturing its output.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "scenarios/scenario.h"
#include "tools/troupe/cli.h"

namespace troupe::testing {

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

inline std::string read_all(std::FILE* file) {
  std::rewind(file);
  std::string text;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) text.append(buffer, n);
  return text;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// run_cli(args) against `registry`, with stdout and stderr captured.
inline CliResult run_cli_captured(const std::vector<std::string>& args, const scenarios::Registry& registry) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  CliResult result;
  result.code = cli::run_cli(args, registry, out, err);
  std::fflush(out);
  std::fflush(err);
  result.out = read_all(out);
  result.err = read_all(err);
  std::fclose(out);
  std::fclose(err);
  return result;
}

// Runs a shell command line; returns its exit status (or -1 if it did not exit normally).
inline int run_shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace troupe::testing
