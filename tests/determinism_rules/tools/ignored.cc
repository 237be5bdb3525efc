// Fixture: tools/ is outside the simulated code and is not scanned.
#include <thread>
void run() { std::thread t([] {}); t.join(); }
