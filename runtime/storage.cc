// The public storage API over the platform's StorageService.
#include "runtime/storage.h"

#include <cassert>
#include <stdexcept>

#include "runtime/platform.h"

namespace troupe::storage {
namespace {

StorageService& service(std::string_view operation) {
  ExecutionContext* context = ExecutionContext::current();
  if (context == nullptr || context->platform == nullptr || !context->fiber.valid()) {
    throw std::logic_error(fmt::format("troupe::storage::{} must be called on a fiber of a Troupe platform", operation));
  }
  return context->platform->storage();
}

// The exception for a failed operation; `write` says whether it was a put or a remove.
[[noreturn]] void throw_error(std::string_view operation, std::string_view key, const absl::Status& status,
                              bool write) {
  assert(!status.ok());
  const bool transient = absl::IsUnavailable(status) || absl::IsAborted(status);
  const bool may_have_been_applied = write && storage_write_may_have_applied(status);
  const bool fenced = write && storage_fenced(status);
  assert(!(fenced && (transient || may_have_been_applied)));
  throw StorageError(fmt::format("{} '{}' failed{}: {}", operation, describe_storage_key(key),
                                 !write ? "" : may_have_been_applied ? " (the write may have been applied)"
                                                                     : " (the write was not applied)",
                                 status.message()),
                     may_have_been_applied, transient, fenced);
}

}  // namespace

void put(std::string_view key, std::string bytes, Options options) {
  ProcessTurn turn;
  absl::Status status = service("put").put(key, std::move(bytes), options);
  if (!status.ok()) throw_error("put", key, status, /*write=*/true);
}

std::optional<std::string> get(std::string_view key, Options options) {
  ProcessTurn turn;
  absl::StatusOr<std::optional<std::string>> value = service("get").get(key, options);
  if (!value.ok()) throw_error("get", key, value.status(), /*write=*/false);
  return *std::move(value);
}

void remove(std::string_view key, Options options) {
  ProcessTurn turn;
  absl::Status status = service("remove").remove(key, options);
  if (!status.ok()) throw_error("remove", key, status, /*write=*/true);
}

}  // namespace troupe::storage
