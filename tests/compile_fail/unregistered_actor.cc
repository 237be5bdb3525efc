// Must NOT compile: spawning a class that has no TROUPE_ACTOR. The build fails with
// "troupe: this class is not an actor class".
#include "runtime/troupe.h"

class Plain {
 public:
  int work() { return 1; }
};

void driver(troupe::System& sys) { (void)sys.spawn<Plain>(); }
