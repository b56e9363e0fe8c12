// With whose rights a tree is restored, decided from what its images claim:
// crafted credentials never buy a user more than she has.
#include "engine/criu_images.pb.h"
#include "manager/ownership.hpp"
#include "manager/restore_rights.hpp"

#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <unistd.h>

#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

constexpr uid_t k_alice = 1000;
constexpr gid_t k_alice_gid = 1000;
constexpr gid_t k_shared = 1500; // a group alice belongs to
constexpr gid_t k_shadow = 42;   // one she does not
constexpr unsigned k_last_cap = 40;
constexpr std::uint64_t k_all_caps = (1ULL << (k_last_cap + 1)) - 1;

Result<UserIdentity> lookup(uid_t uid) {
  if (uid == k_alice) {
    return UserIdentity{"alice", k_alice, k_alice_gid, {k_alice_gid, k_shared}};
  }
  return make_error("no user {}", uid);
}

engine::TaskCreds task_of(uid_t uid, gid_t gid, pid_t pid = 10) {
  engine::TaskCreds task;
  task.process = pid;
  task.tid = pid;
  task.uid = task.euid = task.suid = task.fsuid = uid;
  task.gid = task.egid = task.sgid = task.fsgid = gid;
  task.groups = {gid};
  task.cap_bnd = k_all_caps;
  task.dumpable = 1;
  return task;
}

Result<RestoreRights> decide(const std::vector<engine::TaskCreds>& tasks,
                             RestoreRightsRules rules = {}) {
  return decide_restore_rights(engine::TreeCreds{tasks}, rules, lookup, k_last_cap);
}

TEST(ARestoreRightsDecision, RestoresAUsersTreeAsHerWithOnlyHerGroups) {
  auto task = task_of(k_alice, k_alice_gid);
  task.groups = {k_shared, k_alice_gid};
  auto rights = decide({task});
  ASSERT_TRUE(rights) << rights.error().message;
  EXPECT_FALSE(rights->as_root);
  EXPECT_EQ(rights->user.uid, k_alice);
  EXPECT_EQ(rights->user.gid, k_alice_gid);
  EXPECT_EQ(rights->user.groups, (std::vector<gid_t>{k_alice_gid, k_shared}));
  EXPECT_FALSE(rights->needs_setpcap);
  EXPECT_EQ(rights->describe(), "uid 1000 (alice)");
}

TEST(ARestoreRightsDecision, NeedsSetpcapOnlyWhereTheBoundingSetMustBeRestored) {
  auto task = task_of(k_alice, k_alice_gid);
  task.cap_bnd = k_all_caps & ~(1ULL << 24); // this VM: no CAP_SYS_RESOURCE
  auto rights = decide({task});
  ASSERT_TRUE(rights) << rights.error().message;
  EXPECT_TRUE(rights->needs_setpcap);
}

TEST(ARestoreRightsDecision, RestoresARootTreeAsRoot) {
  auto rights = decide({task_of(0, 0)});
  ASSERT_TRUE(rights) << rights.error().message;
  EXPECT_TRUE(rights->as_root);
}

TEST(ARestoreRightsDecision, RefusesCapabilitiesAUserCannotGive) {
  for (auto set : {&engine::TaskCreds::cap_prm, &engine::TaskCreds::cap_eff,
                   &engine::TaskCreds::cap_inh, &engine::TaskCreds::cap_amb}) {
    auto task = task_of(k_alice, k_alice_gid);
    task.*set = 1ULL << 19; // CAP_SYS_PTRACE
    auto rights = decide({task});
    ASSERT_FALSE(rights);
    EXPECT_NE(rights.error().message.find("holds capabilities"), std::string::npos);
    EXPECT_NE(rights.error().message.find("restore.run-as: root"), std::string::npos);
  }
}

TEST(ARestoreRightsDecision, RefusesGroupsSheDoesNotBelongTo) {
  auto primary = task_of(k_alice, k_shadow);
  EXPECT_FALSE(decide({primary}));
  auto supplementary = task_of(k_alice, k_alice_gid);
  supplementary.groups = {k_alice_gid, k_shadow};
  auto refused = decide({supplementary});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("supplementary group 42"), std::string::npos);
}

TEST(ARestoreRightsDecision, RefusesATreeOfSeveralUsersUnlessRootsPolicyOptsIn) {
  const std::vector<engine::TaskCreds> tree = {task_of(0, 0, 10),
                                               task_of(k_alice, k_alice_gid, 11)};
  auto refused = decide(tree);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("several identities"), std::string::npos);
  auto opted = decide(tree, {.root_allowed = true, .owner = std::nullopt});
  ASSERT_TRUE(opted);
  EXPECT_TRUE(opted->as_root);
}

TEST(ARestoreRightsDecision, RefusesAnAdHocJobsTreeOfAnyoneButItsOwner) {
  // An ad-hoc job of alice whose images claim root (or a thread of root).
  auto root_tree = decide({task_of(0, 0)}, {.root_allowed = false, .owner = k_alice});
  ASSERT_FALSE(root_tree);
  EXPECT_NE(root_tree.error().message.find("not as uid 1000"), std::string::npos);
  auto thread = task_of(k_alice, k_alice_gid);
  auto root_thread = task_of(0, 0);
  root_thread.tid = 11;
  EXPECT_FALSE(decide({thread, root_thread}, {.root_allowed = false, .owner = k_alice}));
  auto setuid = task_of(k_alice, k_alice_gid);
  setuid.suid = 0;
  EXPECT_FALSE(decide({setuid}, {.root_allowed = false, .owner = k_alice}));
}

TEST(ARestoreRightsDecision, SkipsZombiesAndRefusesATreeOfNothingElse) {
  auto zombie = task_of(0, 0, 11);
  zombie.zombie = true;
  auto rights = decide({task_of(k_alice, k_alice_gid), zombie});
  ASSERT_TRUE(rights) << rights.error().message;
  EXPECT_FALSE(rights->as_root);
  EXPECT_FALSE(decide({zombie}));
}

TEST(AnOwnershipCheck, WantsAllUidsGroupsNoCapabilitiesAndDumpable) {
  const std::set<gid_t> groups = {k_alice_gid, k_shared};
  EXPECT_FALSE(not_owned_because(task_of(k_alice, k_alice_gid), k_alice, groups));
  auto fsuid = task_of(k_alice, k_alice_gid);
  fsuid.fsuid = 0;
  EXPECT_TRUE(not_owned_because(fsuid, k_alice, groups));
  auto caps = task_of(k_alice, k_alice_gid);
  caps.cap_prm = 1;
  EXPECT_TRUE(not_owned_because(caps, k_alice, groups));
  auto undumpable = task_of(k_alice, k_alice_gid);
  undumpable.dumpable = 0;
  EXPECT_TRUE(not_owned_because(undumpable, k_alice, groups));
  auto foreign_group = task_of(k_alice, k_shadow);
  EXPECT_TRUE(not_owned_because(foreign_group, k_alice, groups));
}

// A scratch directory of the test (the unit tier links no test support).
class Scratch {
public:
  Scratch() {
    char name[] = "/tmp/stasis-image-creds-XXXXXX";
    m_path = ::mkdtemp(name);
  }
  ~Scratch() {
    std::error_code ignored;
    std::filesystem::remove_all(m_path, ignored);
  }
  const std::filesystem::path& path() const { return m_path; }

private:
  std::filesystem::path m_path;
};

// Images written the way CRIU writes them: magic, then (size, entry) pairs.
class AnImagesDir : public ::testing::Test {
protected:
  template <typename Message>
  void write_image(const std::string& name, std::uint32_t magic,
                   const std::vector<Message>& entries) {
    std::string bytes;
    auto put = [&bytes](std::uint32_t v) {
      bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
    };
    put(0x54564319);
    put(magic);
    for (const auto& entry : entries) {
      const std::string body = entry.SerializeAsString();
      put(static_cast<std::uint32_t>(body.size()));
      bytes += body;
    }
    std::ofstream(m_dir.path() / name, std::ios::binary) << bytes;
  }

  void write_core(pid_t tid, uid_t uid, std::uint64_t prm) {
    engine::images::CoreEntry core;
    auto* creds = core.mutable_thread_core()->mutable_creds();
    creds->set_uid(uid);
    creds->set_euid(uid);
    creds->set_suid(uid);
    creds->set_fsuid(uid);
    creds->add_cap_prm(static_cast<std::uint32_t>(prm));
    creds->add_cap_prm(static_cast<std::uint32_t>(prm >> 32));
    creds->add_groups(7);
    write_image<engine::images::CoreEntry>(fmt::format("core-{}.img", tid), 0x55053847,
                                           {core});
  }

  Result<engine::TreeCreds> read() {
    const int fd = ::open(m_dir.path().c_str(), O_RDONLY | O_DIRECTORY);
    auto tree = engine::read_tree_creds(fd);
    ::close(fd);
    return tree;
  }

  Scratch m_dir;
};

TEST_F(AnImagesDir, YieldsEveryThreadsCredentials) {
  engine::images::PstreeEntry root;
  root.set_pid(10);
  root.add_threads(10);
  root.add_threads(12);
  engine::images::PstreeEntry child;
  child.set_pid(11);
  child.set_ppid(10);
  child.add_threads(11);
  write_image<engine::images::PstreeEntry>("pstree.img", 0x50273030, {root, child});
  write_core(10, 1000, 0);
  write_core(12, 0, 1ULL << 40);
  write_core(11, 1000, 0);
  auto tree = read();
  ASSERT_TRUE(tree) << tree.error().message;
  ASSERT_EQ(tree->tasks.size(), 3u);
  EXPECT_EQ(tree->tasks[0].tid, 10);
  EXPECT_EQ(tree->tasks[1].tid, 12);
  EXPECT_EQ(tree->tasks[1].process, 10);
  EXPECT_EQ(tree->tasks[1].uid, 0u);
  EXPECT_EQ(tree->tasks[1].cap_prm, 1ULL << 40);
  EXPECT_EQ(tree->tasks[2].process, 11);
  EXPECT_EQ(tree->tasks[2].groups, std::vector<gid_t>{7});
}

// CRIU records a zombie's thread list as whatever it held: only the zombie's
// own core image counts.
TEST_F(AnImagesDir, SkipsTheThreadListOfAZombie) {
  engine::images::PstreeEntry root;
  root.set_pid(10);
  root.add_threads(10);
  engine::images::PstreeEntry zombie;
  zombie.set_pid(11);
  zombie.add_threads(1254818112);
  write_image<engine::images::PstreeEntry>("pstree.img", 0x50273030, {root, zombie});
  write_core(10, 1000, 0);
  engine::images::CoreEntry dead;
  dead.mutable_tc()->set_task_state(2);
  write_image<engine::images::CoreEntry>("core-11.img", 0x55053847, {dead});
  auto tree = read();
  ASSERT_TRUE(tree) << tree.error().message;
  ASSERT_EQ(tree->tasks.size(), 2u);
  EXPECT_TRUE(tree->tasks[1].zombie);
}

TEST_F(AnImagesDir, RefusesMissingCredentialsSymlinksAndBadMagic) {
  engine::images::PstreeEntry root;
  root.set_pid(10);
  write_image<engine::images::PstreeEntry>("pstree.img", 0x50273030, {root});
  EXPECT_FALSE(read()); // no core-10.img
  std::filesystem::create_symlink("/etc/passwd", m_dir.path() / "core-10.img");
  auto linked = read();
  ASSERT_FALSE(linked);
  std::filesystem::remove(m_dir.path() / "core-10.img");
  write_image<engine::images::PstreeEntry>("core-10.img", 0x12345678, {root});
  auto garbage = read();
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().message.find("bad magic"), std::string::npos);
}

} // namespace
} // namespace stasis::manager
