#include "tools/troupe/ddmin.h"

#include <algorithm>
#include <cassert>
#include <numeric>
#include <optional>
#include <set>

namespace troupe::cli {
namespace {

// Runs `fails` within the budget and remembers the subsets that passed.
class Tester {
 public:
  Tester(uint64_t max_tests, absl::FunctionRef<bool(std::span<const size_t>)> fails)
      : max_tests_(max_tests), fails_(fails) {}

  // Whether `subset` fails; nullopt when the budget is spent.
  std::optional<bool> test(const std::vector<size_t>& subset) {
    if (passed_.contains(subset)) return false;
    if (tests_ >= max_tests_) return std::nullopt;
    ++tests_;
    const bool failed = fails_(subset);
    if (!failed) passed_.insert(subset);
    return failed;
  }

  uint64_t tests() const { return tests_; }

 private:
  uint64_t max_tests_;
  absl::FunctionRef<bool(std::span<const size_t>)> fails_;
  uint64_t tests_ = 0;
  std::set<std::vector<size_t>> passed_;
};

// `set` cut into n contiguous chunks whose sizes differ by at most one. REQUIRES: 1 <= n <= size.
std::vector<std::vector<size_t>> chunks_of(const std::vector<size_t>& set, size_t n) {
  assert(n >= 1);
  assert(n <= set.size());
  std::vector<std::vector<size_t>> chunks(n);
  size_t begin = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t size = set.size() / n + (i < set.size() % n ? 1 : 0);
    chunks[i].assign(set.begin() + static_cast<ptrdiff_t>(begin), set.begin() + static_cast<ptrdiff_t>(begin + size));
    begin += size;
  }
  assert(begin == set.size());
  return chunks;
}

std::vector<size_t> without(const std::vector<size_t>& set, const std::vector<size_t>& chunk) {
  std::vector<size_t> rest;
  std::set_difference(set.begin(), set.end(), chunk.begin(), chunk.end(), std::back_inserter(rest));
  return rest;
}

}  // namespace

DdminResult ddmin(size_t count, const DdminOptions& options, absl::FunctionRef<bool(std::span<const size_t>)> fails) {
  Tester tester(options.max_tests, fails);
  DdminResult result;
  result.kept.resize(count);
  std::iota(result.kept.begin(), result.kept.end(), size_t{0});
  const auto finish = [&](bool complete) {
    result.tests = tester.tests();
    result.complete = complete;
    return result;
  };
  if (options.allow_empty && count > 0) {
    const std::optional<bool> empty_fails = tester.test({});
    if (!empty_fails) return finish(false);
    if (*empty_fails) {
      result.kept.clear();
      return finish(true);
    }
  }
  std::vector<size_t>& set = result.kept;
  size_t n = 2;
  while (set.size() >= 2) {
    n = std::min(n, set.size());
    const std::vector<std::vector<size_t>> chunks = chunks_of(set, n);
    bool reduced = false;
    for (const std::vector<size_t>& chunk : chunks) {  // a chunk alone
      const std::optional<bool> failed = tester.test(chunk);
      if (!failed) return finish(false);
      if (*failed) {
        set = chunk;
        n = 2;
        reduced = true;
        break;
      }
    }
    // With two chunks the complements are the chunks themselves, tested above.
    for (size_t i = 0; !reduced && n > 2 && i < chunks.size(); ++i) {  // everything but one chunk
      std::vector<size_t> rest = without(set, chunks[i]);
      const std::optional<bool> failed = tester.test(rest);
      if (!failed) return finish(false);
      if (*failed) {
        set = std::move(rest);
        n = n - 1;
        reduced = true;
      }
    }
    if (reduced) continue;
    if (n == set.size()) break;  // single items, none removable: 1-minimal
    n = std::min(2 * n, set.size());
  }
  return finish(true);
}

}  // namespace troupe::cli
