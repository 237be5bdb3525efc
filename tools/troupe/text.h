// Small text helpers the CLI's reports share.
#pragma once

#include <cstdio>
#include <string_view>

namespace troupe::cli {

// Prints `text` and a newline, every line after the first indented by `indent` spaces (a
// multi-line failure message under its "FAIL ... seed N: " prefix).
void print_indented(std::FILE* out, std::string_view text, int indent);

}  // namespace troupe::cli
