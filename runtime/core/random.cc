#include "runtime/core/random.h"
