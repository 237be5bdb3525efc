// Fixture: *_test.cc files are not scanned (tests may use real threads and clocks).
#include <thread>
void test() { std::thread t([] {}); t.join(); srand(1); }
