// The path stasisd takes: the engine's RPC dump streams its pages over a
// socketpair into the store, and the engine's lazy restore gets them back from
// the store through CRIU's lazy-pages daemon on another socketpair.
#include "engine/criu_client.hpp"
#include "tests/e2e/lazy_e2e_support.hpp"

#include <sys/socket.h>

namespace stasis::store::e2e {
namespace {

using ALazyRestoreThroughTheEngine = LazyE2e;

std::pair<util::UniqueFd, util::UniqueFd> socket_pair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  return {util::UniqueFd(fds[0]), util::UniqueFd(fds[1])};
}

TEST_F(ALazyRestoreThroughTheEngine, StreamsADumpIntoTheStoreAndRestoresItLazily) {
  auto store = Store::open(m_tmp.path() / "state").value();
  engine::CriuClient client(test::criu_binary());
  auto wl = Workload::start("stasis-wl-memory", {"--bytes", "16M"}, m_tmp.path() / "wl");

  // Streaming dump over a socketpair (CRIU's page_server.fd RPC option).
  auto streaming = StreamingCheckpoint::begin(store, "mem").value();
  auto [ours, theirs] = socket_pair();
  auto received = std::async(std::launch::async,
                             [&, fd = ours.get()] { return streaming->receive(fd); });
  engine::DumpOptions dump;
  dump.pid = wl.pid();
  dump.images_dir = m_tmp.path() / "dump";
  dump.leave_running = true;
  dump.page_server = engine::PageServerTarget{"", 0, theirs.get()};
  auto dumped = client.dump(dump);
  ASSERT_TRUE(dumped) << dumped.error().message();
  theirs.reset();
  auto got = received.get();
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_FALSE(has_big_pages_file(dump.images_dir, 0));
  auto stored = streaming->commit(dump.images_dir, {});
  ASSERT_TRUE(stored) << stored.error().message;
  streaming.reset();
  EXPECT_GT(stored->logical_bytes, 16U << 20);

  // Lazy restore: the lazy-pages daemon gets its page server as --ps-socket.
  stop(wl);
  auto source = LazySource::open(store, "mem", stored->id).value();
  auto images = m_tmp.path() / "restore";
  auto work = m_tmp.path() / "work";
  ASSERT_TRUE(source->write_images(images));
  std::filesystem::create_directories(work);
  auto [serve_end, daemon_end] = socket_pair();
  auto served = std::async(std::launch::async,
                           [&, fd = serve_end.get()] { return source->serve(fd); });
  engine::LazyPagesOptions lo;
  lo.images_dir = images;
  lo.work_dir = work;
  lo.page_server_fd = daemon_end.get();
  auto daemon = engine::LazyPagesDaemon::start(client.binary(), lo);
  ASSERT_TRUE(daemon) << daemon.error().message();
  daemon_end.reset();
  wl.reset_status();
  engine::RestoreOptions restore;
  restore.images_dir = images;
  restore.work_dir = work;
  restore.lazy_pages = true;
  auto restored = client.restore(restore);
  ASSERT_TRUE(restored) << restored.error().message();
  wl.adopt(restored->pid);
  ASSERT_TRUE(wl.wait_for_ticks(1, 10s));
  EXPECT_EQ(wl.verify(), "");
  auto done = daemon->wait(30s);
  EXPECT_TRUE(done) << done.error().message();
  auto stats = served.get();
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(source->pages_sent(), source->lazy_pages());
}

TEST_F(ALazyRestoreThroughTheEngine, RefusesAPageServerAddressThatIsNotLoopback) {
  auto listener = page_server::Listener::loopback("10.1.2.3", 0);
  ASSERT_FALSE(listener);
  EXPECT_NE(listener.error().message.find("not a loopback address"), std::string::npos);
  EXPECT_TRUE(page_server::Listener::loopback("::1", 0) ||
              page_server::Listener::loopback("127.0.0.1", 0));
}

} // namespace
} // namespace stasis::store::e2e
