// The fast readers of Call and CallReply (read_call, read_call_reply) against the general path
// (open_envelope + body_as): on every message they accept they must give what the general path
// gives, and they must accept what encode_message produces.
#include "runtime/wire/messages.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/random.h"

namespace troupe::wire {
namespace {

std::optional<Call> general_call(std::string_view bytes) {
  msgpack::zone zone;
  absl::StatusOr<Envelope> envelope = open_envelope(bytes, zone);
  if (!envelope.ok() || envelope->kind != MessageKind::kCall) return std::nullopt;
  return body_as<Call>(*envelope);
}

std::optional<CallReply> general_reply(std::string_view bytes) {
  msgpack::zone zone;
  absl::StatusOr<Envelope> envelope = open_envelope(bytes, zone);
  if (!envelope.ok() || envelope->kind != MessageKind::kCallReply) return std::nullopt;
  return body_as<CallReply>(*envelope);
}

void expect_same(const Call& a, const Call& b) {
  EXPECT_EQ(a.actor, b.actor);
  EXPECT_EQ(a.caller, b.caller);
  EXPECT_EQ(a.sequence, b.sequence);
  EXPECT_EQ(a.incarnation, b.incarnation);
  EXPECT_EQ(a.object, b.object);
  EXPECT_EQ(a.method, b.method);
  EXPECT_EQ(a.method_name, b.method_name);
  EXPECT_EQ(a.args, b.args);
  EXPECT_EQ(a.attempt, b.attempt);
  EXPECT_EQ(a.floor, b.floor);
  EXPECT_EQ(a.concurrency_group, b.concurrency_group);
}

void expect_same(const CallReply& a, const CallReply& b) {
  EXPECT_EQ(a.actor, b.actor);
  EXPECT_EQ(a.sequence, b.sequence);
  EXPECT_EQ(a.incarnation, b.incarnation);
  EXPECT_EQ(a.object, b.object);
  EXPECT_EQ(a.result.status, b.result.status);
  EXPECT_EQ(a.result.bytes, b.result.bytes);
  EXPECT_EQ(a.result.error_type, b.result.error_type);
  EXPECT_EQ(a.result.error_message, b.result.error_message);
}

// Integers at every boundary of msgpack's integer forms, and strings at every boundary of its
// string forms.
const std::vector<uint64_t> kNumbers = {0, 1, 127, 128, 255, 256, 65'535, 65'536, 4'294'967'295u, 4'294'967'296u,
                                        UINT64_MAX};
const std::vector<size_t> kLengths = {0, 1, 31, 32, 255, 256, 65'535, 65'536};

Call sample_call(Rng& rng) {
  auto number = [&] { return kNumbers[rng.below(kNumbers.size())]; };
  auto u32 = [&] { return static_cast<uint32_t>(number()); };
  auto text = [&] { return std::string(kLengths[rng.below(kLengths.size())], static_cast<char>('a' + rng.below(26))); };
  return Call{.actor = number(), .caller = u32(), .sequence = number(), .incarnation = u32(), .object = number(),
              .method = u32(), .method_name = text(), .args = text(), .attempt = u32(), .floor = number(),
              .concurrency_group = text()};
}

CallReply sample_reply(Rng& rng) {
  auto number = [&] { return kNumbers[rng.below(kNumbers.size())]; };
  auto text = [&] { return std::string(kLengths[rng.below(kLengths.size())], static_cast<char>('a' + rng.below(26))); };
  return CallReply{.actor = number(), .sequence = number(), .incarnation = static_cast<uint32_t>(number()),
                   .object = number(),
                   .result = {.status = static_cast<uint8_t>(number()), .bytes = text(), .error_type = text(),
                              .error_message = text()}};
}

TEST(FastMessageReaders, ReadWhatEncodeMessageWrites) {
  Rng rng(7);
  for (int i = 0; i < 300; ++i) {
    SCOPED_TRACE("sample " + std::to_string(i) + " of seed 7");
    Call call = sample_call(rng);
    std::string bytes = encode_message(MessageKind::kCall, call);
    Call fast;
    ASSERT_TRUE(read_call(bytes, fast));
    expect_same(fast, call);
    CallReply reply = sample_reply(rng);
    std::string reply_bytes = encode_message(MessageKind::kCallReply, reply);
    CallReply fast_reply;
    ASSERT_TRUE(read_call_reply(reply_bytes, fast_reply));
    expect_same(fast_reply, reply);
    // Each reader takes only its own kind.
    EXPECT_FALSE(read_call(reply_bytes, fast));
    EXPECT_FALSE(read_call_reply(bytes, fast_reply));
  }
}

TEST(FastMessageWriters, WriteWhatThePackerWrites) {
  Rng rng(5);
  for (int i = 0; i < 300; ++i) {
    SCOPED_TRACE("sample " + std::to_string(i) + " of seed 5");
    Call call = sample_call(rng);
    EXPECT_EQ(encode_message(MessageKind::kCall, call), encode_message_packed(MessageKind::kCall, call));
    CallReply reply = sample_reply(rng);
    EXPECT_EQ(encode_message(MessageKind::kCallReply, reply), encode_message_packed(MessageKind::kCallReply, reply));
  }
  // Every array, integer and string form, one field at a time.
  for (uint64_t number : kNumbers) {
    for (size_t length : kLengths) {
      Call call{.actor = number, .caller = static_cast<uint32_t>(number), .sequence = number,
                .method_name = std::string(length, 'm')};
      EXPECT_EQ(encode_message(MessageKind::kCall, call), encode_message_packed(MessageKind::kCall, call));
      CallReply reply{.object = number, .result = {.status = static_cast<uint8_t>(number),
                                                   .bytes = std::string(length, 'b')}};
      EXPECT_EQ(encode_message(MessageKind::kCallReply, reply),
                encode_message_packed(MessageKind::kCallReply, reply));
    }
  }
}

TEST(FastMessageReaders, RefuseOtherKindsAndShapes) {
  Call call;
  CallReply reply;
  EXPECT_FALSE(read_call(encode_message(MessageKind::kGetObject, GetObject{.object = 3}), call));
  EXPECT_FALSE(read_call_reply(encode_message(MessageKind::kObjectReply, ObjectReply{.object = 3}), reply));
  EXPECT_FALSE(read_call("", call));
  EXPECT_FALSE(read_call_reply("", reply));
  std::string bytes = encode_message(MessageKind::kCall, Call{.method_name = "m"});
  EXPECT_FALSE(read_call(bytes + '\0', call));  // a byte after the message
  EXPECT_FALSE(read_call(bytes.substr(0, bytes.size() - 1), call));
}

// Every message the fast readers accept, however it was mangled, reads as the general path reads
// it: corrupt each byte of encoded messages in turn (and cut them short), and compare.
TEST(FastMessageReaders, AgreeWithTheGeneralPathOnMangledMessages) {
  Rng rng(11);
  int accepted = 0;
  int refused = 0;
  const std::vector<uint8_t> replacements = {0x00, 0x01, 0x7f, 0x80, 0x90, 0x92, 0x9b, 0xa0, 0xa9, 0xc0, 0xc4,
                                             0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd3, 0xd9, 0xdc, 0xe0, 0xff};
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE("sample " + std::to_string(i) + " of seed 11");
    Call call = sample_call(rng);
    call.method_name.resize(std::min<size_t>(call.method_name.size(), 40));
    call.args.resize(std::min<size_t>(call.args.size(), 40));
    call.concurrency_group.resize(std::min<size_t>(call.concurrency_group.size(), 40));
    CallReply reply = sample_reply(rng);
    reply.result.bytes.resize(std::min<size_t>(reply.result.bytes.size(), 40));
    reply.result.error_type.resize(std::min<size_t>(reply.result.error_type.size(), 40));
    reply.result.error_message.resize(std::min<size_t>(reply.result.error_message.size(), 40));
    const std::string call_bytes = encode_message(MessageKind::kCall, call);
    const std::string reply_bytes = encode_message(MessageKind::kCallReply, reply);
    std::vector<std::string> variants;
    for (const std::string& original : {call_bytes, reply_bytes}) {
      for (size_t at = 0; at < original.size(); ++at) {
        variants.push_back(original.substr(0, at));
        for (uint8_t value : replacements) {
          std::string mangled = original;
          mangled[at] = static_cast<char>(value);
          variants.push_back(mangled);
        }
      }
    }
    for (const std::string& bytes : variants) {
      Call fast;
      if (read_call(bytes, fast)) {
        ++accepted;
        std::optional<Call> general = general_call(bytes);
        ASSERT_TRUE(general.has_value());
        expect_same(fast, *general);
      } else {
        ++refused;
      }
      CallReply fast_reply;
      if (read_call_reply(bytes, fast_reply)) {
        ++accepted;
        std::optional<CallReply> general = general_reply(bytes);
        ASSERT_TRUE(general.has_value());
        expect_same(fast_reply, *general);
      } else {
        ++refused;
      }
    }
  }
  // Both outcomes occur (the mangled bytes include values that keep a message valid).
  EXPECT_GT(accepted, 1000);
  EXPECT_GT(refused, 1000);
}

}  // namespace
}  // namespace troupe::wire
