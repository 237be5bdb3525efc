#include "tools/troupe/text.h"

#include "fmt/format.h"

namespace troupe::cli {

void print_indented(std::FILE* out, std::string_view text, int indent) {
  for (size_t start = 0, end = 0; end != std::string_view::npos; start = end + 1) {
    end = text.find('\n', start);
    fmt::print(out, "{:{}}{}\n", "", start == 0 ? 0 : indent, text.substr(start, end - start));
  }
}

}  // namespace troupe::cli
