// cgroups: a workload in a cgroup of the test's making (pids controller of
// cgroup v1 and the cgroup2 hierarchy at /sys/fs/cgroup/unified) restored
// with manage-cgroups soft, full, strict and ignore (on both sides or on the
// restore side only), and into another cgroup with cgroup-root. Policies:
// examples/flags/cgroups-*.yaml, cgroup-root.yaml.
#include "tests/dbus/ns_example_support.hpp"

#include <fstream>
#include <sstream>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;
using manager::RunState;
namespace fs = std::filesystem;

const fs::path k_pids = "/sys/fs/cgroup/pids";
const fs::path k_unified = "/sys/fs/cgroup/unified";

// The cgroup path of a process in the pids hierarchy ("pids") or in cgroup2 ("").
std::string cgroup_of(pid_t pid, const std::string& controller) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (line.substr(first + 1, second - first - 1) == controller) {
      return line.substr(second + 1);
    }
  }
  return "?";
}

std::string read_value(const fs::path& file) {
  std::ifstream in(file);
  std::string value;
  in >> value;
  return value;
}

void write_value(const fs::path& file, const std::string& value) {
  std::ofstream out(file);
  out << value << "\n";
  out.flush();
  if (!out) {
    throw std::runtime_error("cannot write " + value + " to " + file.string());
  }
}

class ACgroupJob : public FlagExampleTest {
protected:
  ACgroupJob() {
    make_cgroups();
    write_value(k_pids / m_name / "pids.max", "77");
    for (const auto& root : {k_pids, k_unified}) {
      write_value(root / m_name / "cgroup.procs", std::to_string(m_workload->pid()));
    }
  }
  ~ACgroupJob() override {
    m_workload.reset(); // a cgroup with a process in it cannot be removed
    for (const auto& root : {k_pids, k_unified}) {
      std::error_code ignored;
      fs::remove(root / (m_name + "-restored"), ignored);
      fs::remove(root / m_name, ignored);
    }
  }

  void make_cgroups() {
    for (const auto& root : {k_pids, k_unified}) {
      fs::create_directories(root / m_name);
    }
  }
  void remove_cgroups() {
    for (const auto& root : {k_pids, k_unified}) {
      fs::remove(root / m_name);
    }
  }

  // Checkpoints the example's job (the tree is killed and gone afterwards).
  void checkpoint_job(const std::string& example, const std::string& job) {
    ASSERT_NO_FATAL_FAILURE(start_with(example, m_workload->pid(), m_rewrites));
    ASSERT_EQ(cgroup_of(m_workload->pid(), "pids"), "/" + m_name);
    ASSERT_EQ(cgroup_of(m_workload->pid(), ""), "/" + m_name);
    auto info = checkpoint(job);
    ASSERT_EQ(info.state, RunState::Succeeded) << info.error << "\n" << log();
    m_workload->reap_after_dump();
  }
  // Restores the job and lets the copy verify itself.
  void restore_and_verify(const std::string& job) {
    auto restored = restore(job);
    ASSERT_EQ(restored.state, RunState::Succeeded) << restored.error << "\n" << log();
    m_workload->adopt(restored.pid);
    EXPECT_EQ(m_workload->verify(), "");
  }

  std::string m_name = "stasis-cg-" + std::to_string(::getpid());
  std::map<std::string, std::string> m_rewrites;
  std::unique_ptr<Workload> m_workload = std::make_unique<Workload>(
      Workload::start("stasis-wl-counter", {}, dir() / "counter"));
};

TEST_F(ACgroupJob, SoftRecreatesAMissingCgroupWithItsProperties) {
  ASSERT_NO_FATAL_FAILURE(checkpoint_job("cgroups-soft", "cgroups-soft"));
  remove_cgroups();
  ASSERT_NO_FATAL_FAILURE(restore_and_verify("cgroups-soft"));
  EXPECT_EQ(cgroup_of(m_workload->pid(), "pids"), "/" + m_name);
  EXPECT_EQ(cgroup_of(m_workload->pid(), ""), "/" + m_name);
  EXPECT_EQ(read_value(k_pids / m_name / "pids.max"), "77");
}

TEST_F(ACgroupJob, SoftLeavesThePropertiesOfAnExistingCgroup) {
  ASSERT_NO_FATAL_FAILURE(checkpoint_job("cgroups-soft", "cgroups-soft"));
  write_value(k_pids / m_name / "pids.max", "50");
  ASSERT_NO_FATAL_FAILURE(restore_and_verify("cgroups-soft"));
  EXPECT_EQ(cgroup_of(m_workload->pid(), "pids"), "/" + m_name);
  EXPECT_EQ(read_value(k_pids / m_name / "pids.max"), "50");
}

TEST_F(ACgroupJob, FullRestoresThePropertiesOfAnExistingCgroup) {
  ASSERT_NO_FATAL_FAILURE(checkpoint_job("cgroups-full", "cgroups-full"));
  write_value(k_pids / m_name / "pids.max", "50");
  ASSERT_NO_FATAL_FAILURE(restore_and_verify("cgroups-full"));
  EXPECT_EQ(cgroup_of(m_workload->pid(), "pids"), "/" + m_name);
  EXPECT_EQ(read_value(k_pids / m_name / "pids.max"), "77");
}

TEST_F(ACgroupJob, StrictRefusesCgroupsThatExist) {
  ASSERT_NO_FATAL_FAILURE(checkpoint_job("cgroups-strict", "cgroups-strict"));
  auto refused = restore("cgroups-strict");
  EXPECT_EQ(refused.state, RunState::Failed);
  EXPECT_NE(refused.error.find("Abort restore of existing cgroups"), std::string::npos)
      << refused.error;
  EXPECT_FALSE(m_workload->alive()) << "nothing half-restored may be left running";
}

TEST_F(ACgroupJob, IgnoreRestoresIntoTheDaemonsCgroups) {
  ASSERT_NO_FATAL_FAILURE(checkpoint_job("cgroups-ignore", "cgroups-ignore"));
  ASSERT_NO_FATAL_FAILURE(restore_and_verify("cgroups-ignore"));
  EXPECT_EQ(cgroup_of(m_workload->pid(), "pids"), cgroup_of(::getpid(), "pids"));
  EXPECT_EQ(cgroup_of(m_workload->pid(), ""), cgroup_of(::getpid(), ""));
}

TEST_F(ACgroupJob, IgnoreOnTheRestoreSideOnlyRestoresIntoTheDaemonsCgroups) {
  ASSERT_NO_FATAL_FAILURE(
      checkpoint_job("cgroups-ignore-on-restore", "cgroups-ignore-on-restore"));
  // The tree's cgroups are gone: a restore that managed them would recreate
  // them; this one leaves them alone.
  remove_cgroups();
  ASSERT_NO_FATAL_FAILURE(restore_and_verify("cgroups-ignore-on-restore"));
  EXPECT_EQ(cgroup_of(m_workload->pid(), "pids"), cgroup_of(::getpid(), "pids"));
  EXPECT_EQ(cgroup_of(m_workload->pid(), ""), cgroup_of(::getpid(), ""));
  EXPECT_FALSE(fs::exists(k_pids / m_name));
}

TEST_F(ACgroupJob, CgroupRootMovesTheTreeToAnotherCgroup) {
  m_rewrites["/stasis-examples/restored"] = "/" + m_name + "-restored";
  ASSERT_NO_FATAL_FAILURE(checkpoint_job("cgroup-root", "cgroup-mover"));
  ASSERT_NO_FATAL_FAILURE(restore_and_verify("cgroup-mover"));
  EXPECT_EQ(cgroup_of(m_workload->pid(), "pids"), "/" + m_name + "-restored");
  EXPECT_EQ(read_value(k_pids / (m_name + "-restored") / "pids.max"), "77");
  EXPECT_EQ(cgroup_of(m_workload->pid(), ""), "/" + m_name);
}

} // namespace
} // namespace stasis::test
