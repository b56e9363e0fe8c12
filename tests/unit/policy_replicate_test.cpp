// The `replicate:` section: copies of a job's checkpoints in an OCI registry.
#include "policy/loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace stasis::policy {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

Result<PolicySet, Diagnostics> parse(const std::string& replicate) {
  return parse_policy_text("version: 1\njobs:\n  - name: web\n    target: {pid: 42}\n"
                           "    replicate:\n" +
                               replicate,
                           "test.yaml");
}

std::string first_error(const std::string& replicate) {
  auto result = parse(replicate);
  EXPECT_FALSE(result.has_value());
  return result ? std::string() : result.error().front().to_string();
}

TEST(AReplicateSection, IsOffWhenAbsent) {
  auto set = parse_policy_text(
      "version: 1\njobs:\n  - name: web\n    target: {pid: 42}\n", "test.yaml");
  ASSERT_TRUE(set.has_value());
  EXPECT_FALSE(set->jobs()[0].replicate.enabled());
}

TEST(AReplicateSection, ReadsEveryKey) {
  auto set = parse("      to: registry.example.com:5000/stasis/web\n"
                   "      every: 3\n"
                   "      on-demand: false\n"
                   "      retention: {keep-last: 4}\n"
                   "      credentials: /etc/stasis/auth.json\n"
                   "      ca-file: /etc/stasis/ca.pem\n"
                   "      plain-http: true\n"
                   "      origin: host_a\n"
                   "      retry-attempts: 2\n"
                   "      retry-delay: 5s\n");
  ASSERT_TRUE(set.has_value());
  const auto& r = set->jobs()[0].replicate;
  EXPECT_TRUE(r.enabled());
  EXPECT_EQ(r.to, "registry.example.com:5000/stasis/web");
  EXPECT_EQ(r.every, 3u);
  EXPECT_FALSE(r.on_demand);
  EXPECT_EQ(r.retention.keep_last, 4u);
  EXPECT_EQ(r.credentials, "/etc/stasis/auth.json");
  EXPECT_EQ(r.ca_file, "/etc/stasis/ca.pem");
  EXPECT_TRUE(r.plain_http);
  EXPECT_EQ(r.origin, "host_a");
  EXPECT_EQ(r.retry_attempts, 2u);
  EXPECT_EQ(r.retry_delay, 5s);
}

TEST(AnExportGrant, IsReadFromTheAccessSectionAndNeverImpliedByRestore) {
  auto set = parse_policy_text("version: 1\njobs:\n  - name: web\n    target: {pid: 42}\n"
                               "    access:\n      restore: {users: [alice]}\n"
                               "      export: {users: [bob], groups: [ops]}\n",
                               "test.yaml");
  ASSERT_TRUE(set.has_value());
  const auto& access = set->jobs()[0].access;
  EXPECT_EQ(access.exporting.users, std::vector<std::string>{"bob"});
  EXPECT_EQ(access.exporting.groups, std::vector<std::string>{"ops"});
  EXPECT_FALSE(access.permits(Access::Action::Export, "alice", "1000", {}));
  EXPECT_TRUE(access.permits(Access::Action::Export, "bob", "1001", {}));
}

TEST(AReplicateSection, HasDefaultsForAllButTheRepository) {
  auto set = parse("      to: localhost:5000/web\n");
  ASSERT_TRUE(set.has_value());
  const auto& r = set->jobs()[0].replicate;
  EXPECT_EQ(r.every, 1u);
  EXPECT_TRUE(r.on_demand);
  EXPECT_TRUE(r.retention.empty());
  EXPECT_FALSE(r.plain_http);
  EXPECT_EQ(r.retry_attempts, 5u);
  EXPECT_EQ(r.retry_delay, 30s);
}

TEST(AReplicateSection, NeedsARepositoryForItsOtherKeys) {
  EXPECT_EQ(first_error("      every: 2\n"),
            "test.yaml:6:7: 'replicate.every' needs 'replicate.to' (the registry "
            "repository to push to)");
}

TEST(AReplicateSection, RefusesARepositoryWithoutARegistryHost) {
  EXPECT_THAT(first_error("      to: stasis/web\n"),
              HasSubstr("'replicate.to' must be HOST[:PORT]/REPOSITORY"));
  EXPECT_THAT(first_error("      to: registry.example.com/Stasis\n"),
              HasSubstr("'replicate.to' must be HOST[:PORT]/REPOSITORY"));
  EXPECT_THAT(first_error("      to: https://registry.example.com/stasis\n"),
              HasSubstr("'replicate.to' must be HOST[:PORT]/REPOSITORY"));
}

TEST(AReplicateSection, RefusesAnOriginThatCannotBeInATag) {
  EXPECT_THAT(first_error("      to: localhost/web\n      origin: host-a/b\n"),
              HasSubstr("'replicate.origin'"));
}

TEST(AReplicateSection, PushesPodmansOwnImageOnlyForPodmanTargets) {
  EXPECT_EQ(first_error("      to: localhost/web\n      podman-image: true\n"),
            "test.yaml:7:7: 'replicate.podman-image' is for podman targets (target: "
            "podman: NAME)");
  auto podman = parse_policy_text(
      "version: 1\njobs:\n  - name: web\n    target: {podman: web}\n"
      "    replicate: {to: localhost/web}\n  - name: db\n    target: {podman: db}\n"
      "    replicate: {to: localhost/db, podman-image: false}\n",
      "test.yaml");
  ASSERT_TRUE(podman.has_value()) << podman.error().front().to_string();
  for (const auto& job : podman->jobs()) {
    EXPECT_EQ(job.replicate.podman_image,
              job.name == "db" ? std::optional<bool>(false) : std::nullopt)
        << job.name;
  }
  auto plain = parse("      to: localhost/web\n      podman-image: false\n");
  EXPECT_TRUE(plain.has_value());
}

TEST(AReplicateSection, ComesFromDefaultsLikeOtherSections) {
  auto set = parse_policy_text("version: 1\ndefaults:\n  replicate:\n    to: "
                               "registry.example.com/fleet\njobs:\n  - name: web\n    "
                               "target: {pid: 42}\n",
                               "test.yaml");
  ASSERT_TRUE(set.has_value());
  EXPECT_EQ(set->jobs()[0].replicate.to, "registry.example.com/fleet");
}

} // namespace
} // namespace stasis::policy
