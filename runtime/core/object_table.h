// ObjectTable: a process's objects — the ones it owns (its calls' results, its puts) and the
// ones it borrowed (fetched from their owner for a get).
//
// An entry is pending until its payload arrives, then ready forever (objects are immutable).
// Fibers waiting on a pending entry are listed in it and unparked when it fills; borrowers
// (other processes that asked the owner for it) are listed too and sent the payload.
// An owned entry is erased when every Ref to it in this process is gone and none was sent away
// (see RefToken in runtime/ref.h). Lookup only: the table is never iterated, so its hash order cannot reach behaviour.
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
  bool released = false;    // owned: every Ref copy is gone; drop the value when it arrives
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

  // The last Ref to an owned object is gone: erase it now if it is ready, else once it fills.
  void release(ObjectId id) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    if (it->second.ready) {
      entries_.erase(it);
    } else {
      it->second.released = true;
    }
  }
  void erase(ObjectId id) { entries_.erase(id); }

 private:
  absl::node_hash_map<ObjectId, ObjectEntry> entries_;
};

}  // namespace troupe::core
