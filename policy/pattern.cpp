#include "policy/pattern.hpp"

#include <re2/re2.h>

namespace stasis::policy {

namespace {

// Constructs of other regex dialects that RE2 does not have, as RE2 names
// them in its errors; such an error gets a hint.
bool is_foreign_syntax(re2::RE2::ErrorCode code) {
  return code == re2::RE2::ErrorBadPerlOp || code == re2::RE2::ErrorBadEscape ||
         code == re2::RE2::ErrorBadNamedCapture;
}

} // namespace

Result<Pattern> Pattern::compile(std::string_view pattern) {
  if (pattern.size() > k_max_pattern_length) {
    return make_error("the pattern is {} bytes long, more than the {} allowed",
                      pattern.size(), k_max_pattern_length);
  }
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto compiled = std::make_shared<const re2::RE2>(
      re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!compiled->ok()) {
    return make_error(
        "{}{}", compiled->error(),
        is_foreign_syntax(compiled->error_code())
            ? " (patterns use the RE2 syntax: no backreferences, no lookaround)"
            : "");
  }
  return Pattern(std::move(compiled));
}

bool Pattern::search(std::string_view text) const {
  return re2::RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *m_compiled);
}

bool Pattern::full_match(std::string_view text) const {
  return re2::RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *m_compiled);
}

const std::string& Pattern::text() const {
  return m_compiled->pattern();
}

} // namespace stasis::policy
