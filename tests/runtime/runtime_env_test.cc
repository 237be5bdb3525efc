// runtime_env (Ray's runtime_env, env_vars and working_dir): an actor reads its worker's
// environment through this_actor::env and this_actor::working_dir, the same on every platform;
// CUDA_VISIBLE_DEVICES is the runtime's, from the actor's GPUs; bad environments fail at spawn.
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/troupe.h"
#include "sim/sim_run.h"
#include "tests/runtime/backends.h"

namespace troupe {
namespace {

class Configured {
 public:
  Configured() : model_path_(this_actor::env("MODEL_PATH").value_or("(unset)")) {}
  std::string model_path() const { return model_path_; }
  std::optional<std::string> var(const std::string& name) { return this_actor::env(name); }
  std::string dir() { return this_actor::working_dir(); }
  int restarts() { return this_actor::restart_count(); }
  void crash() { this_actor::crash(); }

 private:
  std::string model_path_;
};
TROUPE_ACTOR(Configured, &Configured::model_path, &Configured::var, &Configured::dir, &Configured::restarts,
             &Configured::crash);

class RuntimeEnvTest : public ::testing::TestWithParam<Backend> {};

TEST_P(RuntimeEnvTest, AnActorReadsItsVariablesAndWorkingDirectoryAlsoAfterARestart) {
  absl::AnyInvocable<void(System&)> driver = [](System& sys) {
    auto model = sys.spawn<Configured>({.max_restarts = 1,
                                        .runtime_env = {.env_vars = {{"MODEL_PATH", "/models/my_model"}, {"EMPTY", ""}},
                                                        .working_dir = "/srv/model"}});
    EXPECT_EQ(sys.get(model.call(&Configured::model_path)), "/models/my_model");  // read in the constructor
    EXPECT_EQ(sys.get(model.call(&Configured::var, std::string("EMPTY"))), std::optional<std::string>(""));
    EXPECT_EQ(sys.get(model.call(&Configured::var, std::string("HOME"))), std::nullopt);  // not the real environment
    EXPECT_EQ(sys.get(model.call(&Configured::var, std::string("CUDA_VISIBLE_DEVICES"))),
              std::optional<std::string>(""));  // no GPUs: Ray's empty value
    EXPECT_EQ(sys.get(model.call(&Configured::dir)), "/srv/model");
    Ref<void> crashed = model.call(&Configured::crash);
    EXPECT_THROW(sys.get(crashed), Error);
    EXPECT_EQ(sys.get(model.with({.max_task_retries = -1}).call(&Configured::restarts)), 1);
    EXPECT_EQ(sys.get(model.call(&Configured::model_path)), "/models/my_model");
    auto plain = sys.spawn<Configured>({});
    EXPECT_EQ(sys.get(plain.call(&Configured::model_path)), "(unset)");
    EXPECT_EQ(sys.get(plain.call(&Configured::dir)), "");
  };
  run_on(GetParam(), 1, 4, driver);
}

INSTANTIATE_TEST_SUITE_P(Platforms, RuntimeEnvTest, kBothBackends, backend_name);

TEST(RuntimeEnv, CudaVisibleDevicesNamesTheActorsGpus) {
  sim::SimRunOptions options{.seed = 3,
                             .cluster = {.nodes = {{.name = "head", .cpus = 8}, {.name = "gpu", .cpus = 16, .gpus = 4}}}};
  sim::SimRunResult result = sim::run_simulation(options, [](System& sys) {
    const std::string name = "CUDA_VISIBLE_DEVICES";
    auto half = sys.spawn<Configured>({.num_gpus = 0.5});
    auto pair = sys.spawn<Configured>({.num_gpus = 2});
    EXPECT_EQ(sys.get(half.call(&Configured::var, name)), std::optional<std::string>("0"));
    EXPECT_EQ(sys.get(pair.call(&Configured::var, name)), std::optional<std::string>("1,2"));
  });
  EXPECT_TRUE(result.status.ok()) << result.status;
}

TEST(RuntimeEnv, BadEnvironmentsAreRejectedAtSpawn) {
  sim::SimRunResult result = sim::run_simulation({.seed = 1}, [](System& sys) {
    auto expect_error = [&](RuntimeEnv env, const std::string& expected) {
      try {
        sys.spawn<Configured>({.runtime_env = std::move(env)});
        ADD_FAILURE() << "accepted: " << expected;
      } catch (const std::invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()), expected);
      }
    };
    expect_error({.env_vars = {{"", "x"}}},
                 "spawn: runtime_env names an environment variable '': a name must be non-empty, without '=' or NUL");
    expect_error({.env_vars = {{"A=B", "x"}}},
                 "spawn: runtime_env names an environment variable 'A=B': a name must be non-empty, without '=' or NUL");
    expect_error({.env_vars = {{"CUDA_VISIBLE_DEVICES", "0"}}},
                 "spawn: runtime_env sets CUDA_VISIBLE_DEVICES, which the runtime sets from the actor's GPUs (use "
                 "num_gpus)");
    expect_error({.env_vars = {{"A", std::string("x\0y", 3)}}}, "spawn: runtime_env variable A holds a NUL byte");
    expect_error({.env_vars = {{"BIG", std::string(kRuntimeEnvBytesMax, 'x')}}},
                 "spawn: runtime_env holds 65539 bytes (the limit is 65536)");
    RuntimeEnv many;
    for (size_t i = 0; i <= kRuntimeEnvVarsMax; ++i) many.env_vars["V" + std::to_string(i)] = "1";
    expect_error(many, "spawn: runtime_env sets 257 environment variables (the limit is 256)");
  });
  EXPECT_TRUE(result.status.ok()) << result.status;
}

}  // namespace
}  // namespace troupe
