#include "policy/diagnostics.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace stasis::policy {

std::string Diagnostic::to_string() const {
  if (line <= 0) {
    return fmt::format("{}: {}", file, message);
  }
  return fmt::format("{}:{}:{}: {}", file, line, column, message);
}

void sort_diagnostics(Diagnostics& diagnostics) {
  std::sort(diagnostics.begin(), diagnostics.end());
  diagnostics.erase(std::unique(diagnostics.begin(), diagnostics.end()),
                    diagnostics.end());
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) {
    d[i][0] = i;
  }
  for (std::size_t j = 0; j <= m; ++j) {
    d[0][j] = j;
  }
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::vector<std::string> close_matches(std::string_view word,
                                       const std::vector<std::string>& candidates) {
  // Up to a third of the word may be wrong, at least two edits.
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  std::vector<std::pair<std::size_t, std::string>> scored;
  for (const auto& candidate : candidates) {
    std::string normalized(word);
    std::replace(normalized.begin(), normalized.end(), '_', '-');
    const std::size_t distance =
        std::min(edit_distance(word, candidate), edit_distance(normalized, candidate));
    if (distance <= limit) {
      scored.emplace_back(distance, candidate);
    }
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> result;
  for (std::size_t i = 0; i < scored.size() && i < 3; ++i) {
    result.push_back(scored[i].second);
  }
  return result;
}

std::string did_you_mean(std::string_view word,
                         const std::vector<std::string>& candidates) {
  const auto matches = close_matches(word, candidates);
  if (matches.empty()) {
    return fmt::format(" (valid: {})", fmt::join(candidates, ", "));
  }
  std::vector<std::string> quoted;
  for (const auto& match : matches) {
    quoted.push_back(fmt::format("'{}'", match));
  }
  return fmt::format("; did you mean {}?", fmt::join(quoted, " or "));
}

} // namespace stasis::policy
