#include "tools/troupe/schedule_file.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace troupe::cli {
namespace {

constexpr std::string_view kHowToWrite = "a schedule is a trace written with --trace FILE --trace-format jsonl";

// "o<owner>.<index>" (how the JSONL sink writes a decision's `call`) as a decision.
bool parse_call(std::string_view text, sim::Decision& decision) {
  if (!text.starts_with('o')) return false;
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) return false;
  const auto number = [](std::string_view digits, uint32_t& value) {
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    return !digits.empty() && error == std::errc() && end == digits.data() + digits.size();
  };
  return number(text.substr(1, dot - 1), decision.ready_count) && number(text.substr(dot + 1), decision.index);
}

}  // namespace

absl::StatusOr<sim::Schedule> parse_schedule(std::string_view text, std::string_view source) {
  sim::Schedule schedule;
  size_t line_number = 0;
  size_t events = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const auto bad = [&](std::string_view why) {
      return absl::InvalidArgumentError(fmt::format("{} line {}: {}", source, line_number, why));
    };
    nlohmann::json event = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!event.is_object()) return bad(fmt::format("not a JSON object ({})", kHowToWrite));
    const auto kind = event.find("kind");
    if (kind == event.end() || !kind->is_string()) return bad(fmt::format("no \"kind\" ({})", kHowToWrite));
    ++events;
    if (kind->get<std::string>() != "decision") continue;
    const auto call = event.find("call");
    sim::Decision decision;
    if (call == event.end() || !call->is_string() || !parse_call(call->get<std::string>(), decision)) {
      return bad("a decision without a \"call\" of the form \"o<ready items>.<index>\"");
    }
    if (decision.ready_count < 2 || decision.index >= decision.ready_count) {
      return bad(fmt::format("decision {} of {} ready items is not a valid decision", decision.index,
                             decision.ready_count));
    }
    schedule.decisions.push_back(decision);
  }
  if (events == 0) return absl::InvalidArgumentError(fmt::format("{}: no trace events ({})", source, kHowToWrite));
  return schedule;
}

absl::StatusOr<sim::Schedule> load_schedule(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) return absl::InvalidArgumentError(fmt::format("cannot read the schedule '{}'", path));
  std::stringstream text;
  text << in.rdbuf();
  return parse_schedule(text.str(), path);
}

}  // namespace troupe::cli
