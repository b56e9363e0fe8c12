// What a restore opens for a user's tree, it opens with her rights
// (manager/open_as.hpp), and it connects only the sockets the policy lists
// (inherit_external_unix).
#include "manager/external_unix.hpp"
#include "manager/open_as.hpp"

#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;

class OpenAsTest : public ::testing::Test {
protected:
  void SetUp() override {
    char pattern[] = "/tmp/stasis-open-as-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    m_dir = pattern;
    ::chmod(m_dir.c_str(), 0755);
    auto nobody = lookup_user("nobody");
    ASSERT_TRUE(nobody) << "these tests need the user nobody: " << nobody.error().message;
    m_user = *nobody;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }
  const fs::path& dir() const { return m_dir; }
  const UserIdentity& user() const { return m_user; }

  // A listening socket at dir()/name, connectable by anyone.
  util::UniqueFd listen_at(const std::string& name) {
    util::UniqueFd sk(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const auto path = (dir() / name).string();
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(sk.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::chmod(path.c_str(), 0777);
    EXPECT_EQ(::listen(sk.get(), 4), 0);
    return sk;
  }

private:
  fs::path m_dir;
  UserIdentity m_user;
};

TEST_F(OpenAsTest, OpensForAUserOnlyWhatSheMayOpen) {
  const auto secret = dir() / "secret";
  std::ofstream(secret) << "root's\n";
  ::chmod(secret.c_str(), 0600);
  auto as_user = open_as(user(), secret.string(), O_RDONLY);
  ASSERT_FALSE(as_user);
  EXPECT_NE(as_user.error().message.find(std::strerror(EACCES)), std::string::npos)
      << as_user.error().message;
  EXPECT_NE(as_user.error().message.find(fmt::format("uid {}", user().uid)),
            std::string::npos)
      << as_user.error().message;
  EXPECT_TRUE(open_as(std::nullopt, secret.string(), O_RDONLY));

  ::chmod(secret.c_str(), 0644);
  auto readable = open_as(user(), secret.string(), O_RDONLY);
  ASSERT_TRUE(readable) << readable.error().message;
  char text[8] = {};
  EXPECT_EQ(::read(readable->get(), text, 6), 6);
  EXPECT_EQ(std::string(text), "root's");
}

TEST_F(OpenAsTest, CreatesFilesAsTheUser) {
  const auto shared = dir() / "shared";
  fs::create_directory(shared);
  ::chmod(shared.c_str(), 01777);
  auto made = open_as(user(), (shared / "made").string(), O_WRONLY | O_CREAT, 0644);
  ASSERT_TRUE(made) << made.error().message;
  struct stat st {};
  ASSERT_EQ(::fstat(made->get(), &st), 0);
  EXPECT_EQ(st.st_uid, user().uid);
}

TEST_F(OpenAsTest, ConnectsSoThatTheServerSeesTheUser) {
  auto server = listen_at("server.sock");
  auto connected = connect_unix_as(user(), (dir() / "server.sock").string());
  ASSERT_TRUE(connected) << connected.error().message;
  util::UniqueFd accepted(::accept4(server.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(accepted);
  ucred peer{};
  socklen_t size = sizeof peer;
  ASSERT_EQ(::getsockopt(accepted.get(), SOL_SOCKET, SO_PEERCRED, &peer, &size), 0);
  EXPECT_EQ(peer.uid, user().uid);
  EXPECT_EQ(peer.gid, user().gid);
}

TEST_F(OpenAsTest, ConnectsOnlyTheSocketsThePolicyLists) {
  auto server = listen_at("server.sock");
  const auto socket_path = (dir() / "server.sock").string();
  const auto images = dir() / "images";
  fs::create_directory(images);
  ASSERT_TRUE(save_external_unix(images, {{4242, socket_path}}));

  policy::CriuSettings criu;
  engine::RestoreOptions options;
  auto refused = inherit_external_unix(images, criu, user(), options);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("does not list"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find(socket_path), std::string::npos);
  EXPECT_TRUE(options.inherit_fds.empty());

  criu.external_unix_sockets.push_back({socket_path});
  auto fds = inherit_external_unix(images, criu, user(), options);
  ASSERT_TRUE(fds) << fds.error().message;
  ASSERT_EQ(options.inherit_fds.size(), 1u);
  EXPECT_EQ(options.inherit_fds.front().key, "socket:[4242]");
}

TEST_F(OpenAsTest, NeverWritesTheConnectionRecordThroughALink) {
  const auto images = dir() / "images";
  fs::create_directory(images);
  const auto target = dir() / "target";
  std::ofstream(target) << "keep\n";
  fs::create_symlink(target, images / k_external_unix_file);
  EXPECT_FALSE(save_external_unix(images, {{1, "/run/x.sock"}}));
  std::ifstream in(target);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "keep");
  // Nor reads one.
  EXPECT_FALSE(load_external_unix(images));
}

} // namespace
} // namespace stasis::manager
