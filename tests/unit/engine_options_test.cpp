// DumpOptions/RestoreOptions: mapping onto CRIU's wire fields and validate().
#include "engine/options.hpp"
#include "engine/options_wire.hpp"
#include "tests/unit/engine_fake_worker.hpp"

#include <fstream>
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace stasis::engine {
namespace {

using testing::ScratchDir;

int field_number(const char* name) {
  const auto* field = wire::Options::descriptor()->FindFieldByName(name);
  return field == nullptr ? -1 : field->number();
}

TEST(TheCriuWireOptions, UseTheFieldNumbersOfCriu42) {
  EXPECT_EQ(field_number("images_dir_fd"), 1);
  EXPECT_EQ(field_number("leave_running"), 3);
  EXPECT_EQ(field_number("shell_job"), 7);
  EXPECT_EQ(field_number("notify_scripts"), 12);
  EXPECT_EQ(field_number("work_dir_fd"), 17);
  EXPECT_EQ(field_number("inherit_fd"), 27);
  EXPECT_EQ(field_number("manage_cgroups_mode"), 34);
  EXPECT_EQ(field_number("external"), 37);
  EXPECT_EQ(field_number("tcp_close"), 52);
  EXPECT_EQ(field_number("lsm_profile"), 53);
  EXPECT_EQ(field_number("network_lock"), 64);
  EXPECT_EQ(field_number("mntns_compat_mode"), 65);
  EXPECT_EQ(field_number("unprivileged"), 67);
  EXPECT_EQ(field_number("leave_stopped"), 69);
  EXPECT_EQ(field_number("display_stats"), 70);
  EXPECT_EQ(wire::NETLOCK_NFTABLES, 2);
  EXPECT_EQ(wire::CGM_STRICT, 5);
  EXPECT_EQ(wire::REQ_VERSION, 10);
}

TEST(ADumpOptionsMapping, SetsEveryRequestedField) {
  DumpOptions o;
  o.pid = 1234;
  o.leave_running = true;
  o.shell_job = true;
  o.file_locks = true;
  o.tcp_established = true;
  o.ext_unix_sk = true;
  o.unix_sk_inodes = {77};
  o.external = {"mnt[/data]:data", "net[4026531992]:extnet"};
  o.evasive_devices = true;
  o.link_remap = true;
  o.ghost_limit = 4096;
  o.force_irmap = true;
  o.irmap_scan_paths = {"/usr"};
  o.manage_cgroups_mode = CgroupMode::Soft;
  o.cgroup_roots = {{"cpu", "/stasis"}, {"", "/all"}};
  o.cgroup_dump_controllers = {"memory"};
  o.freeze_cgroup = "/sys/fs/cgroup/freezer/x";
  o.ext_mount_map = {{"/mnt", "mnt"}};
  o.auto_ext_mnt = o.ext_sharing = o.ext_masters = true;
  o.skip_mnt = {"/proc"};
  o.enable_fs = {"hugetlbfs"};
  o.cpu_cap = cpu_cap::fpu | cpu_cap::ins;
  o.network_lock = NetworkLock::Iptables;
  o.criu_timeout = std::chrono::seconds(9);
  o.auto_dedup = true;
  o.parent_img = "../parent";
  o.track_mem = true;
  o.unprivileged = true;
  o.display_stats = true;
  o.log_level = 4;

  wire::Options w;
  to_wire(o, "dump.log", w);
  EXPECT_EQ(w.pid(), 1234);
  EXPECT_TRUE(w.leave_running());
  EXPECT_FALSE(w.has_leave_stopped());
  EXPECT_TRUE(w.shell_job() && w.file_locks() && w.tcp_established() && w.ext_unix_sk());
  EXPECT_EQ(w.unix_sk_ino(0).inode(), 77u);
  ASSERT_EQ(w.external_size(), 2);
  EXPECT_EQ(w.external(1), "net[4026531992]:extnet");
  EXPECT_TRUE(w.evasive_devices() && w.link_remap() && w.force_irmap());
  EXPECT_EQ(w.ghost_limit(), 4096u);
  EXPECT_EQ(w.irmap_scan_paths(0), "/usr");
  EXPECT_TRUE(w.manage_cgroups());
  EXPECT_EQ(w.manage_cgroups_mode(), wire::CGM_SOFT);
  ASSERT_EQ(w.cg_root_size(), 2);
  EXPECT_EQ(w.cg_root(0).ctrl(), "cpu");
  EXPECT_EQ(w.cg_root(0).path(), "/stasis");
  EXPECT_FALSE(w.cg_root(1).has_ctrl());
  EXPECT_EQ(w.cgroup_dump_controller(0), "memory");
  EXPECT_EQ(w.freeze_cgroup(), "/sys/fs/cgroup/freezer/x");
  EXPECT_EQ(w.ext_mnt(0).key(), "/mnt");
  EXPECT_TRUE(w.auto_ext_mnt() && w.ext_sharing() && w.ext_masters());
  EXPECT_EQ(w.skip_mnt(0), "/proc");
  EXPECT_EQ(w.enable_fs(0), "hugetlbfs");
  EXPECT_EQ(w.cpu_cap(), 5u);
  EXPECT_EQ(w.network_lock(), wire::NETLOCK_IPTABLES);
  EXPECT_EQ(w.timeout(), 9u);
  EXPECT_TRUE(w.auto_dedup() && w.track_mem() && w.unprivileged() && w.display_stats());
  EXPECT_EQ(w.parent_img(), "../parent");
  EXPECT_EQ(w.log_level(), 4);
  EXPECT_EQ(w.log_file(), "dump.log");
}

TEST(ADumpOptionsMapping, DefaultsToNftablesLockingAndQuietLogs) {
  DumpOptions o;
  o.pid = 1;
  wire::Options w;
  to_wire(o, "dump.log", w);
  EXPECT_EQ(w.network_lock(), wire::NETLOCK_NFTABLES);
  EXPECT_EQ(w.log_level(), 2);
  EXPECT_FALSE(w.has_leave_running());
  EXPECT_FALSE(w.has_manage_cgroups());
  EXPECT_FALSE(w.has_cpu_cap());
  EXPECT_FALSE(w.has_timeout());
}

TEST(ADumpOptionsMapping, SendsLeaveStoppedAsItsOwnField) {
  DumpOptions o;
  o.pid = 1;
  o.leave_stopped = true;
  wire::Options w;
  to_wire(o, "dump.log", w);
  EXPECT_TRUE(w.leave_stopped());
  EXPECT_FALSE(w.has_leave_running());
}

TEST(ADumpOptionsMapping, SendsTcpCloseAndTheCgroupYardOnTheDumpToo) {
  DumpOptions o;
  o.pid = 1;
  o.tcp_close = true;
  o.cgroup_yard = "/yard";
  o.cgroup_roots = {{"cpu", "/a"}};
  wire::Options w;
  to_wire(o, "dump.log", w);
  EXPECT_TRUE(w.tcp_close());
  EXPECT_EQ(w.cgroup_yard(), "/yard");
  ASSERT_EQ(w.cg_root_size(), 1);
  EXPECT_EQ(w.cg_root(0).ctrl(), "cpu");
}

TEST(ARestoreOptionsMapping, SendsLeaveStoppedOnRestore) {
  RestoreOptions o;
  o.leave_stopped = true;
  wire::Options w;
  to_wire(o, "restore.log", w);
  EXPECT_TRUE(w.leave_stopped());
}

TEST(ARestoreOptionsMapping, SetsEveryRequestedField) {
  RestoreOptions o;
  o.restore_detached = false;
  o.tcp_close = true;
  o.root = "/srv/root";
  o.veths = {{"eth0", "veth-stasis"}};
  o.inherit_fds = {{"pipe:[99]", 0}};
  o.join_ns = {{"net", "/proc/1/ns/net", ""}, {"user", "/proc/1/ns/user", "0,0"}};
  o.empty_ns = CLONE_NEWNET;
  o.orphan_pts_master = true;
  o.lsm_profile = "apparmor:stasis";
  o.mntns_compat_mode = true;
  o.weak_sysctls = true;
  o.cgroup_yard = "/yard";
  o.log_file = "mine.log";

  wire::Options w;
  to_wire(o, "restore.log", w);
  EXPECT_TRUE(w.rst_sibling());
  EXPECT_TRUE(w.tcp_close());
  EXPECT_EQ(w.root(), "/srv/root");
  EXPECT_EQ(w.veths(0).inside(), "eth0");
  EXPECT_EQ(w.veths(0).outside(), "veth-stasis");
  EXPECT_EQ(w.inherit_fd(0).key(), "pipe:[99]");
  EXPECT_EQ(w.inherit_fd(0).fd(), 0);
  ASSERT_EQ(w.join_ns_size(), 2);
  EXPECT_FALSE(w.join_ns(0).has_extra_opt());
  EXPECT_EQ(w.join_ns(1).extra_opt(), "0,0");
  EXPECT_EQ(w.empty_ns(), static_cast<std::uint32_t>(CLONE_NEWNET));
  EXPECT_TRUE(w.orphan_pts_master() && w.mntns_compat_mode() && w.weak_sysctls());
  EXPECT_EQ(w.lsm_profile(), "apparmor:stasis");
  EXPECT_EQ(w.cgroup_yard(), "/yard");
  EXPECT_EQ(w.log_file(), "mine.log");
  EXPECT_FALSE(w.has_pid());
}

TEST(ARestoreOptionsMapping, LeavesRstSiblingOffForDetachedRestores) {
  RestoreOptions o;
  wire::Options w;
  to_wire(o, "restore.log", w);
  EXPECT_FALSE(w.has_rst_sibling());
  EXPECT_EQ(w.log_file(), "restore.log");
}

std::string problems(const Result<void>& result) {
  return result ? std::string() : result.error().message;
}

TEST(DumpValidation, AcceptsPlainOptions) {
  ScratchDir dir;
  DumpOptions o;
  o.pid = ::getppid();
  o.images_dir = dir.path();
  EXPECT_TRUE(validate(o)) << problems(validate(o));
}

TEST(DumpValidation, RejectsLeaveRunningWithLeaveStopped) {
  ScratchDir dir;
  DumpOptions o;
  o.pid = ::getppid();
  o.images_dir = dir.path();
  o.leave_running = o.leave_stopped = true;
  EXPECT_NE(problems(validate(o)).find("leave_running and leave_stopped conflict"),
            std::string::npos);
}

TEST(DumpValidation, ListsEveryProblemAtOnce) {
  DumpOptions o;
  o.log_level = 7;
  o.log_file = "logs/dump.log";
  o.network_lock = NetworkLock::Skip;
  o.tcp_established = true;
  o.unix_sk_inodes = {1};
  o.external = {"nonsense"};
  o.parent_img = "/abs/parent";
  o.cpu_cap = 0x100;
  const auto text = problems(validate(o));
  for (const char* expected :
       {"pid must be a positive process id", "images_dir is not set", "log_level 7",
        "must be a plain file name", "tcp_established needs network locking",
        "ext_unix_sk is off", "not of the form type[id]:value", "must be relative",
        "unknown bits"}) {
    EXPECT_NE(text.find(expected), std::string::npos)
        << expected << " missing in: " << text;
  }
}

TEST(DumpValidation, RejectsDumpingTheCallingProcess) {
  DumpOptions o;
  o.pid = ::getpid();
  o.images_dir = "/tmp";
  EXPECT_NE(problems(validate(o)).find("cannot dump itself"), std::string::npos);
}

TEST(DumpValidation, RejectsMissingParentImages) {
  ScratchDir dir;
  DumpOptions o;
  o.pid = ::getppid();
  o.images_dir = dir.path();
  o.parent_img = "../nowhere";
  EXPECT_NE(problems(validate(o)).find("parent images"), std::string::npos);
}

class RestoreValidation : public ::testing::Test {
protected:
  void SetUp() override { std::ofstream(m_dir.path() / "inventory.img") << "x"; }
  RestoreOptions options() const {
    RestoreOptions o;
    o.images_dir = m_dir.path();
    return o;
  }
  ScratchDir m_dir;
};

TEST_F(RestoreValidation, AcceptsADumpDirectory) {
  EXPECT_TRUE(validate(options())) << problems(validate(options()));
}

TEST_F(RestoreValidation, RejectsAMissingImagesDir) {
  auto o = options();
  o.images_dir = m_dir.path() / "missing";
  EXPECT_NE(problems(validate(o)).find("does not exist"), std::string::npos);
}

TEST_F(RestoreValidation, RejectsADirectoryWithoutADump) {
  auto o = options();
  o.images_dir = m_dir.path() / "empty";
  std::filesystem::create_directories(o.images_dir);
  EXPECT_NE(problems(validate(o)).find("holds no CRIU dump"), std::string::npos);
}

TEST_F(RestoreValidation, RejectsTcpCloseWithTcpEstablished) {
  auto o = options();
  o.tcp_close = o.tcp_established = true;
  EXPECT_NE(problems(validate(o)).find("tcp_close and tcp_established conflict"),
            std::string::npos);
}

TEST_F(RestoreValidation, RejectsNamespacesCriuCannotJoinOrCreate) {
  auto o = options();
  o.join_ns = {{"pid", "/proc/1/ns/pid", ""}, {"net", "/no/such/ns", "1,1"}};
  o.empty_ns = CLONE_NEWNET | CLONE_NEWPID;
  const auto text = problems(validate(o));
  EXPECT_NE(text.find("\"pid\" is not joinable"), std::string::npos) << text;
  EXPECT_NE(text.find("does not exist"), std::string::npos) << text;
  EXPECT_NE(text.find("only valid for user namespaces"), std::string::npos) << text;
  EXPECT_NE(text.find("empty_ns=net and join_ns=net conflict"), std::string::npos)
      << text;
  EXPECT_NE(text.find("only create an empty network namespace"), std::string::npos)
      << text;
}

TEST_F(RestoreValidation, RejectsInheritingADescriptorThatIsNotOpen) {
  auto o = options();
  o.inherit_fds = {{"pipe:[1]", 999}};
  EXPECT_NE(problems(validate(o)).find("fd 999, which is not open"), std::string::npos);
}

TEST_F(RestoreValidation, RequiresARootForExternalMountsOfAMountNamespaceDump) {
  std::ofstream(m_dir.path() / "mountpoints-12.img") << "x";
  auto o = options();
  o.external = {"mnt[data]:/srv/data"};
  EXPECT_NE(problems(validate(o)).find("set root"), std::string::npos);
  o.root = m_dir.path();
  EXPECT_TRUE(validate(o)) << problems(validate(o));
}

TEST(ACgroupMode, RoundTripsThroughItsCriuName) {
  for (auto mode :
       {CgroupMode::Ignore, CgroupMode::None, CgroupMode::Props, CgroupMode::Soft,
        CgroupMode::Full, CgroupMode::Strict, CgroupMode::Default}) {
    EXPECT_EQ(parse_cgroup_mode(to_string(mode)), mode);
  }
  EXPECT_FALSE(parse_cgroup_mode("loose"));
}

} // namespace
} // namespace stasis::engine
