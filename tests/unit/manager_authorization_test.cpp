#include "manager/authorization.hpp"
#include "manager/capabilities.hpp"

#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

const Caller k_root{0, 0, 1};
const Caller k_nobody{65534, 65534, 1};

TEST(AnAccessList, LetsRootDoAnything) {
  for (auto action : {Action::List, Action::Checkpoint, Action::Restore, Action::Delete,
                      Action::Export}) {
    EXPECT_TRUE(may(k_root, action, policy::Access{}));
  }
}

TEST(AnAccessList, GrantsListedUsersOnlyTheirActions) {
  policy::Access access;
  access.checkpoint.users = {"nobody"};
  EXPECT_TRUE(may(k_nobody, Action::Checkpoint, access));
  EXPECT_FALSE(may(k_nobody, Action::Restore, access));
  // Anyone granted an action may also list the job.
  EXPECT_TRUE(may(k_nobody, Action::List, access));
  EXPECT_FALSE(may(Caller{1234, 1234, 1}, Action::Checkpoint, access));
}

TEST(AnAccessList, NeverLetsRestoreAccessTakeTheImagesOffTheHost) {
  policy::Access access;
  access.restore.users = {"nobody"};
  EXPECT_FALSE(may(k_nobody, Action::Export, access));
  access.exporting.users = {"nobody"};
  EXPECT_TRUE(may(k_nobody, Action::Export, access));
  EXPECT_TRUE(may(k_nobody, Action::List, access));
}

TEST(AnAccessList, GrantsMembersOfListedGroups) {
  policy::Access access;
  access.restore.groups = {"nogroup"};
  EXPECT_TRUE(may(k_nobody, Action::Restore, access));
  // A uid without a passwd entry still counts its own primary gid.
  EXPECT_TRUE(may(Caller{4321, 65534, 1}, Action::Restore, access));
  EXPECT_FALSE(may(Caller{4321, 4321, 1}, Action::Restore, access));
}

TEST(AnAccessList, AcceptsNumericUidsAndGids) {
  policy::Access access;
  access.checkpoint.users = {"65534"};
  access.restore.groups = {"4321"};
  EXPECT_TRUE(may(k_nobody, Action::Checkpoint, access));
  EXPECT_TRUE(may(Caller{4321, 4321, 1}, Action::Restore, access));
  EXPECT_FALSE(may(k_nobody, Action::Restore, access));
}

TEST(AnAccessList, IgnoresNamesThatDoNotResolve) {
  policy::Access access;
  access.remove.users = {"no-such-user-stasis"};
  access.remove.groups = {"no-such-group-stasis"};
  EXPECT_FALSE(may(k_nobody, Action::Delete, access));
}

TEST(AnAccessList, DoesNotTreatRootGroupNamesAsGrantingOthers) {
  policy::Access access;
  access.list.users = {"root"};
  access.list.groups = {"root"};
  EXPECT_FALSE(may(k_nobody, Action::List, access));
}

TEST(AProcessCheck, RejectsPidsThatAreNotProcesses) {
  auto zero = check_own_process(k_root, 0);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, ErrorCode::InvalidArgument);
  auto missing = check_own_process(k_root, 0x3ffffff);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "no process 67108863");
}

TEST(AProcessCheck, RejectsTheDaemonItself) {
  auto self = check_own_process(k_root, getpid());
  ASSERT_FALSE(self);
  EXPECT_NE(self.error().message.find("daemon itself"), std::string::npos);
}

TEST(ACapabilityAssessment, AcceptsCheckpointRestoreOrSysAdminWithPtrace) {
  EXPECT_TRUE(assess_capabilities({true, false, true}).sufficient());
  EXPECT_TRUE(assess_capabilities({false, true, true}).sufficient());
}

TEST(ACapabilityAssessment, NamesEachMissingCapability) {
  auto report = assess_capabilities({false, false, false});
  ASSERT_EQ(report.problems.size(), 2u);
  EXPECT_NE(report.problems[0].find("CAP_CHECKPOINT_RESTORE"), std::string::npos);
  EXPECT_NE(report.problems[1].find("CAP_SYS_PTRACE"), std::string::npos);
  EXPECT_EQ(assess_capabilities({true, false, false}).problems.size(), 1u);
}

} // namespace
} // namespace stasis::manager
