// Fixture: the other scanned directories and extensions count too.
#pragma once
#include <chrono>
inline auto wall_now() { return std::chrono::system_clock::now(); }
inline int gen() { std::jthread t([] {}); absl::BitGen bitgen; return 0; }
