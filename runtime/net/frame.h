// Frames: how the cluster platform's TCP connections cut a byte stream into messages.
//
// A frame is a 4-byte big-endian payload length followed by the payload (msgpack bytes, see
// runtime/wire). A peer may send any bytes at all, so the decoder trusts nothing: a length above
// the connection's limit is refused before a single payload byte is buffered (a 4 GiB prefix costs
// the server nothing), and the first error is sticky, so a connection that sent garbage is closed
// rather than resynchronised.
//
//   FrameDecoder decoder({.max_frame_bytes = 1 << 20});
//   if (absl::Status s = decoder.feed(bytes_from_socket); !s.ok()) close(s);  // "frame of 4294967295 ..."
//   while (std::optional<std::string> payload = decoder.next()) handle(*payload);
//
// Thread-compatible: one decoder per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace troupe::net {

inline constexpr size_t kFrameHeaderBytes = 4;
// The default and the largest payload a frame may carry (the 4-byte length allows 4 GiB; nobody
// needs that, and a limit is what keeps a hostile peer from making the server allocate it).
inline constexpr size_t kFrameBytesDefault = size_t{64} << 20;
inline constexpr size_t kFrameBytesMax = size_t{1} << 30;

struct FrameOptions {
  size_t max_frame_bytes = kFrameBytesDefault;  // 1 to kFrameBytesMax
};

// The frame carrying `payload`. REQUIRES: payload.size() <= kFrameBytesMax.
std::string encode_frame(std::string_view payload);

class FrameDecoder {
 public:
  explicit FrameDecoder(FrameOptions options = {});

  // Appends bytes read from the connection. InvalidArgument when a frame header announces more
  // than max_frame_bytes ("frame of N bytes exceeds the limit of M bytes"); after an error every
  // call returns it again and next() yields nothing.
  absl::Status feed(std::string_view bytes);

  // The next complete payload, in arrival order, or nothing until more bytes come.
  std::optional<std::string> next();

  // Bytes of an incomplete frame held (header included): a connection closing with some is
  // truncated.
  size_t pending_bytes() const { return partial_.size(); }
  const absl::Status& status() const { return status_; }

 private:
  FrameOptions options_;
  std::string partial_;             // the incomplete frame so far, header included
  std::deque<std::string> ready_;   // complete payloads not yet taken
  absl::Status status_;
};

}  // namespace troupe::net
