#include "runtime/net/frame.h"

#include <cassert>

#include "fmt/format.h"

namespace troupe::net {
namespace {

uint32_t read_length(std::string_view header) {
  return (uint32_t{static_cast<unsigned char>(header[0])} << 24) |
         (uint32_t{static_cast<unsigned char>(header[1])} << 16) |
         (uint32_t{static_cast<unsigned char>(header[2])} << 8) | uint32_t{static_cast<unsigned char>(header[3])};
}

}  // namespace

std::string encode_frame(std::string_view payload) {
  assert(payload.size() <= kFrameBytesMax);
  const auto length = static_cast<uint32_t>(payload.size());
  std::string frame;
  frame.reserve(kFrameHeaderBytes + payload.size());
  frame.push_back(static_cast<char>(length >> 24));
  frame.push_back(static_cast<char>(length >> 16));
  frame.push_back(static_cast<char>(length >> 8));
  frame.push_back(static_cast<char>(length));
  frame.append(payload);
  return frame;
}

FrameDecoder::FrameDecoder(FrameOptions options) : options_(options) {
  assert(options_.max_frame_bytes >= 1 && options_.max_frame_bytes <= kFrameBytesMax);
}

absl::Status FrameDecoder::feed(std::string_view bytes) {
  if (!status_.ok()) return status_;
  while (!bytes.empty()) {
    // The header first, a byte at a time if it comes that way.
    if (partial_.size() < kFrameHeaderBytes) {
      const size_t take = std::min(kFrameHeaderBytes - partial_.size(), bytes.size());
      partial_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      if (partial_.size() < kFrameHeaderBytes) break;
      const uint32_t length = read_length(partial_);
      if (length > options_.max_frame_bytes) {
        status_ = absl::InvalidArgumentError(
            fmt::format("frame of {} bytes exceeds the limit of {} bytes", length, options_.max_frame_bytes));
        partial_.clear();
        ready_.clear();
        return status_;
      }
      partial_.reserve(kFrameHeaderBytes + length);
    }
    const size_t length = read_length(partial_);
    const size_t missing = kFrameHeaderBytes + length - partial_.size();
    const size_t take = std::min(missing, bytes.size());
    partial_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (partial_.size() == kFrameHeaderBytes + length) {
      ready_.push_back(partial_.substr(kFrameHeaderBytes));
      partial_.clear();
    }
  }
  return status_;
}

std::optional<std::string> FrameDecoder::next() {
  if (!status_.ok() || ready_.empty()) return std::nullopt;
  std::string payload = std::move(ready_.front());
  ready_.pop_front();
  return payload;
}

}  // namespace troupe::net
