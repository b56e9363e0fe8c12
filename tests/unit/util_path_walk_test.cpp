#include "util/path_walk.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace stasis::util {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class APathWalk : public ::testing::Test {
protected:
  void SetUp() override {
    std::string name = (fs::temp_directory_path() / "stasis-walk-XXXXXX").string();
    ASSERT_NE(::mkdtemp(name.data()), nullptr);
    m_dir = fs::canonical(name);
    fs::create_directories(m_dir / "a" / "b");
    std::ofstream(m_dir / "a" / "b" / "file") << "text\n";
  }
  void TearDown() override { fs::remove_all(m_dir); }

  // Walks path and returns the steps it showed.
  std::vector<std::string> steps_of(const fs::path& path,
                                    WalkTarget target = WalkTarget::RegularFile) {
    std::vector<std::string> steps;
    auto opened = walk_open(path, target, [&](const PathStep& step) -> Result<void> {
      steps.push_back(step.path + (step.last ? " (last)" : ""));
      return {};
    });
    EXPECT_TRUE(opened) << (opened ? "" : opened.error().message);
    return steps;
  }

  static Result<void> accept(const PathStep&) { return {}; }

  fs::path m_dir;
};

TEST_F(APathWalk, ShowsEveryEntryFromTheRootDown) {
  const auto file = m_dir / "a" / "b" / "file";
  auto steps = steps_of(file);
  ASSERT_GE(steps.size(), 4u);
  EXPECT_EQ(steps.front(), "/");
  EXPECT_THAT(std::vector<std::string>(steps.end() - 3, steps.end()),
              ElementsAre((m_dir / "a").string(), (m_dir / "a" / "b").string(),
                          file.string() + " (last)"));
}

TEST_F(APathWalk, FollowsSymlinksByWalkingTheirTargetsAndShowsTheSymlinks) {
  fs::create_symlink("b/file", m_dir / "a" / "relative");
  fs::create_symlink(m_dir / "a", m_dir / "absolute");
  auto steps = steps_of(m_dir / "absolute" / "relative");
  EXPECT_THAT(steps, ::testing::Contains((m_dir / "absolute").string()));
  EXPECT_THAT(steps, ::testing::Contains((m_dir / "a" / "relative").string()));
  EXPECT_EQ(steps.back(), (m_dir / "a" / "b" / "file").string() + " (last)");
  auto opened =
      walk_open(m_dir / "absolute" / "relative", WalkTarget::RegularFile, accept);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->path, (m_dir / "a" / "b" / "file").string());
  EXPECT_EQ(*read_bounded(opened->fd.get(), 100), "text\n");
}

TEST_F(APathWalk, WalksDotDotThroughThePhysicalParent) {
  fs::create_symlink(m_dir / "a" / "b", m_dir / "to-b");
  auto opened =
      walk_open(m_dir / "to-b" / ".." / "b" / "file", WalkTarget::RegularFile, accept);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->path, (m_dir / "a" / "b" / "file").string());
}

TEST_F(APathWalk, StopsAtTheFirstStepTheCheckRefuses) {
  fs::create_symlink(m_dir / "a" / "b" / "file", m_dir / "link");
  auto opened = walk_open(m_dir / "link", WalkTarget::RegularFile,
                          [](const PathStep& step) -> Result<void> {
                            if (S_ISLNK(step.st.st_mode)) {
                              return make_error("no symlinks: {}", step.path);
                            }
                            return {};
                          });
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().message, "no symlinks: " + (m_dir / "link").string());
}

TEST_F(APathWalk, RefusesASymlinkLoop) {
  fs::create_symlink("loop2", m_dir / "loop1");
  fs::create_symlink("loop1", m_dir / "loop2");
  auto opened = walk_open(m_dir / "loop1", WalkTarget::RegularFile, accept);
  ASSERT_FALSE(opened);
  EXPECT_THAT(opened.error().message, HasSubstr("more than 40 symlinks"));
}

TEST_F(APathWalk, RefusesAFifoWithoutOpeningIt) {
  ASSERT_EQ(::mkfifo((m_dir / "fifo").c_str(), 0600), 0);
  auto opened = walk_open(m_dir / "fifo", WalkTarget::RegularFile, accept);
  ASSERT_FALSE(opened);
  EXPECT_THAT(opened.error().message, HasSubstr("is not a regular file"));
}

TEST_F(APathWalk, OpensADirectoryAndWalksOnFromIt) {
  auto directory = walk_open(m_dir / "a", WalkTarget::Directory, accept);
  ASSERT_TRUE(directory) << directory.error().message;
  EXPECT_FALSE(walk_open(m_dir / "a", WalkTarget::RegularFile, accept));
  std::vector<std::string> steps;
  auto file = walk_open_at(*directory, "b/file", WalkTarget::RegularFile,
                           [&](const PathStep& step) -> Result<void> {
                             steps.push_back(step.path);
                             return {};
                           });
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_THAT(steps, ElementsAre((m_dir / "a" / "b").string(),
                                 (m_dir / "a" / "b" / "file").string()));
}

TEST(AReadOfBoundedSize, RefusesAFileLargerThanTheLimitBeforeReadingIt) {
  std::string name = (fs::temp_directory_path() / "stasis-bounded-XXXXXX").string();
  const int fd = ::mkstemp(name.data());
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 100 << 20), 0); // 100 MB, sparse
  auto text = read_bounded(fd, 1 << 20);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().message,
            "it is 104857600 bytes long, more than the 1048576 allowed");
  ::close(fd);
  fs::remove(name);
}

TEST(AReadOfBoundedSize, ReadsNoMoreThanTheLimitFromAPipe) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], "0123456789", 10), 10);
  ::close(fds[1]);
  auto text = read_bounded(fds[0], 4);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().message, "it is longer than the 4 bytes allowed");
  ::close(fds[0]);
}

} // namespace
} // namespace stasis::util
