// A job's former names (`formerly`, a rename): each is a valid job name that
// no job has now, that no other job claims and that is not reserved for the
// ad-hoc jobs of users; errors point at the name, file:line:col.
#include "policy/loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace stasis::policy {
namespace {

using ::testing::HasSubstr;

// Every diagnostic of a load of these files, joined with " | "; "(valid)".
std::string errors_of(const std::vector<PolicySource>& sources) {
  auto result = parse_policy_sources(sources);
  if (result) {
    return "(valid)";
  }
  std::string all;
  for (const auto& d : result.error()) {
    all += (all.empty() ? "" : " | ") + d.to_string();
  }
  return all;
}

std::string errors_of(const std::string& text) {
  return errors_of({PolicySource{"t.yaml", text}});
}

// A file with the jobs (name, formerly line or "").
std::string jobs_file(const std::vector<std::pair<std::string, std::string>>& jobs) {
  std::string text = "version: 1\njobs:\n";
  for (const auto& [name, formerly] : jobs) {
    text += "  - name: " + name + "\n    target: {pid: 7}\n";
    if (!formerly.empty()) {
      text += "    formerly: " + formerly + "\n";
    }
  }
  return text;
}

TEST(AJobsFormerNames, AreLoadedAndLeaveTheFingerprintAsItWas) {
  auto renamed = parse_policy_text(jobs_file({{"web", "[www, web-old]"}}), "t.yaml");
  ASSERT_TRUE(renamed) << errors_of(jobs_file({{"web", "[www, web-old]"}}));
  auto plain = parse_policy_text(jobs_file({{"web", ""}}), "t.yaml");
  ASSERT_TRUE(plain);
  const Job* job = renamed->find("web");
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->formerly, (std::vector<std::string>{"www", "web-old"}));
  EXPECT_EQ(job->fingerprint, plain->find("web")->fingerprint);
}

TEST(AJobsFormerNames, MayNotBeAnotherJobsNameInAnyFile) {
  EXPECT_EQ(errors_of({{"a.yaml", jobs_file({{"web", "[db]"}})},
                       {"b.yaml", jobs_file({{"db", ""}})}}),
            "a.yaml:5:16: former name 'db' is the name of the job defined at "
            "b.yaml:3:5: rename or remove that job first");
}

TEST(AJobsFormerNames, MayNotBeClaimedByTwoJobs) {
  EXPECT_EQ(errors_of(jobs_file({{"web", "[old]"}, {"api", "[old]"}})),
            "t.yaml:8:16: former name 'old' is already claimed by job 'web' at "
            "t.yaml:5:16");
}

TEST(AJobsFormerNames, MayNotBeListedTwiceOrBeTheJobsOwnName) {
  EXPECT_THAT(
      errors_of(jobs_file({{"web", "[old, old]"}})),
      HasSubstr("t.yaml:5:21: former name 'old' is already claimed by job 'web'"));
  EXPECT_EQ(errors_of(jobs_file({{"web", "[web]"}})),
            "t.yaml:5:16: former name 'web' is the job's own name");
}

TEST(AJobsFormerNames, MayNotTakeOverAUsersAdHocJob) {
  EXPECT_EQ(errors_of(jobs_file({{"web", "[user-1000]"}})),
            "t.yaml:5:16: former name 'user-1000' is reserved: names starting with "
            "'user-' belong to the ad-hoc checkpoints of users, which no policy job may "
            "take over");
}

TEST(AJobsFormerNames, MustBeJobNames) {
  EXPECT_THAT(errors_of(jobs_file({{"web", "[../etc]"}})),
              HasSubstr("t.yaml:5:16: 'formerly[0]'"));
  EXPECT_THAT(errors_of(jobs_file({{"web", "[]"}})), HasSubstr("t.yaml:5:15:"));
}

TEST(AJobsFormerNames, AreBoundedPerJob) {
  std::string names = "[";
  for (std::size_t i = 0; i <= k_max_former_names; ++i) {
    names += (i ? ", old" : "old") + std::to_string(i);
  }
  names += "]";
  EXPECT_EQ(errors_of(jobs_file({{"web", names}})),
            "t.yaml:5:5: job 'web' lists 17 former names; at most 16 are allowed");
}

TEST(AJobsFormerNames, CannotComeFromATemplateOrDefaults) {
  EXPECT_THAT(errors_of("version: 1\ndefaults:\n  formerly: [old]\njobs:\n  - name: web\n"
                        "    target: {pid: 7}\n"),
              HasSubstr("t.yaml:3:3: unknown key 'formerly'"));
}

} // namespace
} // namespace stasis::policy
