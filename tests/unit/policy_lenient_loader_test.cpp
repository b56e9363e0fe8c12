// The lenient directory load stasisd starts and reloads with: the good files
// load, each bad one is left out with its file:line:col diagnostics.
#include "policy/loader.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace stasis::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ALenientPolicyLoad : public ::testing::Test {
protected:
  void SetUp() override {
    std::string name =
        (std::filesystem::temp_directory_path() / "stasis-lenient-XXXXXX").string();
    ASSERT_NE(::mkdtemp(name.data()), nullptr);
    m_dir = name;
  }
  void TearDown() override { std::filesystem::remove_all(m_dir); }

  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(m_dir / name) << text;
    return (m_dir / name).string();
  }

  static std::vector<std::string> names(const PolicySet& set) {
    std::vector<std::string> out;
    for (const auto& job : set.jobs()) {
      out.push_back(job.name);
    }
    return out;
  }

  std::filesystem::path m_dir;
};

TEST_F(ALenientPolicyLoad, LoadsTheGoodFilesAndReportsTheBadOneWithItsLocation) {
  write("a.yaml", "version: 1\njobs:\n  - name: alpha\n    target: {pid: 1}\n");
  const auto bad =
      write("b.yaml", "version: 1\njobs:\n  - name: beta\n"
                      "    target: {pid: 2}\n    retention: {keep-lats: 3}\n");
  write("c.yaml", "version: 1\njobs:\n  - name: gamma\n    target: {pid: 3}\n");
  const auto load = load_policy_dir_leniently(m_dir);
  EXPECT_THAT(names(load.set), ElementsAre("alpha", "gamma"));
  EXPECT_THAT(load.bad_files, ElementsAre(bad));
  ASSERT_FALSE(load.problems.empty());
  EXPECT_THAT(load.problems.front().to_string(), HasSubstr(bad + ":5:"));
}

TEST_F(ALenientPolicyLoad, LeavesOutAFileWhoseTemplateWasInALeftOutFile) {
  const auto templates =
      write("a.yaml", "version: 1\ntemplates:\n  base:\n"
                      "    retention: {keep-last: 2}\n"
                      "jobs:\n  - name: alpha\n    targte: {pid: 1}\n");
  const auto user = write("b.yaml", "version: 1\njobs:\n  - name: beta\n    use: [base]\n"
                                    "    target: {pid: 2}\n");
  write("c.yaml", "version: 1\njobs:\n  - name: gamma\n    target: {pid: 3}\n");
  const auto load = load_policy_dir_leniently(m_dir);
  EXPECT_THAT(names(load.set), ElementsAre("gamma"));
  EXPECT_THAT(load.bad_files, ElementsAre(templates, user));
}

TEST_F(ALenientPolicyLoad, LeavesOutTheSecondFileOfADuplicateJobName) {
  write("a.yaml", "version: 1\njobs:\n  - name: alpha\n    target: {pid: 1}\n");
  const auto twice = write("b.yaml", "version: 1\njobs:\n  - name: alpha\n"
                                     "    target: {pid: 2}\n");
  const auto load = load_policy_dir_leniently(m_dir);
  EXPECT_THAT(names(load.set), ElementsAre("alpha"));
  EXPECT_THAT(load.bad_files, ElementsAre(twice));
}

TEST_F(ALenientPolicyLoad, ReportsADirectoryItCannotOpenAndLoadsNothing) {
  const auto missing = (m_dir / "missing").string();
  const auto load = load_policy_dir_leniently(missing);
  EXPECT_TRUE(load.set.jobs().empty());
  EXPECT_THAT(load.bad_files, ElementsAre(missing));
}

} // namespace
} // namespace stasis::policy
