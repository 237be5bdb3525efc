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

// Stores `bytes` under `key`; returns once the write is durable. Throws StorageError.
void put(std::string_view key, std::string bytes);

// The bytes under `key`, or nullopt if it holds nothing. Throws StorageError.
std::optional<std::string> get(std::string_view key);

// Deletes `key` (nothing happens if it holds nothing); returns once that is durable. Throws
// StorageError.
void remove(std::string_view key);

// put(key, msgpack encoding of `value`).
template <Serializable T>
void put_value(std::string_view key, const T& value) {
  put(key, wire::encode(value));
}

// The value under `key` decoded as T, or nullopt. Throws StorageError, also when the stored
// bytes are not a T (not transient; nothing was written).
template <Serializable T>
std::optional<T> get_value(std::string_view key) {
  std::optional<std::string> bytes = get(key);
  if (!bytes) return std::nullopt;
  absl::StatusOr<T> value = wire::decode<T>(*bytes, "the stored value");
  if (!value.ok()) {
    throw StorageError(fmt::format("get '{}': {}", describe_storage_key(key), value.status().message()), /*may_have_been_applied=*/false,
                       /*transient=*/false);
  }
  return *std::move(value);
}

}  // namespace troupe::storage
