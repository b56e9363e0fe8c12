// Options CRIU takes on one side only, or with another value on each side
// (zdtm's dopts/ropts), each have a policy key of their own, and the mapping
// hands each side its value.
#include "manager/criu_mapping.hpp"
#include "policy/keys.hpp"
#include "policy/loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace stasis {
namespace {

using ::testing::HasSubstr;

// The loaded job of a policy with these extra lines (indented 4), or the
// diagnostics joined in `error`.
policy::Job load(const std::string& lines, std::string* error = nullptr) {
  auto result = policy::parse_policy_text(
      "version: 1\njobs:\n  - name: job\n    target: {pid: 7}\n" + lines, "t.yaml");
  if (!result) {
    std::string all;
    for (const auto& d : result.error()) {
      all += (all.empty() ? "" : " | ") + d.to_string();
    }
    if (error != nullptr) {
      *error = all;
    } else {
      ADD_FAILURE() << all;
    }
    return {};
  }
  return result->jobs().front();
}

std::string error_for(const std::string& lines) {
  std::string error = "(valid)";
  load(lines, &error);
  return error;
}

TEST(ASideSpecificOption, HasAKeyOnEachSideWhereCriuTakesItOnEach) {
  // CRIU option -> the policy keys of its checkpoint and restore sides.
  const std::vector<std::pair<std::string, std::string>> sides = {
      {"tcp-close", "tcp-close"},         {"manage-cgroups", "manage-cgroups"},
      {"cgroup-root", "cgroup-root"},     {"cpu-cap", "cpu-cap"},
      {"ext-mount-map", "ext-mount-map"}, {"external", "external"},
      {"leave-stopped", "leave-stopped"}, {"lazy-pages", "lazy"},
  };
  const auto& job = *policy::language().job;
  const auto* criu = policy::find_key(job, "criu");
  const auto* restore = policy::find_key(job, "restore");
  ASSERT_NE(criu, nullptr);
  ASSERT_NE(restore, nullptr);
  for (const auto& [dump_key, restore_key] : sides) {
    EXPECT_NE(policy::find_key(*criu->value, dump_key), nullptr) << "criu." << dump_key;
    EXPECT_NE(policy::find_key(*restore->value, restore_key), nullptr)
        << "restore." << restore_key;
  }
  // Dump-only options live under criu only.
  for (const char* dump_only : {"cgroup-props", "cgroup-props-file", "tcp-skip-in-flight",
                                "cgroup-dump-controllers", "freeze-cgroup"}) {
    EXPECT_NE(policy::find_key(*criu->value, dump_only), nullptr) << dump_only;
    EXPECT_EQ(policy::find_key(*restore->value, dump_only), nullptr) << dump_only;
  }
}

TEST(ASideSpecificOption, NamesCriusSkipInFlightFlagAsTheOriginOfTheKey) {
  const auto* criu = policy::find_key(*policy::language().job, "criu");
  const auto* key = policy::find_key(*criu->value, "tcp-skip-in-flight");
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->origin, "criu --skip-in-flight");
}

TEST(ARestoreSideKey, RestoresAnEstablishedCheckpointClosed) {
  const auto job = load("    criu: {tcp-established: true}\n"
                        "    restore: {tcp-close: true}\n");
  const auto dump = manager::to_dump_options(job.criu);
  EXPECT_TRUE(dump.tcp_established);
  EXPECT_FALSE(dump.tcp_close);
  const auto restore = manager::to_restore_options(job.criu, job.restore);
  EXPECT_TRUE(restore.tcp_close);
  // CRIU shuts the sockets down instead of repairing them.
  EXPECT_FALSE(restore.tcp_established);
  EXPECT_TRUE(engine::validate(restore).has_value() ||
              engine::validate(restore).error().message.find("tcp_close") ==
                  std::string::npos);
}

TEST(ARestoreSideKey, DefaultsToTheCriuSectionsValue) {
  const auto job = load("    criu: {tcp-close: true, manage-cgroups: full}\n");
  EXPECT_FALSE(job.restore.tcp_close.has_value());
  EXPECT_FALSE(job.restore.manage_cgroups.has_value());
  const auto restore = manager::to_restore_options(job.criu, job.restore);
  EXPECT_TRUE(restore.tcp_close);
  EXPECT_EQ(restore.manage_cgroups_mode, engine::CgroupMode::Full);
}

TEST(ACriuTcpClose, ReachesTheDumpSoConnectedSocketsAreLeftOut) {
  const auto job = load("    criu: {tcp-close: true}\n");
  EXPECT_TRUE(manager::to_dump_options(job.criu).tcp_close);
  EXPECT_TRUE(manager::to_restore_options(job.criu, job.restore).tcp_close);
}

TEST(ARestoreSideKey, RefusesToRestoreATcpCloseCheckpointWithConnections) {
  EXPECT_THAT(error_for("    criu: {tcp-close: true}\n    restore: {tcp-close: false}\n"),
              HasSubstr("t.yaml:6:15: 'restore.tcp-close: false' cannot restore a "
                        "checkpoint taken with 'criu.tcp-close: true'"));
}

TEST(ATcpCloseConflict, PointsAtTheRestoreSideKey) {
  EXPECT_THAT(error_for("    criu: {tcp-established: true, tcp-close: true}\n"),
              HasSubstr("set 'restore.tcp-close: true' instead"));
}

TEST(ARestoreSideKey, IgnoresCgroupsOnRestoreOnly) {
  const auto job = load("    restore: {manage-cgroups: ignore}\n");
  EXPECT_EQ(manager::to_dump_options(job.criu).manage_cgroups_mode,
            engine::CgroupMode::Soft);
  EXPECT_EQ(manager::to_restore_options(job.criu, job.restore).manage_cgroups_mode,
            engine::CgroupMode::Ignore);
  EXPECT_THAT(
      error_for("    restore: {manage-cgroups: ignore, cgroup-root: [/x]}\n"),
      HasSubstr("'restore.cgroup-root' has no effect with 'restore.manage-cgroups: "
                "ignore'"));
  // Cgroups ignored on dump but managed on restore: restore.cgroup-root works.
  EXPECT_EQ(error_for("    criu: {manage-cgroups: ignore}\n"
                      "    restore: {manage-cgroups: soft, cgroup-root: [/x]}\n"),
            "(valid)");
}

TEST(ADumpSideKey, CarriesCgroupRootAndPropertiesIntoTheDumpOnly) {
  const auto job = load("    criu:\n      cgroup-root: ['cpu:/a', /b]\n"
                        "      cgroup-props: 'x'\n      cgroup-props-file: /etc/p.yaml\n"
                        "      cgroup-yard: /run/yard\n"
                        "    restore: {cgroup-root: [/c]}\n");
  const auto dump = manager::to_dump_options(job.criu);
  ASSERT_EQ(dump.cgroup_roots.size(), 2u);
  EXPECT_EQ(dump.cgroup_roots[0].controller, "cpu");
  EXPECT_EQ(dump.cgroup_roots[0].path, "/a");
  EXPECT_EQ(dump.cgroup_roots[1].path, "/b");
  EXPECT_EQ(dump.cgroup_props, "x");
  EXPECT_EQ(dump.cgroup_props_file, "/etc/p.yaml");
  EXPECT_EQ(dump.cgroup_yard, "/run/yard");
  const auto restore = manager::to_restore_options(job.criu, job.restore);
  ASSERT_EQ(restore.cgroup_roots.size(), 1u);
  EXPECT_EQ(restore.cgroup_roots[0].path, "/c");
  EXPECT_TRUE(restore.cgroup_props.empty());
  EXPECT_TRUE(restore.cgroup_props_file.empty());
  EXPECT_EQ(restore.cgroup_yard, "/run/yard");
}

TEST(ADumpSideKey, IsRefusedUnderRestoreWithWhereItMoved) {
  EXPECT_THAT(error_for("    restore: {cgroup-props: x}\n"),
              HasSubstr("CRIU reads cgroup properties when it dumps: write it as "
                        "'criu.cgroup-props'"));
}

TEST(ARestoreSideKey, LeavesTheRestoredTreeStopped) {
  const auto job = load("    restore: {leave-stopped: true}\n");
  EXPECT_TRUE(manager::to_restore_options(job.criu, job.restore).leave_stopped);
  EXPECT_FALSE(manager::to_dump_options(job.criu).leave_stopped);
}

} // namespace
} // namespace stasis
