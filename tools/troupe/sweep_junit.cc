// The --junit report of `troupe run` (format in sweep.h and docs/cli.md).
//
// JUnit XML as CI systems read it (Jenkins, GitLab, GitHub test reporters): one <testsuite>
// "troupe run" with one <testcase> per scenario and seed range. A scenario that failed carries
// one <failure> whose message counts the failing seeds and whose text lists every distinct
// failure with its first seed and the command that replays it; a nondeterministic one says so.
// Text from scenarios is escaped, invalid UTF-8 and control characters XML 1.0 cannot hold become
// U+FFFD, so the file is well-formed whatever a check's message holds.
#include <string>
#include <string_view>

#include "fmt/format.h"
#include "runtime/trace/json.h"
#include "scenarios/runner.h"
#include "tools/troupe/seed_result.h"
#include "tools/troupe/sweep.h"

namespace troupe::cli {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The length of the UTF-8 sequence at text[i] if it is valid and an XML character, else 0.
// XML 1.0 also excludes U+FFFE and U+FFFF (EF BF BE, EF BF BF), which are valid UTF-8.
size_t xml_utf8_length(std::string_view text, size_t i) {
  const size_t length = utf8_sequence_length(text, i);
  if (length == 3 && text.substr(i, 2) == "\xEF\xBF" && (static_cast<unsigned char>(text[i + 2]) & 0xFE) == 0xBE) {
    return 0;
  }
  return length;
}

void append_escaped(std::string& out, std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    switch (c) {
      case '&': out += "&amp;"; ++i; continue;
      case '<': out += "&lt;"; ++i; continue;
      case '>': out += "&gt;"; ++i; continue;
      case '"': out += "&quot;"; ++i; continue;
      case '\'': out += "&apos;"; ++i; continue;
      default: break;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 && c != '\n' && c != '\t' && c != '\r') {
      out += kReplacement;
      ++i;
      continue;
    }
    if (byte < 0x80) {
      out.push_back(c);
      ++i;
      continue;
    }
    const size_t length = xml_utf8_length(text, i);
    if (length == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    out.append(text.substr(i, length));
    i += length;
  }
}

std::string escaped(std::string_view text) {
  std::string out;
  append_escaped(out, text);
  return out;
}

std::string failure_text(const ScenarioResult& result, const RunCommand& command) {
  std::string text;
  if (result.judged_as_bug && result.failures.empty()) {
    text += fmt::format("planted bug {} was not found in seeds {}..{}\n", result.scenario->name, command.seeds.first,
                        command.seeds.last);
  }
  if (!result.judged_as_bug) {
    for (const auto& [message, group] : result.distinct) {
      text += fmt::format("{}x (first seed {}): {}\n  replay: {}\n", group.count, group.first_seed, message,
                          scenarios::replay_command(result.scenario->name,
                                                    sweep_run_options(command, group.first_seed)));
    }
  }
  for (const Divergence& d : result.divergences) {
    text += fmt::format("seed {}: runs differ at event #{}\n  first:  {}\n  second: {}\n  replay: {}\n", d.seed,
                        d.event_index, d.first_event, d.second_event,
                        scenarios::replay_command(result.scenario->name, sweep_run_options(command, d.seed)));
  }
  return text;
}

std::string failure_message(const ScenarioResult& result) {
  if (!result.divergences.empty()) {
    return fmt::format("{} seed{} ran differently twice (nondeterministic)", result.divergences.size(),
                       result.divergences.size() == 1 ? "" : "s");
  }
  if (result.judged_as_bug) return "planted bug not found";
  return fmt::format("{} of {} seeds failed ({} distinct failure{})", result.failures.size(), result.seeds_run,
                     result.distinct.size(), result.distinct.size() == 1 ? "" : "s");
}

}  // namespace

std::string sweep_junit(const SweepResult& sweep) {
  const RunCommand& command = sweep.command;
  size_t failed = 0;
  double seconds = 0;
  for (const ScenarioResult& result : sweep.scenarios) {
    failed += result.passed() ? 0 : 1;
    seconds += result.wall_seconds;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"troupe\" tests=\"{}\" failures=\"{}\" time=\"{:.3f}\">\n",
                     sweep.scenarios.size(), failed, seconds);
  out += fmt::format("  <testsuite name=\"troupe run\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" "
                     "time=\"{:.3f}\">\n",
                     sweep.scenarios.size(), failed, seconds);
  out += fmt::format("    <properties>\n      <property name=\"seeds\" value=\"{}..{}\"/>\n", command.seeds.first,
                     command.seeds.last);
  out += fmt::format("      <property name=\"strategy\" value=\"{}\"/>\n", sim::strategy_name(command.strategy));
  out += fmt::format("      <property name=\"platform\" value=\"{}\"/>\n", scenarios::platform_name(command.platform));
  if (command.shard) {
    out += fmt::format("      <property name=\"shard\" value=\"{}/{}\"/>\n", command.shard->index, command.shard->count);
  }
  if (sweep.interrupted) out += "      <property name=\"interrupted\" value=\"true\"/>\n";
  out += "    </properties>\n";
  for (const ScenarioResult& result : sweep.scenarios) {
    const std::string& name = result.scenario->name;
    out += fmt::format("    <testcase classname=\"troupe.{}\" name=\"{} seeds {}..{}\" time=\"{:.3f}\"", escaped(name),
                       escaped(name), command.seeds.first, command.seeds.last, result.wall_seconds);
    std::string body;
    if (!result.passed()) {
      body += fmt::format("      <failure type=\"{}\" message=\"{}\">", result.divergences.empty() ? "troupe.check" : "troupe.nondeterminism",
                          escaped(failure_message(result)));
      append_escaped(body, failure_text(result, command));
      body += "</failure>\n";
    }
    std::string system_out = fmt::format("seeds run: {}; sweep hash: {:#018x}", result.seeds_run, result.sweep_hash);
    if (result.judged_as_bug && !result.failures.empty()) {
      system_out += fmt::format("; planted bug found (expected) on {} seed{}, first seed {}", result.failures.size(),
                                result.failures.size() == 1 ? "" : "s", result.failures.front().seed);
    }
    for (const SeedRange& range : result.not_run) {
      system_out += fmt::format("; not run (interrupted): seeds {}..{}", range.first, range.last);
    }
    body += fmt::format("      <system-out>{}</system-out>\n", escaped(system_out));
    out += ">\n" + body + "    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace troupe::cli
