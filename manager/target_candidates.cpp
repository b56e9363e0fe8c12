#include "manager/target_candidates.hpp"

#include <algorithm>
#include <string_view>

#include <fmt/format.h>

namespace stasis::manager {
namespace {

// The longest literal compared (bounds the work per process).
constexpr std::size_t k_max_literal = 64;
// How much of a command line a candidate shows.
constexpr std::size_t k_shown_cmdline = 60;

// A pattern's leading literal text, and whether it is anchored at the start.
struct Literal {
  std::string text;
  bool anchored = false;
};

Literal leading_literal(std::string_view pattern) {
  Literal literal;
  if (pattern.starts_with('^')) {
    literal.anchored = true;
    pattern.remove_prefix(1);
  }
  constexpr std::string_view k_special = ".[]()*+?{}|\\$^";
  for (std::size_t i = 0; i < pattern.size() && literal.text.size() < k_max_literal;
       ++i) {
    if (k_special.find(pattern[i]) != std::string_view::npos) {
      // A quantifier applies to the character before it.
      if (!literal.text.empty() &&
          std::string_view("*?{").find(pattern[i]) != std::string_view::npos) {
        literal.text.pop_back();
      }
      break;
    }
    literal.text += pattern[i];
  }
  return literal;
}

// How many characters of the literal the text shares.
std::size_t shared(const Literal& literal, std::string_view text) {
  if (literal.anchored) {
    auto [end, ignored] =
        std::mismatch(literal.text.begin(), literal.text.end(), text.begin(), text.end());
    return static_cast<std::size_t>(end - literal.text.begin());
  }
  for (std::size_t length = literal.text.size(); length > 0; --length) {
    if (text.find(std::string_view(literal.text).substr(0, length)) !=
        std::string_view::npos) {
      return length;
    }
  }
  return 0;
}

struct Scored {
  const ProcessEntry* entry = nullptr;
  int matched = 0;        // patterns that match, plus one for the user
  std::size_t shared = 0; // literal characters shared by the others
};

} // namespace

std::string near_candidates(const policy::ProcessTarget& target,
                            const policy::Pattern& exe, const policy::Pattern& cmdline,
                            std::optional<uid_t> uid,
                            const std::vector<ProcessEntry>& processes) {
  struct Part {
    const std::string& pattern;
    const policy::Pattern& compiled;
    bool exe;
    Literal literal;
  };
  std::vector<Part> parts;
  if (!target.exe.empty()) {
    parts.push_back({target.exe, exe, true, leading_literal(target.exe)});
  }
  if (!target.cmdline.empty()) {
    parts.push_back({target.cmdline, cmdline, false, leading_literal(target.cmdline)});
  }
  std::vector<Scored> scored;
  for (const auto& entry : processes) {
    if (entry.kernel_thread) {
      continue;
    }
    Scored score{&entry, 0, 0};
    bool near = false;
    for (const auto& part : parts) {
      const std::string& text = part.exe ? entry.exe : entry.cmdline;
      if (part.compiled.search(text)) {
        ++score.matched;
        near = true;
        continue;
      }
      const std::size_t length = shared(part.literal, text);
      score.shared += length;
      near = near || (length > 0 && 3 * length >= 2 * part.literal.text.size());
    }
    if (!near) {
      continue;
    }
    if (!uid || entry.uid == *uid) {
      ++score.matched;
    }
    scored.push_back(score);
  }
  std::stable_sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) {
    return a.matched != b.matched ? a.matched > b.matched : a.shared > b.shared;
  });
  std::string text;
  for (std::size_t i = 0; i < scored.size() && i < k_max_near_candidates; ++i) {
    const auto& entry = *scored[i].entry;
    std::string command = entry.cmdline;
    if (command.size() > k_shown_cmdline) {
      command = command.substr(0, k_shown_cmdline - 3) + "...";
    }
    text += fmt::format("{}pid {} (exe {}, uid {}: {})", i == 0 ? "" : "; ", entry.pid,
                        entry.exe.empty() ? "unreadable" : entry.exe, entry.uid, command);
  }
  return text;
}

} // namespace stasis::manager
