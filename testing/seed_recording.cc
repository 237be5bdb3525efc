#include "testing/seed_recording.h"

#include <cstdlib>
#include <string_view>

#include "fmt/format.h"
#include "tools/troupe/html_timeline.h"

namespace troupe::testing {
namespace {

TraceFormat format_for(std::string_view path) {
  if (path.ends_with(".jsonl")) return TraceFormat::kJsonl;
  if (path.ends_with(".json")) return TraceFormat::kChrome;
  return TraceFormat::kText;
}

}  // namespace

absl::StatusOr<RecordingRequest> recording_from_environment(bool single_seed) {
  RecordingRequest request;
  for (const char* variable : {"TROUPE_TRACE", "TROUPE_HTML"}) {
    const char* value = std::getenv(variable);
    if (value == nullptr) continue;
    if (*value == '\0') return absl::InvalidArgumentError(fmt::format("{} is set but empty: name a file", variable));
    if (!single_seed) {
      return absl::InvalidArgumentError(
          fmt::format("{}={} needs TROUPE_SEED: a file records one seed (TROUPE_SEED=N {}=... test)", variable, value,
                      variable));
    }
    if (std::string_view(variable) == "TROUPE_TRACE") {
      request.trace_path = value;
      request.trace_format = format_for(value);
    } else {
      request.html_path = value;
    }
  }
  return request;
}

SeedRecording::SeedRecording() = default;
SeedRecording::~SeedRecording() = default;

absl::Status SeedRecording::open(const RecordingRequest& request) {
  request_ = request;
  if (!request.trace_path.empty()) {
    trace_file_.open(request.trace_path, std::ios::binary);
    if (!trace_file_.is_open()) {
      return absl::FailedPreconditionError(fmt::format("TROUPE_TRACE: cannot write '{}'", request.trace_path));
    }
    trace_.add_sink(make_trace_sink(request.trace_format, trace_file_));
  }
  if (!request.html_path.empty()) {
    html_file_.open(request.html_path, std::ios::binary);
    if (!html_file_.is_open()) {
      return absl::FailedPreconditionError(fmt::format("TROUPE_HTML: cannot write '{}'", request.html_path));
    }
    auto sink = std::make_unique<cli::HtmlTimelineSink>();
    html_ = sink.get();
    trace_.add_sink(std::move(sink));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SeedRecording::finish(const scenarios::RunOutcome& outcome, const std::string& title,
                                                  const std::string& command) {
  std::string lines;
  if (request_.empty()) return lines;
  trace_.finish();
  if (trace_file_.is_open()) {
    trace_file_.close();
    if (!trace_file_) return absl::DataLossError(fmt::format("TROUPE_TRACE: writing '{}' failed", request_.trace_path));
    lines += fmt::format("trace: {} ({})\n", request_.trace_path, trace_format_name(request_.trace_format));
  }
  if (html_ != nullptr) {
    cli::write_html_timeline(html_file_, html_->events(),
                             {.title = title, .command = command, .passed = outcome.passed,
                              .failure = outcome.failure, .end_time = outcome.sim_time,
                              .trace_hash = outcome.trace_hash, .simulated = true});
    html_file_.close();
    if (!html_file_) return absl::DataLossError(fmt::format("TROUPE_HTML: writing '{}' failed", request_.html_path));
    lines += fmt::format("html: {}\n", request_.html_path);
  }
  return lines;
}

}  // namespace troupe::testing
