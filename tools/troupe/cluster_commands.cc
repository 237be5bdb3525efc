#include "tools/troupe/cluster_commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "fmt/format.h"
#include "runtime/cluster/cluster_main.h"
#include "runtime/net/handshake.h"

namespace troupe::cli {

namespace {

uint64_t machine_cpus(uint64_t asked) {
  if (asked > 0) return asked;
  const unsigned threads = std::thread::hardware_concurrency();
  return threads > 0 ? threads : 1;
}

// The head's token: from the file, or a fresh one written to it (mode 0600) when it does not
// exist; from $TROUPE_TOKEN without a file.
absl::StatusOr<std::string> head_token(const std::string& path, std::FILE* err) {
  if (path.empty() || access(path.c_str(), F_OK) == 0) return read_token(path);
  absl::StatusOr<std::string> fresh = net::random_token();
  if (!fresh.ok()) return fresh.status();
  const std::string& token = *fresh;
  const mode_t previous = umask(077);
  std::ofstream out(path);
  out << token << "\n";
  out.close();
  umask(previous);
  if (!out) return absl::InvalidArgumentError(fmt::format("--token-file: cannot write '{}'", path));
  fmt::print(err, "troupe head: wrote a new cluster token to {} (give it to every node and driver)\n", path);
  return token;
}

}  // namespace

int head_command(const HeadCommand& command, std::FILE* err) {
  absl::StatusOr<std::string> token = head_token(command.token_file, err);
  if (!token.ok()) {
    fmt::print(err, "troupe: {}\n", std::string(token.status().message()));
    return 1;  // the daemon could not start
  }
  cluster::HeadOptions options{.bind_address = command.bind_address, .port = command.port, .token = *token,
                               .storage_directory = command.storage_directory};
  options.node = {.name = command.name, .cpus = static_cast<double>(machine_cpus(command.cpus)),
                  .memory_bytes = static_cast<int64_t>(command.memory_gb) << 30, .gpus = static_cast<int>(command.gpus)};
  if (command.bind_address != "127.0.0.1" && command.bind_address != "localhost" && command.bind_address != "::1") {
    fmt::print(err, "troupe head: listening beyond this machine on {}: anyone who can reach the port and holds the "
                    "token can run code here (docs/cluster.md, security)\n", command.bind_address);
  }
  std::fflush(err);
  return cluster::head_main(options, "");
}

int node_command(const NodeCommand& command, std::FILE* err) {
  absl::StatusOr<std::string> token = read_token(command.token_file);
  if (!token.ok()) {
    fmt::print(err, "troupe: {}\n", std::string(token.status().message()));
    return 1;  // the daemon could not start
  }
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  cluster::NodeDaemonOptions options{.head_host = command.head_host, .head_port = command.head_port,
                                     .token = *token, .worker_binary = command.worker_binary};
  options.node = {.name = command.name.empty() ? fmt::format("{}-{}", host, getpid()) : command.name,
                  .cpus = static_cast<double>(machine_cpus(command.cpus)),
                  .memory_bytes = static_cast<int64_t>(command.memory_gb) << 30,
                  .gpus = static_cast<int32_t>(command.gpus), .gpu_memory_bytes = int64_t{16} << 30,
                  .gpu_flops = 100e12, .gpu_bandwidth_bytes_per_s = 1e12};
  return cluster::node_main(options);
}

}  // namespace troupe::cli
