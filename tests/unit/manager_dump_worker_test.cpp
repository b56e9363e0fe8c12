// Whose rights CRIU dumps with: criu.dump-as for root's policy jobs of
// another user's process, and the cases it never changes (a user's own
// ad-hoc checkpoint, root's processes, containers).
#include "manager/dump_worker.hpp"
#include "policy/loader.hpp"

#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

using policy::DumpAs;

constexpr uid_t k_alice = 1000;

DumpWorkerFacts policy_job_of_alice(bool sys_resource) {
  return DumpWorkerFacts{false, 0, k_alice, false, sys_resource};
}

TEST(TheDumpWorkerChoice, RunsRootCriuForAPolicyJobWhenRootCanDumpOtherUids) {
  EXPECT_EQ(choose_dump_worker(DumpAs::Auto, policy_job_of_alice(true)),
            DumpWorker::Root);
}

TEST(TheDumpWorkerChoice, FallsBackToTheTargetsUserWithoutCapSysResource) {
  EXPECT_EQ(choose_dump_worker(DumpAs::Auto, policy_job_of_alice(false)),
            DumpWorker::TargetUser);
}

TEST(TheDumpWorkerChoice, TakesRootAndTargetUserAsWrittenWhateverTheCapabilities) {
  for (bool sys_resource : {false, true}) {
    EXPECT_EQ(choose_dump_worker(DumpAs::Root, policy_job_of_alice(sys_resource)),
              DumpWorker::Root);
    EXPECT_EQ(choose_dump_worker(DumpAs::TargetUser, policy_job_of_alice(sys_resource)),
              DumpWorker::TargetUser);
  }
}

TEST(TheDumpWorkerChoice, KeepsAUsersOwnAdhocCheckpointOnHerRightsWhateverTheKey) {
  for (auto dump_as : {DumpAs::Auto, DumpAs::Root, DumpAs::TargetUser}) {
    for (bool sys_resource : {false, true}) {
      EXPECT_EQ(choose_dump_worker(dump_as, DumpWorkerFacts{true, k_alice, k_alice, false,
                                                            sys_resource}),
                DumpWorker::Caller);
    }
  }
}

TEST(TheDumpWorkerChoice, DumpsRootsAdhocCheckpointOfAUsersProcessAsThatUser) {
  EXPECT_EQ(
      choose_dump_worker(DumpAs::Auto, DumpWorkerFacts{true, 0, k_alice, false, true}),
      DumpWorker::TargetUser);
}

TEST(TheDumpWorkerChoice, DumpsRootsProcessesAndContainersAsRoot) {
  for (auto dump_as : {DumpAs::Auto, DumpAs::Root, DumpAs::TargetUser}) {
    EXPECT_EQ(choose_dump_worker(dump_as, DumpWorkerFacts{false, 0, 0, false, false}),
              DumpWorker::Root);
    EXPECT_EQ(
        choose_dump_worker(dump_as, DumpWorkerFacts{false, 0, k_alice, true, false}),
        DumpWorker::Root);
  }
}

TEST(APolicyParser, ReadsCriuDumpAsWithAutoAsTheDefault) {
  auto parse = [](const std::string& criu) {
    return policy::parse_policy_text(
        "version: 1\njobs:\n  - name: db\n    target: {pid: 42}\n" + criu, "test.yaml");
  };
  auto plain = parse("");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->jobs().front().criu.dump_as, DumpAs::Auto);
  auto root = parse("    criu: {dump-as: root}\n");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->jobs().front().criu.dump_as, DumpAs::Root);
  auto user = parse("    criu: {dump-as: target-user}\n");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->jobs().front().criu.dump_as, DumpAs::TargetUser);
  auto bad = parse("    criu: {dump-as: caller}\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().front().to_string().find("dump-as"), std::string::npos)
      << bad.error().front().to_string();
}

} // namespace
} // namespace stasis::manager
