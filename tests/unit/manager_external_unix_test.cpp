// Finding, recording and replacing a tree's stream connections to unix
// sockets outside it (policy criu.external-unix-sockets).
#include "manager/external_unix.hpp"

#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ATempDir {
public:
  ATempDir() {
    char pattern[] = "/tmp/stasis-ext-unix-XXXXXX";
    m_path = ::mkdtemp(pattern);
  }
  ~ATempDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  const fs::path& path() const { return m_path; }

private:
  fs::path m_path;
};

// A stream server at path in a process outside our tree (double fork): it
// accepts connections until `release` is closed by us.
class OutsideServer {
public:
  explicit OutsideServer(const fs::path& path) {
    int ready[2];
    int hold[2];
    EXPECT_EQ(::pipe(ready), 0);
    EXPECT_EQ(::pipe(hold), 0);
    const pid_t child = ::fork();
    if (child == 0) {
      if (::fork() == 0) {
        ::close(ready[0]);
        ::close(hold[1]);
        const int sk = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        ::bind(sk, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        ::listen(sk, 4);
        const char byte = 1;
        [[maybe_unused]] auto written = ::write(ready[1], &byte, 1);
        const int connection = ::accept(sk, nullptr, nullptr);
        char ignored;
        [[maybe_unused]] auto got = ::read(hold[0], &ignored, 1); // until we close
        ::close(connection);
        ::_exit(0);
      }
      ::_exit(0);
    }
    ::waitpid(child, nullptr, 0);
    ::close(ready[1]);
    ::close(hold[0]);
    char byte = 0;
    EXPECT_EQ(::read(ready[0], &byte, 1), 1);
    ::close(ready[0]);
    m_hold = hold[1];
  }
  ~OutsideServer() { ::close(m_hold); }

private:
  int m_hold = -1;
};

std::uint32_t inode_of(int fd) {
  struct stat st {};
  ::fstat(fd, &st);
  return static_cast<std::uint32_t>(st.st_ino);
}

TEST(ExternalUnixConnections, AreFoundByThePathTheirPeerIsBoundTo) {
  ATempDir dir;
  const auto path = dir.path() / "server.sock";
  OutsideServer server(path);
  auto connected = connect_unix_stream(path.string());
  ASSERT_TRUE(connected) << connected.error().message;
  std::this_thread::sleep_for(50ms); // let the server accept
  auto found = find_external_unix_connections(::getpid(), {path.string()});
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->front().inode, inode_of(connected->get()));
  EXPECT_EQ(found->front().path, path.string());
  // Other paths do not match.
  auto none = find_external_unix_connections(::getpid(), {"/run/other.sock"});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(ExternalUnixConnections, RoundTripThroughTheImagesDirectory) {
  ATempDir dir;
  const std::vector<ExternalUnixConnection> connections{{12345, "/run/a b.sock"},
                                                        {7, "/run/c.sock"}};
  ASSERT_TRUE(save_external_unix(dir.path(), connections));
  auto loaded = load_external_unix(dir.path());
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(*loaded, connections);
}

TEST(ExternalUnixConnections, AreNoneWithoutARecord) {
  ATempDir dir;
  auto loaded = load_external_unix(dir.path());
  ASSERT_TRUE(loaded);
  EXPECT_TRUE(loaded->empty());
}

TEST(ExternalUnixConnections, RejectABrokenRecord) {
  ATempDir dir;
  std::ofstream(dir.path() / k_external_unix_file) << "not-a-number /run/x.sock\n";
  auto loaded = load_external_unix(dir.path());
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message.find("bad line"), std::string::npos);
}

TEST(ExternalUnixConnections, NameAPathNobodyListensOn) {
  auto connected = connect_unix_stream("/nonexistent/stasis.sock");
  ASSERT_FALSE(connected);
  EXPECT_NE(connected.error().message.find("/nonexistent/stasis.sock"),
            std::string::npos);
}

} // namespace
} // namespace stasis::manager
