// Tiny JSON writing helpers for the trace sinks: a string escaper and an exact fixed-point number.
//
// Only writing, never parsing. Both helpers append to a caller-owned buffer so a sink can reuse
// one string per line. Deterministic: output depends only on the input bytes and integers (no
// locale, no floating point).
//
//   std::string line = "{\"detail\":";
//   append_json_string(line, "say \"hi\"\n");   // {"detail":"say \"hi\"\n"
//   append_decimal(line, 1250, 3);               // ... 1.250
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <string_view>

namespace troupe {

// The length of the valid UTF-8 sequence starting at text[i] (2 to 4), or 0 if the bytes there
// are not one (a stray continuation byte, an overlong form, a surrogate, above U+10FFFF, or a
// truncated sequence). REQUIRES: text[i] >= 0x80.
inline size_t utf8_sequence_length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  assert(lead >= 0x80);
  size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 ? 2 : 0;
  if (lead > 0xF4 || length == 0 || i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  const unsigned char second = byte(i + 1);
  if (lead == 0xE0 && second < 0xA0) return 0;  // overlong 3-byte form
  if (lead == 0xED && second > 0x9F) return 0;  // UTF-16 surrogate
  if (lead == 0xF0 && second < 0x90) return 0;  // overlong 4-byte form
  if (lead == 0xF4 && second > 0x8F) return 0;  // above U+10FFFF
  return length;
}

// Appends `text` as a quoted JSON string: `"` and `\` are escaped, control characters become
// \n, \t, \r, \b, \f or \u00XX, valid UTF-8 passes through unchanged, and each byte that is not
// part of valid UTF-8 becomes \ufffd (so the output is always valid JSON and valid UTF-8).
inline void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const size_t length = utf8_sequence_length(text, i);
      if (length == 0) {
        out.append("\\ufffd");
        i += 1;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\t': out.append("\\t"); break;
      case '\r': out.append("\\r"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default:
        if (c < 0x20) {
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    i += 1;
  }
  out.push_back('"');
}

// Appends value / 10^decimals with exactly `decimals` digits after the point, computed on
// integers (so it is exact and identical everywhere): (1250, 3) -> "1.250", (-5, 3) -> "-0.005".
// REQUIRES: 1 <= decimals <= 18.
inline void append_decimal(std::string& out, int64_t value, int decimals) {
  assert(decimals >= 1);
  assert(decimals <= 18);
  uint64_t scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  // Unsigned negation is defined for INT64_MIN as well.
  const uint64_t magnitude = value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  if (value < 0) out.push_back('-');
  out.append(std::to_string(magnitude / scale));
  out.push_back('.');
  const std::string fraction = std::to_string(magnitude % scale);
  out.append(static_cast<size_t>(decimals) - fraction.size(), '0');
  out.append(fraction);
}

}  // namespace troupe
