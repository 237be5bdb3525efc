// ObjectTable: a process's objects — the ones it owns (its calls' results, its puts) and the
// ones it borrowed (fetched from their owner for a get).
//
// An entry is pending until its payload arrives, then ready forever (objects are immutable).
// Fibers waiting on a pending entry are listed in it and unparked when it fills; borrowers
// (other processes that asked the owner for it) are listed too and sent the payload.
// Lookup only: the table is never iterated, so its hash order cannot reach behaviour.
//
// Not thread-safe: owned by one process, used on its strand.
#pragma once

#include <vector>

#include "absl/container/node_hash_map.h"
#include "runtime/ids.h"
#include "runtime/wire/messages.h"

namespace troupe::core {

struct ObjectEntry {
  bool ready = false;
  bool fetch_sent = false;  // borrowed: GetObject sent to the owner
  wire::ObjectPayload payload;
  std::vector<FiberId> waiters;
  std::vector<ProcessId> borrowers;  // owner side: processes waiting for an ObjectReply
};

class ObjectTable {
 public:
  // The entry for `id`, created pending if absent. Entries have stable addresses.
  ObjectEntry& get_or_create(ObjectId id) { return entries_[id]; }
  ObjectEntry* find(ObjectId id) {
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : &it->second;
  }
  size_t size() const { return entries_.size(); }

 private:
  absl::node_hash_map<ObjectId, ObjectEntry> entries_;
};

}  // namespace troupe::core
