// Regular expressions of policies (target patterns, the key table's value
// patterns), all compiled by RE2: matching takes time linear in the text and
// uses no recursion, so no pattern and no text (a user's 2 MB command line)
// can exhaust the stack or the CPU of the daemon. The syntax is RE2's
// (https://github.com/google/re2/wiki/Syntax): no backreferences, no
// lookaround.
#pragma once

#include "util/result.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace stasis::policy {

// The longest pattern a policy may give.
inline constexpr std::size_t k_max_pattern_length = 4096;

// A compiled regular expression; cheap to copy, safe to share between threads.
class Pattern {
public:
  // Compiles a pattern, or says why RE2 refuses it (in a sentence that names
  // the RE2 syntax when the pattern uses a construct it lacks).
  static Result<Pattern> compile(std::string_view pattern);

  // True when the pattern matches somewhere in text (like grep, not anchored).
  bool search(std::string_view text) const;

  // True when the pattern matches all of text.
  bool full_match(std::string_view text) const;

  const std::string& text() const;

private:
  explicit Pattern(std::shared_ptr<const re2::RE2> compiled)
      : m_compiled(std::move(compiled)) {}
  std::shared_ptr<const re2::RE2> m_compiled;
};

} // namespace stasis::policy
