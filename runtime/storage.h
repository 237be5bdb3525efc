// troupe::storage: the cluster's durable object store, for checkpoints.
//
// A key-value store shared by the whole cluster (the driver and every actor, on every node) and
// owned by the platform, not by any process: what it holds survives actor restarts and process
// and node crashes. Under the simulator it has latency, transient errors and write loss
// (sim/storage.h, fault plans); on the threads platform it is in memory or a directory of files
// (ThreadsPlatformOptions::storage).
//
// Every operation blocks the calling fiber (never the platform thread) until the store answers,
// and takes effect at one instant, its acknowledgement: a put is visible to every get that
// completes after put returned, never to one that completes before the store acknowledged it. A
// put still in flight when its process crashes is lost: it is never applied.
//
// Failures throw StorageError (runtime/errors.h): may_have_been_applied() tells a failed write
// that certainly did not happen from one that may have; transient() says a retry may succeed.
// Keys are 1 to 80 bytes of printable ASCII ('/' allowed: "ckpt/a2.1"); values at most 4 MiB
// (kStorageKeyBytesMax, kStorageValueBytesMax). Bad keys and sizes throw StorageError at once.
//
//   troupe::storage::put_value("ckpt/counter", state_);          // before replying
//   std::optional<State> saved = troupe::storage::get_value<State>("ckpt/counter");
//
// Fencing (split brain). A falsely suspected actor instance keeps running after its successor
// started (docs/semantics.md, "Split brain"); if both write the same checkpoint, the old one can
// overwrite, or acknowledge writes its successor never sees. Fencing tokens (Kleppmann's
// remedy) stop it: each instance takes a token that grows with each replacement, fences the key
// with it when it restores, and writes with it:
//
//   const uint64_t token = troupe::this_actor::restart_count() + 1;
//   state_ = troupe::storage::get_value<State>("ckpt/counter", {.fence = token}).value_or(State{});
//   ...
//   troupe::storage::put_value("ckpt/counter", state_, {.fence = token});  // throws fenced()
//
// A fenced get raises the key's fence to its token (never lowers it) and reads, atomically; a
// fenced put or remove is refused, with StorageError::fenced(), when its token is below the
// key's fence (not applied, not transient), and otherwise raises the fence to its token. So once
// the successor's get is acknowledged, no write of an older instance is applied. Token 0 (the
// default) is unfenced: it neither checks nor changes the fence. Fences are durable like values
// and outlive remove. runtime/storage_service.h has the exact rules.
//
// REQUIRES (all): called on a fiber of a Troupe platform (a driver, an actor's constructor or
// method).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "fmt/format.h"
#include "runtime/errors.h"
#include "runtime/storage_service.h"
#include "runtime/wire/codec.h"
#include "runtime/wire/serializable.h"

namespace troupe::storage {

// Options of one operation: `{.fence = token}` fences it (see "Fencing" above); {} does not.
using Options = StorageOperationOptions;

// Stores `bytes` under `key`; returns once the write is durable. Throws StorageError; with
// fenced() when options.fence is below the key's fence (nothing was written).
void put(std::string_view key, std::string bytes, Options options = {});

// The bytes under `key`, or nullopt if it holds nothing. A fenced get first raises the key's
// fence to options.fence. Throws StorageError (a failed fenced get may or may not have raised
// the fence; retrying it is harmless).
std::optional<std::string> get(std::string_view key, Options options = {});

// Deletes `key`'s value (nothing happens if it holds nothing); returns once that is durable.
// Fenced like put; the key keeps its fence. Throws StorageError.
void remove(std::string_view key, Options options = {});

// put(key, msgpack encoding of `value`, options).
template <Serializable T>
void put_value(std::string_view key, const T& value, Options options = {}) {
  put(key, wire::encode(value), options);
}

// The value under `key` decoded as T, or nullopt (fenced like get). Throws StorageError, also
// when the stored bytes are not a T (not transient; nothing was written).
template <Serializable T>
std::optional<T> get_value(std::string_view key, Options options = {}) {
  std::optional<std::string> bytes = get(key, options);
  if (!bytes) return std::nullopt;
  absl::StatusOr<T> value = wire::decode<T>(*bytes, "the stored value");
  if (!value.ok()) {
    throw StorageError(fmt::format("get '{}': {}", describe_storage_key(key), value.status().message()), /*may_have_been_applied=*/false,
                       /*transient=*/false);
  }
  return *std::move(value);
}

}  // namespace troupe::storage
