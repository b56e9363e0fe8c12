// A runc container (busybox counter) checkpointed and restored through
// stasisd with examples/runc-container.yaml: runc --criu, --leave-running,
// --tcp-established, --file-locks, --manage-cgroups-mode, --empty-ns network,
// the network lock through CRIU_CONFIG_FILE, restore -d --bundle.
#include "tests/dbus/container_fixture.hpp"

#include <fstream>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;

class ARuncContainer : public ContainerTest {
protected:
  // Writes a bundle whose container runs the counter with /data bound to
  // data_dir() and stdio on /dev/null.
  void make_bundle() {
    make_busybox_rootfs(bundle / "rootfs");
    auto spec = run_tool({"runc", "spec", "--bundle", bundle.string()});
    ASSERT_EQ(spec.exit_code, 0) << spec.describe();
    nlohmann::json config;
    std::ifstream(bundle / "config.json") >> config;
    config["process"]["terminal"] = false;
    config["process"]["args"] = {"sh", "-c", k_counter_script};
    config["hostname"] = id;
    config["mounts"].push_back({{"destination", "/data"},
                                {"type", "bind"},
                                {"source", data_dir().string()},
                                {"options", {"rbind", "rw"}}});
    std::ofstream(bundle / "config.json") << config.dump(1);
  }

  std::vector<std::string> runc(std::vector<std::string> args) const {
    args.insert(args.begin(), {"runc", "--root", root.string()});
    return args;
  }

  pid_t init_pid() const {
    auto state = run_tool(runc({"state", id}));
    if (state.exit_code != 0) {
      return -1;
    }
    auto json = nlohmann::json::parse(state.output, nullptr, false);
    return json.is_object() && json.value("status", "") == "running"
               ? json.value("pid", -1)
               : -1;
  }

  void remove_container() const {
    run_tool(runc({"kill", id, "KILL"}));
    run_tool(runc({"delete", "--force", id}));
  }

  // Kills the container and leaves it there, stopped (as after a crash).
  void kill_container() const {
    run_tool(runc({"kill", id, "KILL"}));
    for (int i = 0; i < 500 && status() != "stopped"; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  std::string status() const {
    auto state = run_tool(runc({"state", id}));
    auto json = nlohmann::json::parse(state.output, nullptr, false);
    return state.exit_code == 0 && json.is_object() ? json.value("status", "") : "";
  }

  // The example with restore.replace-dead-container: true.
  void install_replacing_example() {
    install_example("runc-container.yaml",
                    {{"id: api", "id: " + id},
                     {"/run/runc", root.string()},
                     {"/srv/containers/api", bundle.string()},
                     {"      detached: true",
                      "      replace-dead-container: true\n      detached: true"}});
  }

  const std::string id = "stasis-test-" + std::to_string(::getpid());
  const fs::path root = dir() / "runc-root";
  const fs::path bundle = dir() / "bundle";
};

TEST_F(ARuncContainer, IsCheckpointedByRuncAndRestoredWithoutAGap) {
  ASSERT_NO_FATAL_FAILURE(make_bundle());
  install_example("runc-container.yaml", {{"id: api", "id: " + id},
                                          {"/run/runc", root.string()},
                                          {"/srv/containers/api", bundle.string()}});
  Cleanup cleanup([this] { remove_container(); });
  auto started =
      run_tool(runc({"run", "--detach", "--bundle", bundle.string(), id}), true);
  ASSERT_EQ(started.exit_code, 0) << started.describe();
  checkpoint_kill_restore(
      "api-container", [this] { return init_pid(); }, [this] { remove_container(); });
}

TEST_F(ARuncContainer, RefusesPolicyKeysRuncCannotTakeNamingThem) {
  ASSERT_NO_FATAL_FAILURE(make_bundle());
  const std::string target = "    target:\n      runc:\n        id: " + id +
                             "\n        root: " + root.string() + "\n";
  write_policy("refused.yaml",
               "  - name: external\n" + target +
                   "    criu:\n      external: [\"mnt[/data]:data\"]\n"
                   "  - name: hooked\n" +
                   target +
                   "    hooks:\n      pre-dump:\n        - run: [\"/bin/true\"]\n");
  Cleanup cleanup([this] { remove_container(); });
  auto started =
      run_tool(runc({"run", "--detach", "--bundle", bundle.string(), id}), true);
  ASSERT_EQ(started.exit_code, 0) << started.describe();
  ASSERT_TRUE(wait_for_lines(2, std::chrono::seconds(10)));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  for (const auto& [job, key] :
       {std::pair{"external", "criu.external"}, std::pair{"hooked", "hooks.pre-dump"}}) {
    auto run = client->checkpoint(job, {});
    ASSERT_TRUE(run) << run.error().message;
    auto info = wait_run(*client, *run);
    EXPECT_EQ(info.state, manager::RunState::Failed);
    EXPECT_NE(info.error.find(key), std::string::npos) << info.error;
  }
  // Nothing was done to the container: it still counts.
  EXPECT_GT(init_pid(), 0);
  const auto lines = counter().size();
  EXPECT_TRUE(wait_for_lines(lines + 2, std::chrono::seconds(5)));
}

// A container that crashed stays behind, stopped; with
// restore.replace-dead-container the restore deletes it and recreates it
// from the checkpoint, without a manual `runc delete`.
TEST_F(ARuncContainer, ReplacesADeadContainerOfTheSameIdOnRestore) {
  ASSERT_NO_FATAL_FAILURE(make_bundle());
  ASSERT_NO_FATAL_FAILURE(install_replacing_example());
  Cleanup cleanup([this] { remove_container(); });
  auto started =
      run_tool(runc({"run", "--detach", "--bundle", bundle.string(), id}), true);
  ASSERT_EQ(started.exit_code, 0) << started.describe();
  checkpoint_kill_restore(
      "api-container", [this] { return init_pid(); },
      [this] {
        kill_container();
        ASSERT_EQ(status(), "stopped");
      });
  EXPECT_NE(log().find("replaced the dead runc container"), std::string::npos) << log();
}

// Never a running one: the restore fails and the container runs on.
TEST_F(ARuncContainer, NeverReplacesARunningContainer) {
  ASSERT_NO_FATAL_FAILURE(make_bundle());
  ASSERT_NO_FATAL_FAILURE(install_replacing_example());
  Cleanup cleanup([this] { remove_container(); });
  auto started =
      run_tool(runc({"run", "--detach", "--bundle", bundle.string(), id}), true);
  ASSERT_EQ(started.exit_code, 0) << started.describe();
  ASSERT_TRUE(wait_for_lines(3, std::chrono::seconds(10)));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  const pid_t running = init_pid();
  auto run = client->checkpoint("api-container", {}); // leave-running: true
  ASSERT_TRUE(run) << run.error().message;
  auto info = wait_run(*client, *run, std::chrono::seconds(60));
  ASSERT_EQ(info.state, manager::RunState::Succeeded) << info.error << "\n" << log();
  auto restore = client->restore("api-container", info.checkpoint, {});
  ASSERT_TRUE(restore) << restore.error().message;
  auto restored = wait_run(*client, *restore, std::chrono::seconds(60));
  EXPECT_EQ(restored.state, manager::RunState::Failed) << log();
  EXPECT_NE(restored.error.find("is running: a restore never replaces"),
            std::string::npos)
      << restored.error;
  EXPECT_EQ(init_pid(), running);
}

} // namespace
} // namespace stasis::test
