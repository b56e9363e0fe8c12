// Interop proof against CRIU's own page server: one `criu dump --page-server`
// stream is teed to `criu page-server` and to stasis. stasis's checkpoint must
// hold the very images CRIU's page server wrote (byte for byte) and the same
// chunks as ingesting them from a directory.
#include "tests/e2e/lazy_e2e_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

namespace stasis::store::e2e {
namespace {

using AStreamedDump = LazyE2e;

util::UniqueFd connect_loopback(std::uint16_t port) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    util::UniqueFd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) {
      return fd;
    }
    std::this_thread::sleep_for(50ms);
  }
  return {};
}

// Copies from one socket to others until end of stream; then shuts them down.
void pump(int from, std::vector<int> to) {
  std::vector<std::uint8_t> buffer(1 << 16);
  for (;;) {
    auto n = ::recv(from, buffer.data(), buffer.size(), 0);
    if (n <= 0) {
      break;
    }
    for (int fd : to) {
      (void)page_server::send_full(fd, {buffer.data(), static_cast<std::size_t>(n)});
    }
  }
  for (int fd : to) {
    ::shutdown(fd, SHUT_WR);
  }
}

std::string read_whole(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST_F(AStreamedDump, MatchesWhatCriusOwnPageServerWrites) {
  auto store = Store::open(m_tmp.path() / "state").value();
  auto wl = Workload::start("stasis-wl-pipe", {}, m_tmp.path() / "wl");
  auto ps_dir = m_tmp.path() / "criu-ps";
  auto dump_dir = m_tmp.path() / "dump";
  std::filesystem::create_directories(ps_dir);
  std::filesystem::create_directories(dump_dir);

  // CRIU's page server, stasis's, and the tee CRIU's dump connects to.
  auto probe = page_server::Listener::loopback("127.0.0.1", 0).value();
  const auto criu_port = probe.port();
  probe = page_server::Listener::loopback("127.0.0.1", 0).value(); // frees criu_port
  auto criu_ps = std::async(std::launch::async, [&] {
    return test::run_command({test::criu_binary().string(), "page-server", "-D",
                              ps_dir.string(), "--address", "127.0.0.1", "--port",
                              std::to_string(criu_port), "-o", "ps.log"});
  });
  auto ours = page_server::Listener::loopback("127.0.0.1", 0).value();
  auto tee = page_server::Listener::loopback("127.0.0.1", 0).value();
  auto streaming = StreamingCheckpoint::begin(store, "streamed").value();
  auto received = std::async(std::launch::async, [&]() -> Result<void> {
    auto conn = STASIS_TRY(ours.accept(30s));
    return streaming->receive(conn.get());
  });
  auto teed = std::async(std::launch::async, [&] {
    auto from_dump = tee.accept(30s);
    if (!from_dump) {
      return false;
    }
    auto to_criu = connect_loopback(criu_port);
    auto to_ours = connect_loopback(ours.port());
    if (!to_criu || !to_ours) {
      return false;
    }
    std::thread replies(pump, to_criu.get(), std::vector<int>{from_dump->get()});
    pump(from_dump->get(), {to_criu.get(), to_ours.get()});
    replies.join();
    // stasis's answers (OPEN2, CLOSE) are dropped; read until it hangs up.
    char sink[64];
    while (::recv(to_ours.get(), sink, sizeof(sink), 0) > 0) {
    }
    return true;
  });
  auto r = test::run_command(
      {test::criu_binary().string(), "dump", "-t", std::to_string(wl.pid()), "-D",
       dump_dir.string(), "--leave-running", "--page-server", "--address", "127.0.0.1",
       "--port", std::to_string(tee.port()), "-o", "dump.log"});
  ASSERT_EQ(r.exit_code, 0) << log_tail(dump_dir / "dump.log");
  ASSERT_TRUE(teed.get());
  auto got = received.get();
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(criu_ps.get().exit_code, 0) << log_tail(ps_dir / "ps.log");
  auto streamed = streaming->commit(dump_dir, {});
  ASSERT_TRUE(streamed) << streamed.error().message;
  streaming.reset();

  // The directory CRIU's page server and the dump wrote together.
  std::size_t page_images = 0;
  auto out = m_tmp.path() / "materialized";
  ASSERT_TRUE(store.materialize("streamed", streamed->id, out));
  for (const auto& e : std::filesystem::directory_iterator(ps_dir)) {
    auto name = e.path().filename().string();
    if (name.starts_with("page")) {
      ++page_images;
      EXPECT_EQ(read_whole(e.path()), read_whole(out / name)) << name << " differs";
      std::filesystem::copy_file(e.path(), dump_dir / name);
    }
  }
  EXPECT_EQ(page_images, 4U) << "two processes: two pagemaps and two pages images";
  auto plain = store.ingest("plain", dump_dir, {});
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(chunk_set(store, "streamed", streamed->id),
            chunk_set(store, "plain", plain->id));
  EXPECT_EQ(file_names(store, "streamed", streamed->id),
            file_names(store, "plain", plain->id));
}

} // namespace
} // namespace stasis::store::e2e
