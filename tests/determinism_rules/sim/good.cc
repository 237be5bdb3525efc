// Fixture for tools/check_determinism_rules.sh: nothing in this file may be reported.
// Comments may name std::thread, rand(), steady_clock and std::unordered_map freely.
#include <map>

namespace fixture {

/* A block comment about std::random_device
   and time(nullptr) over two lines. */

struct Rng {
  unsigned long long next();
};
struct World {
  long time() const;
  int rand() const;
};

int uses(World& w, World* p, Rng& r) {
  auto t = std::chrono::steady_clock::now();  // determinism: allowed (fixture: the escape works)
  const char* msg = "std::thread and rand() inside a string are text, not calls";
  char quote = '"';  const char* after = "std::async";  // quote chars do not confuse the scanner
  long big = 1'000'000;  // digit separators are not character literals
  std::map<int, int> ordered;  // std::map is fine
  return w.rand() + p->rand() + static_cast<int>(w.time() + r.next()) + World::rand_count + my_rand(3) +
         operand(1) + std::thread_count + timer(0);
}

}  // namespace fixture
