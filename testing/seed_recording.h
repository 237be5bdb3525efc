// TROUPE_TRACE and TROUPE_HTML: the trace and the HTML timeline of the one seed a TROUPE_SIM_TEST
// reruns (testing/sim_test.h), like `troupe replay --trace FILE --html FILE` does for a scenario.
//
//   TROUPE_SEED=17 TROUPE_HTML=seed17.html ./lru_test --gtest_filter=LruCache.MatchesModel
//
// TROUPE_TRACE=FILE writes every event: as Chrome's trace format (chrome://tracing, Perfetto) when
// FILE ends in ".json", as JSON lines for ".jsonl", else as text. TROUPE_HTML=FILE writes the
// self-contained timeline (docs/cli.md, "HTML timeline"). Both need TROUPE_SEED: a file holds
// one run.
#pragma once

#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/trace/trace.h"
#include "scenarios/runner.h"

namespace troupe::cli {
class HtmlTimelineSink;
}

namespace troupe::testing {

struct RecordingRequest {
  std::string trace_path;  // empty: no trace file
  TraceFormat trace_format = TraceFormat::kText;
  std::string html_path;   // empty: no timeline
  bool empty() const { return trace_path.empty() && html_path.empty(); }
};

// What the environment asks for; InvalidArgument naming the variable when it asks for a file
// without TROUPE_SEED (`single_seed` false) or gives an empty path.
absl::StatusOr<RecordingRequest> recording_from_environment(bool single_seed);

// The files of one run: open() before it, trace() into its RunOptions, finish() after it.
class SeedRecording {
 public:
  SeedRecording();
  ~SeedRecording();
  SeedRecording(const SeedRecording&) = delete;
  SeedRecording& operator=(const SeedRecording&) = delete;

  // Opens the files (FailedPrecondition naming one that cannot be written).
  absl::Status open(const RecordingRequest& request);
  // The trace to run with: nullptr when nothing was asked.
  Trace* trace() { return request_.empty() ? nullptr : &trace_; }
  // Ends the trace, writes the timeline of `outcome` (titled `title`, with `command`), closes the
  // files. Returns one line per file written ("trace: FILE (jsonl)", "html: FILE"), or the error.
  absl::StatusOr<std::string> finish(const scenarios::RunOutcome& outcome, const std::string& title,
                                     const std::string& command);

 private:
  RecordingRequest request_;
  Trace trace_;
  std::ofstream trace_file_;
  std::ofstream html_file_;
  cli::HtmlTimelineSink* html_ = nullptr;  // owned by trace_
};

}  // namespace troupe::testing
