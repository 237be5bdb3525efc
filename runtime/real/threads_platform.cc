#include "runtime/real/threads_platform.h"
