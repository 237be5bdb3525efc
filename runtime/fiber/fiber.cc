#include "runtime/fiber/fiber.h"
