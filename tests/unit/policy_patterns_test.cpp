// The patterns of policies are RE2's: what RE2 refuses, validate reports with
// file, line and column; matching never recurses (a user's 2 MB command line
// cannot exhaust the daemon's stack).
#include "policy/loader.hpp"
#include "policy/pattern.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace stasis::policy {
namespace {

using ::testing::HasSubstr;

std::string errors_of(const std::string& text) {
  auto result = parse_policy_text(text, "test.yaml");
  std::string errors;
  if (!result) {
    for (const auto& d : result.error()) {
      errors += d.to_string() + "\n";
    }
  }
  return errors;
}

std::string process_job(const std::string& key, const std::string& pattern) {
  return "version: 1\njobs:\n  - name: train\n    target:\n      process:\n        " +
         key + ": '" + pattern + "'\n";
}

TEST(APolicyPattern, ReportsALookaheadWithFileLineAndColumnAndTheSyntaxToUse) {
  EXPECT_EQ(errors_of(process_job("cmdline", "train(?=.*\\.py)")),
            "test.yaml:6:18: 'target.process.cmdline' is not a valid regular expression "
            "'train(?=.*\\.py)': invalid perl operator: (?= (patterns use the RE2 "
            "syntax: no backreferences, no lookaround)\n");
}

TEST(APolicyPattern, ReportsABackreference) {
  EXPECT_THAT(errors_of(process_job("exe", "(python)\\1")),
              HasSubstr("test.yaml:6:14: 'target.process.exe' is not a valid regular "
                        "expression '(python)\\1': invalid escape sequence: \\1"));
}

TEST(APolicyPattern, ReportsAnUnclosedGroup) {
  EXPECT_THAT(errors_of(process_job("exe", "(unclosed")),
              HasSubstr("test.yaml:6:14: 'target.process.exe' is not a valid regular "
                        "expression '(unclosed': missing ): (unclosed"));
}

TEST(APolicyPattern, RefusesAPatternLongerThanTheLimit) {
  const std::string longest(k_max_pattern_length, 'a');
  EXPECT_EQ(errors_of(process_job("cmdline", longest)), "");
  EXPECT_THAT(errors_of(process_job("cmdline", longest + "a")),
              HasSubstr("the pattern is 4097 bytes long, more than the 4096 allowed"));
}

TEST(APolicyPattern, RefusesARepetitionThatWouldCompileToAHugeProgram) {
  EXPECT_THAT(errors_of(process_job("cmdline", "((a{100}){100}){100}")),
              HasSubstr("test.yaml:6:18: 'target.process.cmdline' is not a valid regular "
                        "expression"));
}

TEST(APolicyPattern, SearchesAHugeTextWithoutRecursion) {
  auto pattern = Pattern::compile("train.*\\.py");
  ASSERT_TRUE(pattern);
  const std::string text = "sh -c : train" + std::string(2 << 20, 'x');
  EXPECT_FALSE(pattern->search(text));
  EXPECT_TRUE(pattern->search(text + " .py"));
  EXPECT_FALSE(pattern->full_match(text + " .py"));
  EXPECT_TRUE(Pattern::compile("^sh.*py$")->full_match(text + " .py"));
}

} // namespace
} // namespace stasis::policy
