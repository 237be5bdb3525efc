// Fixture for tools/check_determinism_rules.sh: each violation below must be reported, at its line
// (the #include lines are not violations). Never compiled. The expected report is ../expected.txt.
#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>
#include <unordered_map>

namespace fixture {

void threads() {
  std::thread worker([] {});
  auto f = std::async([] { return 1; });
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

long clocks() {
  auto a = std::chrono::steady_clock::now();
  auto b = std::chrono::system_clock::now();
  return time(nullptr) + ::getpid() + absl::Now(); /* comment */ using C = std::chrono::high_resolution_clock;
}

int randomness(std::vector<int>& v) {
  srand(42);
  std::random_device rd;
  std::uniform_int_distribution<int> dist(0, 9);
  std::shuffle(v.begin(), v.end(), std::mt19937(rd()));
  return std::rand() + 1'000'000; std::normal_distribution<double> n;
}

std::unordered_map<int, int> table; /* a block comment
   that ends here */ std::unordered_set<int> after_block;
const char* s = R"raw(std::thread inside a raw string
still raw)raw"; int x = rand();
int escaped_without_reason = rand();  // determinism: allowed ()

}  // namespace fixture
