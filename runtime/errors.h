// The exceptions a user sees at `get`, and what each one means.
//
// Inside the runtime every expected failure is a value (absl::Status, wire::ObjectPayload); it
// becomes one of these typed exceptions only at the user's `get`, `wait`, `spawn` or
// `get_actor`. No exception crosses a fiber boundary.
//
//   TaskError                 the method threw; type_name() and message() are the original's
//   ActorDiedError            the actor is confirmed dead; cause() says why (killed, constructor
//                             threw, exited, process crashed, ...). A call that reports this
//                             either never ran or ran and its result was lost with the actor.
//   ActorUnavailableError     the actor could not be reached right now; the call may or may not
//                             have run
//   GetTimeoutError           get(ref, timeout) ran out of time; the call goes on
//   PendingCallsLimitExceeded the caller has max_pending_calls calls outstanding already
//   ActorUnschedulableError   the actor can never be placed (e.g. a hard node affinity to a node
//                             that does not exist)
//   ActorNameTakenError       spawn with a name that is in use, without get_if_exists
//   GpuOutOfMemory            an allocation exceeded the simulated GPU's memory
//   GpuLostError              gpu::run or gpu::alloc on a device that has been lost
//   StorageError              a storage put, get or remove failed (runtime/storage.h); says
//                             whether a write may have been applied, whether to retry, and
//                             whether a fenced write was refused (fenced())
#pragma once

#include <stdexcept>
#include <string>

namespace troupe {

// The base of every Troupe error.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class TaskError : public Error {
 public:
  TaskError(std::string type_name, std::string message, std::string where)
      : Error(where + " threw " + type_name + ": " + message),
        type_name_(std::move(type_name)),
        message_(std::move(message)) {}
  // The exception's type as written in C++ ("std::out_of_range", "MyError").
  const std::string& type_name() const { return type_name_; }
  // Its what().
  const std::string& message() const { return message_; }

 private:
  std::string type_name_;
  std::string message_;
};

class ActorDiedError : public Error {
 public:
  explicit ActorDiedError(std::string cause) : Error("actor died: " + cause), cause_(std::move(cause)) {}
  const std::string& cause() const { return cause_; }

 private:
  std::string cause_;
};

class ActorUnavailableError : public Error {
 public:
  using Error::Error;
};

class GetTimeoutError : public Error {
 public:
  using Error::Error;
};

class PendingCallsLimitExceeded : public Error {
 public:
  using Error::Error;
};

class ActorUnschedulableError : public Error {
 public:
  using Error::Error;
};

class ActorNameTakenError : public Error {
 public:
  using Error::Error;
};

class GpuOutOfMemory : public Error {
 public:
  using Error::Error;
};

class GpuLostError : public Error {
 public:
  using Error::Error;
};

// A storage operation failed. A failed write (put or remove) either was certainly not applied
// (may_have_been_applied() false: a bad key, a full store, a write lost before its
// acknowledgement, a fenced write) or may have been (true: a transient error after the store
// received it, an I/O error); a reader cannot tell which without reading again. transient() is
// true when the same operation may succeed if retried. fenced() is true when a fenced write was
// refused because the key's fence is above its token (runtime/storage.h, "Fencing"): a writer
// with a newer token has taken over the key; the write was not applied and retrying it is
// useless (fenced() implies !transient() and !may_have_been_applied()).
class StorageError : public Error {
 public:
  StorageError(std::string message, bool may_have_been_applied, bool transient, bool fenced = false)
      : Error("storage: " + message),
        may_have_been_applied_(may_have_been_applied),
        transient_(transient),
        fenced_(fenced) {}
  bool may_have_been_applied() const { return may_have_been_applied_; }
  bool transient() const { return transient_; }
  bool fenced() const { return fenced_; }

 private:
  bool may_have_been_applied_;
  bool transient_;
  bool fenced_;
};

}  // namespace troupe
