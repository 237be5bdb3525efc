// libFuzzer target: the frame decoder and the handshake parsers against arbitrary bytes. They must
// never crash, leak, or allocate beyond their limits; every refusal is a Status.
//
// Input: byte 0 picks the chunk size the stream is fed in (1 to 256 bytes); the rest is the
// byte stream a peer sent. Every payload the decoder yields goes to all three parsers.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/net/frame.h"
#include "runtime/net/handshake.h"

namespace {

const std::string_view kToken = "0123456789abcdef-fuzz-token";

troupe::net::Nonce fixed_nonce(unsigned char fill) {
  troupe::net::Nonce nonce{};
  nonce.fill(fill);
  return nonce;
}

void parse_everything(std::string_view payload) {
  (void)troupe::net::parse_challenge(payload);
  (void)troupe::net::verify_hello(payload, fixed_nonce(1), kToken);
  (void)troupe::net::verify_welcome(payload, fixed_nonce(2), fixed_nonce(1), kToken);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = size_t{data[0]} + 1;
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  parse_everything(stream);  // the bytes as one payload, too
  troupe::net::FrameDecoder decoder({.max_frame_bytes = 4096});
  while (!stream.empty()) {
    const std::string_view piece = stream.substr(0, chunk);
    stream.remove_prefix(piece.size());
    if (!decoder.feed(piece).ok()) break;
    while (std::optional<std::string> payload = decoder.next()) parse_everything(*payload);
  }
  return 0;
}
