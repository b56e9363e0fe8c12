// stasisctl's store commands with --state-dir: a command that only reads (or
// maintains) a store never creates one, and `latest` names the newest
// checkpoint offline too.
#include "tests/dbus/command.hpp"
#include "tests/support/temp_dir.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;

CommandResult stasisctl(std::vector<std::string> args) {
  args.insert(args.begin(), STASISCTL_PATH);
  return run_command(args);
}

class AStateDirOption : public ::testing::Test {
protected:
  TempDir m_dir{"stasis-state-dir-test"};
};

TEST_F(AStateDirOption, NeverMakesAStoreForACommandThatNeedsOne) {
  const auto missing = (m_dir.path() / "nonexistent").string();
  const std::vector<std::vector<std::string>> commands = {
      {"du"},
      {"checkpoints", "web"},
      {"show", "web", "1"},
      {"verify"},
      {"verify", "web", "latest"},
      {"fsck"},
      {"gc"},
      {"export", "web", "1", (m_dir.path() / "out").string()},
      {"delete", "web", "1"},
      {"pin", "web", "1"},
      {"prune", "web", "--keep-last", "1"},
  };
  for (auto args : commands) {
    args.insert(args.end(), {"--state-dir", missing});
    const auto result = stasisctl(args);
    EXPECT_EQ(result.exit_code, 5) << args[0] << ": " << result.err;
    EXPECT_NE(result.err.find("no checkpoint store in " + missing), std::string::npos)
        << args[0] << ": " << result.err;
    EXPECT_FALSE(fs::exists(missing)) << args[0] << " created " << missing;
  }
  EXPECT_FALSE(fs::exists(m_dir.path() / "out"));
}

TEST_F(AStateDirOption, NeverTurnsAnEmptyDirectoryIntoAStore) {
  const auto empty = m_dir.path() / "empty";
  fs::create_directory(empty);
  const auto result = stasisctl({"du", "--state-dir", empty.string()});
  EXPECT_EQ(result.exit_code, 5) << result.err;
  EXPECT_TRUE(fs::is_empty(empty));
}

TEST_F(AStateDirOption, ResolvesLatestToTheNewestCheckpoint) {
  const auto state = (m_dir.path() / "state").string();
  const auto images = m_dir.path() / "images";
  fs::create_directory(images);
  for (int i = 0; i < 3; ++i) {
    std::ofstream(images / "inventory.img") << "inventory";
    std::ofstream(images / "pages-1.img") << "pages " << i;
    const auto stored =
        stasisctl({"ingest", "web", images.string(), "--state-dir", state});
    ASSERT_EQ(stored.exit_code, 0) << stored.err;
  }
  const auto shown = stasisctl({"show", "web", "latest", "--state-dir", state});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("checkpoint web/3"), std::string::npos) << shown.out;
  const auto pinned = stasisctl({"--json", "pin", "web", "latest", "--state-dir", state});
  EXPECT_EQ(pinned.exit_code, 0) << pinned.err;
  // Ids are strings in every JSON object (stasisctl(1), JSON OUTPUT).
  EXPECT_EQ(nlohmann::json::parse(pinned.out, nullptr, false)["id"], "3") << pinned.out;

  const auto none = stasisctl({"show", "db", "latest", "--state-dir", state});
  EXPECT_EQ(none.exit_code, 5);
  EXPECT_NE(none.err.find("job 'db' has no checkpoints"), std::string::npos) << none.err;
  const auto bad = stasisctl({"show", "web", "newest", "--state-dir", state});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("'newest' is not a checkpoint id"), std::string::npos)
      << bad.err;
}

} // namespace
} // namespace stasis::test
