// stasis killed with SIGKILL in the middle of a streaming checkpoint and in the
// middle of serving a lazy restore: the store stays intact and a restart (a
// fresh Store::open) restores its checkpoints.
#include "tests/e2e/lazy_e2e_support.hpp"

#include <sys/socket.h>
#include <sys/wait.h>

namespace stasis::store::e2e {
namespace {

using AStoreWhoseServerIsKilled = LazyE2e;

// Runs body in a forked child (stasis's stand-in) and returns its pid.
template <typename Body>
pid_t fork_server(Body body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    body();
    ::_exit(0);
  }
  return pid;
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

void expect_intact(const std::filesystem::path& state) {
  auto reopened = Store::open(state);
  ASSERT_TRUE(reopened) << reopened.error().message;
  auto fsck = reopened->fsck(true);
  ASSERT_TRUE(fsck) << fsck.error().message;
  EXPECT_TRUE(fsck->ok()) << (fsck->problems.empty() ? "" : fsck->problems.front());
  auto verify = reopened->verify();
  ASSERT_TRUE(verify);
  EXPECT_TRUE(verify->ok());
}

TEST_F(AStoreWhoseServerIsKilled, StaysIntactAfterAKillInTheMiddleOfAStreamedDump) {
  auto state = m_tmp.path() / "state";
  auto store = Store::open(state).value();
  auto wl = Workload::start("stasis-wl-memory", {"--bytes", "128M"}, m_tmp.path() / "wl");
  ASSERT_TRUE(store.ingest("mem", dump(wl), {}));
  auto listener = std::make_unique<page_server::Listener>(
      page_server::Listener::loopback("127.0.0.1", 0).value());
  const auto port = listener->port();
  int accepted[2];
  ASSERT_EQ(::pipe(accepted), 0);
  pid_t server = fork_server([&] {
    auto streaming = StreamingCheckpoint::begin(store, "mem");
    if (streaming) {
      if (auto conn = listener->accept(std::chrono::seconds(30))) {
        [[maybe_unused]] auto n = ::write(accepted[1], "a", 1);
        (void)(*streaming)->receive(conn->get());
      }
    }
    ::pause(); // never commits: killed before
  });
  ::close(accepted[1]);
  auto dir = m_tmp.path() / "streamed";
  std::filesystem::create_directories(dir);
  auto dumped = std::async(std::launch::async, [&] {
    return test::run_command(
        {test::criu_binary().string(), "dump", "-t", std::to_string(wl.pid()), "-D",
         dir.string(), "--leave-running", "--page-server", "--address", "127.0.0.1",
         "--port", std::to_string(port), "-o", "dump.log"});
  });
  char byte = 0;
  ASSERT_EQ(::read(accepted[0], &byte, 1), 1) << "CRIU never connected";
  ::close(accepted[0]);
  std::this_thread::sleep_for(200ms); // some pages are in the store's temporary pack
  kill_and_reap(server);
  listener.reset();
  dumped.get();
  expect_intact(state);
  auto reopened = Store::open(state).value();
  EXPECT_EQ(reopened.list("mem")->size(), 1U);
  restore_and_check(reopened, "mem", 1, wl, 0);
}

TEST_F(AStoreWhoseServerIsKilled, StaysIntactAfterAKillWhileServingALazyRestore) {
  auto state = m_tmp.path() / "state";
  auto store = Store::open(state).value();
  auto wl = Workload::start("stasis-wl-memory", {"--bytes", "64M"}, m_tmp.path() / "wl");
  ASSERT_TRUE(store.ingest("mem", dump(wl), {}));
  stop(wl);
  auto source = LazySource::open(store, "mem", 1).value();
  auto images = m_tmp.path() / "lazy";
  auto work = m_tmp.path() / "lazy-work";
  ASSERT_TRUE(source->write_images(images));
  std::filesystem::create_directories(work);
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  util::UniqueFd serve_end(fds[0]), daemon_end(fds[1]);
  pid_t server = fork_server([&] { (void)source->serve(serve_end.get()); });
  serve_end.reset();
  engine::LazyPagesOptions lo;
  lo.images_dir = images;
  lo.work_dir = work;
  lo.page_server_fd = daemon_end.get();
  auto daemon = engine::LazyPagesDaemon::start(test::criu_binary(), lo);
  ASSERT_TRUE(daemon) << daemon.error().message();
  daemon_end.reset();
  auto r = test::run_command({test::criu_binary().string(), "restore", "-d", "-D",
                              images.string(), "-W", work.string(), "--lazy-pages", "-o",
                              "restore.log"});
  ASSERT_EQ(r.exit_code, 0) << log_tail(work / "restore.log");
  kill_and_reap(server);
  (void)daemon->wait(10s);
  // The lazily restored process lost its page server; it is ended here.
  stop(wl);
  expect_intact(state);
  auto reopened = Store::open(state).value();
  restore_and_check(reopened, "mem", 1, wl, 0);
}

} // namespace
} // namespace stasis::store::e2e
