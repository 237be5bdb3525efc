// A small strict JSON parser for tests (RFC 8259): checks that exported files are valid JSON and
// lets a test look inside them. Recursive descent, with a depth limit; numbers are kept as
// doubles; strings are unescaped (\uXXXX to UTF-8, surrogate pairs joined). Test-only: not fast.
//
//   std::optional<JsonValue> doc = parse_json(text, &error);
//   const JsonValue* events = doc->find("traceEvents");
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace troupe::testing {

struct JsonValue {
  using Array = std::vector<JsonValue>;
  using Object = std::map<std::string, JsonValue>;
  std::variant<std::nullptr_t, bool, double, std::string, Array, Object> value;

  const Object* object() const { return std::get_if<Object>(&value); }
  const Array* array() const { return std::get_if<Array>(&value); }
  const std::string* string() const { return std::get_if<std::string>(&value); }
  const double* number() const { return std::get_if<double>(&value); }
  // The member `key` of an object, or nullptr.
  const JsonValue* find(const std::string& key) const {
    const Object* members = object();
    if (members == nullptr) return nullptr;
    auto it = members->find(key);
    return it == members->end() ? nullptr : &it->second;
  }
};

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : text_(text) {}

  std::optional<JsonValue> parse_document(std::string* error) {
    std::optional<JsonValue> value = parse_value(0);
    skip_space();
    if (value && pos_ != text_.size()) fail("trailing characters");
    if (!error_.empty()) {
      if (error != nullptr) *error = error_ + " at offset " + std::to_string(pos_);
      return std::nullopt;
    }
    return value;
  }

 private:
  static constexpr int kMaxDepth = 256;

  // Records the first error; converts to any empty optional.
  std::nullopt_t fail(std::string what) {
    if (error_.empty()) error_ = std::move(what);
    return std::nullopt;
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' || text_[pos_] == '\t')) {
      ++pos_;
    }
  }
  bool consume(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  std::optional<JsonValue> parse_value(int depth) {
    if (depth > kMaxDepth) return fail("nesting too deep");
    skip_space();
    if (pos_ >= text_.size()) return fail("unexpected end");
    const char c = text_[pos_];
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    if (c == '"') {
      std::optional<std::string> s = parse_string();
      if (!s) return std::nullopt;
      return JsonValue{std::move(*s)};
    }
    if (consume("true")) return JsonValue{true};
    if (consume("false")) return JsonValue{false};
    if (consume("null")) return JsonValue{nullptr};
    return parse_number();
  }

  std::optional<JsonValue> parse_object(int depth) {
    ++pos_;  // '{'
    JsonValue::Object members;
    skip_space();
    if (consume("}")) return JsonValue{std::move(members)};
    while (true) {
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != '"') return fail("expected a member name");
      std::optional<std::string> key = parse_string();
      if (!key) return std::nullopt;
      skip_space();
      if (!consume(":")) return fail("expected ':'");
      std::optional<JsonValue> member = parse_value(depth + 1);
      if (!member) return std::nullopt;
      members.insert_or_assign(std::move(*key), std::move(*member));
      skip_space();
      if (consume("}")) return JsonValue{std::move(members)};
      if (!consume(",")) return fail("expected ',' or '}'");
    }
  }

  std::optional<JsonValue> parse_array(int depth) {
    ++pos_;  // '['
    JsonValue::Array items;
    skip_space();
    if (consume("]")) return JsonValue{std::move(items)};
    while (true) {
      std::optional<JsonValue> item = parse_value(depth + 1);
      if (!item) return std::nullopt;
      items.push_back(std::move(*item));
      skip_space();
      if (consume("]")) return JsonValue{std::move(items)};
      if (!consume(",")) return fail("expected ',' or ']'");
    }
  }

  std::optional<JsonValue> parse_number() {
    const size_t start = pos_;
    const auto digits = [&] {
      const size_t from = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      return pos_ > from;
    };
    consume("-");
    if (consume("0")) {
      // no leading zeros
    } else if (!digits()) {
      return fail("expected a value");
    }
    if (consume(".") && !digits()) return fail("expected digits after '.'");
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (!consume("+")) consume("-");
      if (!digits()) return fail("expected exponent digits");
    }
    return JsonValue{std::stod(std::string(text_.substr(start, pos_ - start)))};
  }

  std::optional<uint32_t> parse_hex4() {
    if (pos_ + 4 > text_.size()) return std::nullopt;
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[pos_++];
      value <<= 4;
      if (h >= '0' && h <= '9') value |= static_cast<uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') value |= static_cast<uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') value |= static_cast<uint32_t>(h - 'A' + 10);
      else return std::nullopt;
    }
    return value;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::optional<std::string> parse_string() {
    ++pos_;  // '"'
    std::string out;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in a string");
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      const char e = text_[pos_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          std::optional<uint32_t> cp = parse_hex4();
          if (!cp) return fail("bad \\u escape");
          if (*cp >= 0xD800 && *cp <= 0xDBFF) {
            if (!consume("\\u")) return fail("lone high surrogate");
            std::optional<uint32_t> low = parse_hex4();
            if (!low || *low < 0xDC00 || *low > 0xDFFF) return fail("bad low surrogate");
            *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
          } else if (*cp >= 0xDC00 && *cp <= 0xDFFF) {
            return fail("lone low surrogate");
          }
          append_utf8(out, *cp);
          break;
        }
        default: return fail("bad escape");
      }
    }
    return fail("unterminated string");
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string error_;
};

inline std::optional<JsonValue> parse_json(std::string_view text, std::string* error = nullptr) {
  return JsonParser(text).parse_document(error);
}

}  // namespace troupe::testing
