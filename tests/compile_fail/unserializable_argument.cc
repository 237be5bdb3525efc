// Must NOT compile: a method parameter of a type msgpack cannot encode. The build fails with
// "troupe: this type cannot be sent to an actor" (tests/CMakeLists.txt checks the message).
#include "runtime/troupe.h"

struct Opaque {
  int* pointer = nullptr;
};

class Holder {
 public:
  void keep(Opaque value) { value_ = value; }

 private:
  Opaque value_;
};
TROUPE_ACTOR(Holder, &Holder::keep);

void driver(troupe::System& sys) {
  auto holder = sys.spawn<Holder>();
  (void)holder.call(&Holder::keep, Opaque{});
}
