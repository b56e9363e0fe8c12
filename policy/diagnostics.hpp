// Diagnostics: the errors a policy load reports, each pointing at a file,
// line and column, so that a user can go straight to the mistake.
#pragma once

#include <compare>
#include <string>
#include <string_view>
#include <vector>

namespace stasis::policy {

// One error in a policy file. Line and column are 1-based; 0 means the error
// concerns the whole file (for example a file that cannot be read).
struct Diagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;

  // Formats as "file:line:col: message" (or "file: message" without a line).
  std::string to_string() const;

  auto operator<=>(const Diagnostic&) const = default;
};

// Every error of one load, sorted by file, line and column.
using Diagnostics = std::vector<Diagnostic>;

// Sorts diagnostics by location and removes exact duplicates.
void sort_diagnostics(Diagnostics& diagnostics);

// Returns the Damerau-Levenshtein (optimal string alignment) distance.
std::size_t edit_distance(std::string_view a, std::string_view b);

// Returns the candidates close enough to `word` to be what the user meant,
// best first (at most three).
std::vector<std::string> close_matches(std::string_view word,
                                       const std::vector<std::string>& candidates);

// Returns a hint for an unknown word: "; did you mean 'x'?" when a candidate is
// close, otherwise " (valid: a, b, c)".
std::string did_you_mean(std::string_view word,
                         const std::vector<std::string>& candidates);

} // namespace stasis::policy
