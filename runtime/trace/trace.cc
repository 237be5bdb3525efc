#include "runtime/trace/trace.h"
