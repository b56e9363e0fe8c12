// A directory with ten planted mistakes across four files yields exactly ten
// precise diagnostics in one load.
#include "policy/loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace stasis::policy {
namespace {

using ::testing::HasSubstr;

struct Expected {
  std::string file;
  int line;
  int column;
  std::string message_part;
};

TEST(APolicyDirectoryWithTenMistakes, ReportsAllTenWithFileLineAndColumn) {
  const std::string dir = STASIS_SOURCE_DIR "/tests/data/policy/ten-mistakes";
  auto result = load_policy_dir(dir);
  ASSERT_FALSE(result.has_value());
  const std::vector<Expected> expected = {
      {"a.yaml", 7, 14, "'schedule.every': invalid duration \"15mins\""},
      {"a.yaml", 9, 7,
       "unknown key 'leave-runing' in 'criu'; did you mean 'leave-running'?"},
      {"a.yaml", 11, 7,
       "duplicate key 'file-locks' in 'criu' (first given at line 10:7)"},
      {"b.yaml", 7, 5,
       "duplicate job name 'web' (already defined at " + dir + "/a.yaml:3:5)"},
      {"b.yaml", 10, 5, "job 'worker' has no 'target': give one of pid, pidfile"},
      {"b.yaml", 15, 14,
       "'target.process.exe' is not a valid regular expression '(unclosed'"},
      {"b.yaml", 18, 16,
       "'hooks.post-dump[0].run' is a plain string; write the command as a list"},
      {"c.yaml", 4, 20, "unknown template 'hourly' (valid: nightly)"},
      {"c.yaml", 8, 18, "'retention.keep-last' must be at least 1, got 0"},
      {"d.yaml", 1, 10,
       "unsupported policy format version '2': this stasis reads 'version: 1'"},
  };
  const Diagnostics& got = result.error();
  ASSERT_EQ(got.size(), expected.size()) << ::testing::PrintToString(got.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(got[i].to_string());
    EXPECT_EQ(got[i].file, dir + "/" + expected[i].file);
    EXPECT_EQ(got[i].line, expected[i].line);
    EXPECT_EQ(got[i].column, expected[i].column);
    EXPECT_THAT(got[i].message, HasSubstr(expected[i].message_part));
  }
}

TEST(APolicyDirectoryWithTenMistakes, FormatsDiagnosticsAsFileLineColumnMessage) {
  auto result = load_policy_dir(STASIS_SOURCE_DIR "/tests/data/policy/ten-mistakes");
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().front().to_string(),
              ::testing::MatchesRegex(".*/a\\.yaml:7:14: 'schedule\\.every': .*"));
}

} // namespace
} // namespace stasis::policy
