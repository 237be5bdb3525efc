// Frames (runtime/net/frame.h): payloads come out whole and in order however the bytes are cut,
// and a hostile length is refused before anything is buffered.
#include "runtime/net/frame.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace troupe::net {
namespace {

std::vector<std::string> drain(FrameDecoder& decoder) {
  std::vector<std::string> payloads;
  while (std::optional<std::string> payload = decoder.next()) payloads.push_back(*payload);
  return payloads;
}

TEST(Frame, TheHeaderIsTheBigEndianLength) {
  EXPECT_EQ(encode_frame("abc"), std::string("\0\0\0\x03" "abc", 7));
  EXPECT_EQ(encode_frame(std::string(258, 'x')).substr(0, 4), std::string("\0\0\x01\x02", 4));
  EXPECT_EQ(encode_frame(""), std::string("\0\0\0\0", 4));
}

TEST(Frame, PayloadsComeOutWholeAndInOrderAtEveryCut) {
  const std::vector<std::string> sent = {"first", "", std::string(1000, 'z'), "last"};
  std::string stream;
  for (const std::string& payload : sent) stream += encode_frame(payload);
  // Every split of the stream into two feeds, and byte by byte.
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    FrameDecoder decoder;
    ASSERT_TRUE(decoder.feed(std::string_view(stream).substr(0, cut)).ok());
    ASSERT_TRUE(decoder.feed(std::string_view(stream).substr(cut)).ok());
    EXPECT_EQ(drain(decoder), sent) << "cut at byte " << cut;
    EXPECT_EQ(decoder.pending_bytes(), 0u);
  }
  FrameDecoder decoder;
  for (char byte : stream) ASSERT_TRUE(decoder.feed(std::string_view(&byte, 1)).ok());
  EXPECT_EQ(drain(decoder), sent);
}

TEST(Frame, AnIncompleteFrameIsHeldUntilTheRestComes) {
  FrameDecoder decoder;
  const std::string frame = encode_frame("hello");
  ASSERT_TRUE(decoder.feed(std::string_view(frame).substr(0, 6)).ok());
  EXPECT_FALSE(decoder.next().has_value());
  EXPECT_EQ(decoder.pending_bytes(), 6u);
  ASSERT_TRUE(decoder.feed(std::string_view(frame).substr(6)).ok());
  EXPECT_EQ(decoder.next(), std::optional<std::string>("hello"));
}

TEST(Frame, AFrameAtTheLimitPassesAndOneByteMoreIsRefused) {
  FrameDecoder at_limit({.max_frame_bytes = 16});
  ASSERT_TRUE(at_limit.feed(encode_frame(std::string(16, 'a'))).ok());
  EXPECT_EQ(at_limit.next(), std::optional<std::string>(std::string(16, 'a')));

  FrameDecoder over({.max_frame_bytes = 16});
  const absl::Status status = over.feed(encode_frame(std::string(17, 'a')));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "frame of 17 bytes exceeds the limit of 16 bytes");
}

TEST(Frame, AHugeLengthIsRefusedFromItsHeaderAlone) {
  FrameDecoder decoder;  // the default limit, 64 MiB
  const absl::Status status = decoder.feed(std::string("\xff\xff\xff\xff", 4));
  EXPECT_EQ(status.message(), "frame of 4294967295 bytes exceeds the limit of 67108864 bytes");
  EXPECT_EQ(decoder.pending_bytes(), 0u);  // nothing buffered for it
}

TEST(Frame, TheFirstErrorIsStickyAndDropsWhatWasQueued) {
  FrameDecoder decoder({.max_frame_bytes = 8});
  std::string stream = encode_frame("ok");
  stream += std::string("\0\0\x10\0", 4);  // 4096 bytes announced
  EXPECT_FALSE(decoder.feed(stream).ok());
  EXPECT_FALSE(decoder.next().has_value());
  const absl::Status again = decoder.feed(encode_frame("later"));
  EXPECT_EQ(again.message(), "frame of 4096 bytes exceeds the limit of 8 bytes");
  EXPECT_FALSE(decoder.next().has_value());
}

}  // namespace
}  // namespace troupe::net
