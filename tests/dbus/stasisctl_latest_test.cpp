// `latest` as a checkpoint id: stasisctl resolves it to the job's newest
// checkpoint (the highest id) before it calls stasisd, and says "job 'X' has
// no checkpoints" (exit 5) when there is none. The offline path (--state-dir)
// is in stasisctl_state_dir_test.cpp.
#include "tests/dbus/command.hpp"
#include "tests/dbus/service_fixture.hpp"

namespace stasis::test {
namespace {

using namespace manager;

class StasisctlLatest : public ServiceFixture {
protected:
  StasisctlLatest() {
    std::vector<CheckpointInfo> items;
    for (const char* id : {"7", "12", "9"}) {
      CheckpointInfo item = m_manager.checkpoint_info;
      item.id = id;
      items.push_back(item);
    }
    m_manager.checkpoints = items;
    m_manager.report.ok = true;
  }

  CommandResult stasisctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{STASISCTL_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, {"STASIS_BUS_ADDRESS=" + m_bus.address()});
  }
};

TEST_F(StasisctlLatest, PinsDeletesAndVerifiesTheNewestCheckpoint) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"pin", "web", "latest"},
        {"unpin", "web", "latest"},
        {"delete", "web", "latest"},
        {"verify", "web", "latest"}}) {
    const auto result = stasisctl(args);
    EXPECT_EQ(result.exit_code, 0) << args[0] << ": " << result.err;
    const auto last = m_manager.last();
    EXPECT_EQ(last.job, "web") << args[0];
    EXPECT_EQ(last.checkpoint, "12") << args[0];
  }
}

TEST_F(StasisctlLatest, ShowsTheNewestCheckpoint) {
  const auto result = stasisctl({"show", "web", "latest"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("checkpoint web/12"), std::string::npos) << result.out;
}

TEST_F(StasisctlLatest, RestoresTheNewestCheckpoint) {
  const auto result = stasisctl({"restore", "web", "latest", "--no-wait"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const auto last = m_manager.last();
  EXPECT_EQ(last.method, "restore");
  EXPECT_EQ(last.checkpoint, "12");
}

TEST_F(StasisctlLatest, SaysTheJobHasNoCheckpointsWhenThereIsNone) {
  m_manager.checkpoints = std::vector<CheckpointInfo>{};
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"restore", "web", "latest", "--no-wait"},
        {"delete", "web", "latest"},
        {"show", "web", "latest"}}) {
    const auto result = stasisctl(args);
    EXPECT_EQ(result.exit_code, 5) << args[0];
    EXPECT_NE(result.err.find("job 'web' has no checkpoints"), std::string::npos)
        << args[0] << ": " << result.err;
    EXPECT_NE(m_manager.last().method, "delete_checkpoint");
    EXPECT_NE(m_manager.last().method, "restore");
  }
}

} // namespace
} // namespace stasis::test
