// stasisd end to end with a real registry (issue 15): a checkpoint pushed to
// an OCI registry, gone from the store, restored lazily from the registry
// (`stasisctl restore --from REF --lazy`): its pages come by Range requests
// and the background fill, then it is a stored checkpoint again. A damaged
// bundle and a registry that dies mid-fill fail the run, and nothing is
// stored.
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/test_user.hpp"
#include "tests/support/registry.hpp"

#include <csignal>
#include <fstream>
#include <sys/wait.h>
#include <thread>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class ADaemonLazyRestoreFromARegistry : public DaemonTest {
protected:
  void SetUp() override {
    m_registry = std::make_unique<TestRegistry>(); // throws when it cannot start
    std::ofstream(dir() / "ca.pem") << m_registry->ca_pem();
  }

  manager::RemoteOptions remote() const {
    manager::RemoteOptions o;
    o.username = TestRegistry::k_user;
    o.password = TestRegistry::k_password;
    o.ca_pem = m_registry->ca_pem();
    return o;
  }
  std::string repository() const { return m_registry->host() + "/lazy/mem"; }

  // Checkpoints a memory workload of `bytes` as job mem, pushes it and
  // deletes it from the store: the registry holds the only copy.
  void checkpoint_push_and_forget(Workload& workload) {
    write_policy("mem.yaml", pidfile_job("mem", write_pidfile("mem", workload.pid())));
    start_daemon();
    auto client = this->client();
    ASSERT_TRUE(client);
    auto run = client->checkpoint("mem", {});
    ASSERT_TRUE(run) << run.error().message;
    auto info = wait_run(*client, *run, 120s);
    ASSERT_EQ(info.state, manager::RunState::Succeeded) << info.error << "\n" << log();
    workload.reap_after_dump();
    auto push = client->push("mem", "", repository(), remote());
    ASSERT_TRUE(push) << push.error().message;
    info = wait_run(*client, *push, 120s);
    ASSERT_EQ(info.state, manager::RunState::Succeeded) << info.error << "\n" << log();
    auto deleted = client->delete_checkpoint("mem", "1");
    ASSERT_TRUE(deleted) << deleted.error().message;
    auto left = client->list_checkpoints("mem");
    ASSERT_TRUE(left && left->empty());
  }

  // Restores mem-latest lazily over D-Bus; the run's id.
  std::string restore_from_registry(dbus::Client& client) {
    manager::RestoreOptions options;
    options.lazy = true;
    options.from = repository() + ":mem-latest";
    options.remote = remote();
    auto run = client.restore("mem", "", options);
    EXPECT_TRUE(run) << run.error().message;
    return run ? *run : "";
  }

  // The lazy restores' cache dirs left in the state dir.
  std::vector<fs::path> cache_dirs() const {
    std::vector<fs::path> found;
    std::error_code error;
    for (const auto& e : fs::directory_iterator(state_dir() / "remote", error)) {
      if (e.path().filename().string().starts_with("lazy-")) {
        found.push_back(e.path());
      }
    }
    return found;
  }
  // Waits until the in-flight restores have let go of their cache dirs.
  bool cache_dirs_gone() const {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!cache_dirs().empty() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
    }
    return cache_dirs().empty();
  }

  // The largest blob in the registry's storage (a bundle of pages).
  fs::path largest_blob() const {
    fs::path best;
    std::uintmax_t size = 0;
    for (const auto& e : fs::recursive_directory_iterator(m_registry->storage() /
                                                          "docker/registry/v2/blobs")) {
      if (e.is_regular_file() && e.path().filename() == "data" && e.file_size() > size) {
        size = e.file_size();
        best = e.path();
      }
    }
    return best;
  }

  // Waits until the workload's process is gone (stasisd killed it).
  static bool gone(const Workload& workload) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (workload.alive() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
    }
    return !workload.alive();
  }

  std::unique_ptr<TestRegistry> m_registry;
};

TEST_F(ADaemonLazyRestoreFromARegistry,
       ResumesTheWorkloadWhoseEveryPageComesAndStoresTheCheckpoint) {
  auto workload = Workload::start("stasis-wl-memory", {"--bytes", "64M"}, dir() / "mem");
  ASSERT_TRUE(workload.wait_for_ticks(2, 10s));
  checkpoint_push_and_forget(workload);
  if (HasFatalFailure()) {
    return;
  }
  auto restored =
      stasisctl({"restore", "--from", repository() + ":mem-latest", "--lazy", "--creds",
                 std::string(TestRegistry::k_user) + ":" + TestRegistry::k_password,
                 "--ca-file", (dir() / "ca.pem").string()});
  ASSERT_EQ(restored.exit_code, 0) << restored.err << "\n" << log();
  const pid_t pid = std::stoi(restored.out);
  ASSERT_GT(pid, 0);
  workload.adopt(pid);
  EXPECT_NE(restored.err.find("stored as checkpoint"), std::string::npos) << restored.err;
  // Every page of the 64 MiB, checked by the workload itself.
  EXPECT_EQ(workload.verify(60s), "");
  EXPECT_TRUE(workload.wait_for_ticks(workload.ticks() + 2, 10s));

  auto client = this->client();
  ASSERT_TRUE(client);
  auto stored = client->list_checkpoints("mem");
  ASSERT_TRUE(stored) << stored.error().message;
  ASSERT_EQ(stored->size(), 1U) << "the checkpoint is stored again, complete";
  auto verified = client->verify("mem", stored->front().id);
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_TRUE(verified->problems.empty());
  // The lazy-pages daemon got every page, then the cache went.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (log().find("pages served") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_NE(log().find("pages served"), std::string::npos) << log();
  EXPECT_TRUE(cache_dirs_gone());
  EXPECT_EQ(workload.verify(60s), "") << "after all pages are in";
}

TEST_F(ADaemonLazyRestoreFromARegistry, RefusesADamagedBundleNamingItAndStoresNothing) {
  auto workload = Workload::start("stasis-wl-memory", {"--bytes", "64M"}, dir() / "mem");
  ASSERT_TRUE(workload.wait_for_ticks(2, 10s));
  checkpoint_push_and_forget(workload);
  if (HasFatalFailure()) {
    return;
  }
  // One byte of the largest bundle flipped in the registry's storage: its
  // Range responses and its whole download both carry it.
  const auto blob = largest_blob();
  ASSERT_FALSE(blob.empty());
  const std::string digest = "sha256:" + blob.parent_path().filename().string();
  {
    std::fstream f(blob, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(fs::file_size(blob) / 2));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(fs::file_size(blob) / 2));
    f.put(static_cast<char>(c ^ 0x5a));
  }
  auto client = this->client();
  ASSERT_TRUE(client);
  auto run = restore_from_registry(*client);
  auto info = wait_run(*client, run, 120s);
  if (info.pid > 0) {
    workload.adopt(info.pid); // killed by stasisd; reaped by the fixture otherwise
  }
  EXPECT_EQ(info.state, manager::RunState::Failed) << log();
  EXPECT_NE(info.error.find(digest), std::string::npos)
      << "the error names the damaged bundle " << digest << ": " << info.error;
  auto stored = client->list_checkpoints("mem");
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_TRUE(stored->empty()) << "nothing of the damaged checkpoint is stored";
  if (info.pid > 0) {
    EXPECT_TRUE(gone(workload)) << "the tree whose memory cannot come was killed";
  }
  EXPECT_TRUE(cache_dirs_gone());
}

TEST_F(ADaemonLazyRestoreFromARegistry,
       FailsClearlyAndStoresNothingWhenTheRegistryDiesDuringTheFill) {
  auto workload = Workload::start("stasis-wl-memory", {"--bytes", "384M"}, dir() / "mem");
  ASSERT_TRUE(workload.wait_for_ticks(2, 30s));
  checkpoint_push_and_forget(workload);
  if (HasFatalFailure()) {
    return;
  }
  auto client = this->client();
  ASSERT_TRUE(client);
  auto run = restore_from_registry(*client);
  // The tree runs (its pid is recorded) while the fill is under way: the
  // registry goes now.
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  manager::RunInfo info;
  for (;;) {
    auto got = client->get_run(run);
    ASSERT_TRUE(got) << got.error().message;
    info = *got;
    if (info.pid > 0 || info.state != manager::RunState::Running ||
        std::chrono::steady_clock::now() > deadline) {
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_GT(info.pid, 0) << info.error << "\n" << log();
  workload.adopt(info.pid);
  m_registry->stop();
  info = wait_run(*client, run, 120s);
  EXPECT_EQ(info.state, manager::RunState::Failed) << log();
  EXPECT_NE(info.error.find("not all of its memory could come from the registry"),
            std::string::npos)
      << info.error;
  EXPECT_NE(info.error.find("nothing was stored"), std::string::npos) << info.error;
  auto stored = client->list_checkpoints("mem");
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_TRUE(stored->empty()) << "no checkpoint claims to be complete";
  EXPECT_TRUE(gone(workload)) << "the tree whose memory cannot come was killed";
  EXPECT_TRUE(cache_dirs_gone());
}

// CRIU's lazy-pages daemon cannot run with a user's rights, so a lazy
// restore of her tree is refused, from a registry as from the store: before
// anything is downloaded beyond the small images, with nothing stored.
TEST_F(ADaemonLazyRestoreFromARegistry, RefusesAUsersTreeBeforeTheFill) {
  TestUser alice("stasis-t-rlazy-alice");
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  const fs::path alice_dir = dir() / "alice";
  const pid_t pid = start_workload_as(alice, "stasis-wl-counter", alice_dir);
  ASSERT_GT(pid, 0);
  KillOnExit guard{pid};
  const std::string job = "user-" + std::to_string(alice.uid());
  auto made =
      stasisctl({"checkpoint", "--pid", std::to_string(pid), "--stop"}, alice.name());
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err << log();
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  release_child(pid);
  ASSERT_TRUE(wait_pid_free(pid, 10s));
  const std::string reference = m_registry->host() + "/lazy/alice";
  auto push = client->push(job, "", reference, remote());
  ASSERT_TRUE(push) << push.error().message;
  auto pushed = wait_run(*client, *push, 120s);
  ASSERT_EQ(pushed.state, manager::RunState::Succeeded) << pushed.error << "\n" << log();
  // Remote is REF:TAG@DIGEST.
  const std::string copy = pushed.remote.substr(0, pushed.remote.find('@'));
  const std::string tag = copy.substr(copy.rfind(':') + 1);

  auto restored =
      stasisctl({"restore", "--from", reference + ":" + tag, "--lazy", "--creds",
                 std::string(TestRegistry::k_user) + ":" + TestRegistry::k_password,
                 "--ca-file", (dir() / "ca.pem").string()},
                alice.name());
  EXPECT_EQ(restored.exit_code, 1) << restored.out << restored.err << log();
  EXPECT_NE(restored.err.find("cannot be restored lazily"), std::string::npos)
      << restored.err;
  EXPECT_FALSE(fs::exists(fmt::format("/proc/{}", pid))) << "no tree was restored";
  auto stored = client->list_checkpoints(job);
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored->size(), 1U) << "only her own checkpoint; nothing was filled";
  EXPECT_TRUE(cache_dirs_gone());
}

} // namespace
} // namespace stasis::test
