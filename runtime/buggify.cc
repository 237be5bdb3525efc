#include "runtime/buggify.h"

#include <stdexcept>
#include <string>

#include "fmt/format.h"
#include "runtime/platform.h"

namespace troupe {

absl::Status validate_buggify_site(std::string_view site) {
  if (!site.empty() && site.size() <= kBuggifySiteNameBytesMax) return absl::OkStatus();
  return absl::InvalidArgumentError(fmt::format("buggify site name must be 1 to {} bytes long (got {} bytes{})",
                                                kBuggifySiteNameBytesMax, site.size(),
                                                site.empty() ? "" : fmt::format(": '{}...'", site.substr(0, 32))));
}

bool buggify(std::string_view site) {
  if (absl::Status valid = validate_buggify_site(site); !valid.ok()) {
    throw std::invalid_argument(fmt::format("troupe::buggify: {}", valid.message()));
  }
  ExecutionContext* context = ExecutionContext::current();
  if (context == nullptr || context->platform == nullptr) return false;
  ProcessTurn turn;
  return context->platform->buggify(site);
}

}  // namespace troupe
