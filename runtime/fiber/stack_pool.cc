#include "runtime/fiber/stack_pool.h"
