// Push and Pull attacked by a second local user through stasisd: jobs she
// may not restore, jobs that are not hers, hostile references and options,
// files she cannot read, her quota, and registries that answer with a huge
// manifest, a redirect to a file: URL or a body that drips forever.
#include "remote/remote.hpp"
#include "tests/dbus/daemon_host.hpp"
#include "tests/dbus/hostile_registry.hpp"
#include "tests/dbus/test_user.hpp"

#include <fcntl.h>
#include <fstream>
#include <functional>
#include <grp.h>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using manager::RunState;

constexpr const char* k_denied = "io.stasis.Stasis1.Error.AccessDenied";
constexpr const char* k_invalid = "io.stasis.Stasis1.Error.InvalidArgument";
constexpr const char* k_no_job = "io.stasis.Stasis1.Error.NoSuchJob";

// What a call made as the user answered: a value (a run id) or an error.
struct Answer {
  std::string value;
  std::string error_name;
  std::string message;
};

// Makes one D-Bus call as the user, from a child process that became her
// (groups, gid, uid) and connected to the bus itself.
Answer call_as(const TestUser& user, const std::string& bus,
               const std::function<dbus::CResult<std::string>(dbus::Client&)>& call) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(fds[0]);
    const gid_t gid = user.gid();
    if (::setgroups(1, &gid) != 0 || ::setresgid(gid, gid, gid) != 0 ||
        ::setresuid(user.uid(), user.uid(), user.uid()) != 0) {
      ::_exit(126);
    }
    std::string line;
    if (auto client = dbus::Client::connect(bus)) {
      auto answer = call(**client);
      line = answer ? *answer + "\t\t"
                    : "\t" + answer.error().name + "\t" + answer.error().message;
    } else {
      line = "\tconnect\t" + client.error().message;
    }
    std::replace(line.begin(), line.end(), '\n', ' ');
    for (std::size_t done = 0; done < line.size();) {
      const auto n = ::write(fds[1], line.data() + done, line.size() - done);
      if (n <= 0) {
        break;
      }
      done += static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) {
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  ::waitpid(child, nullptr, 0);
  Answer answer;
  std::istringstream fields(text);
  std::getline(fields, answer.value, '\t');
  std::getline(fields, answer.error_name, '\t');
  std::getline(fields, answer.message);
  return answer;
}

// A user name of this area for the running test, so that tests running at
// the same time (ctest -j) never share one: "stasis-t-rmt-" and a hash of
// the test's name.
std::string user_name_for_this_test() {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string name =
      test == nullptr ? "none"
                      : std::string(test->test_suite_name()) + "." + test->name();
  return fmt::format("stasis-t-rmt-{:08x}",
                     static_cast<std::uint32_t>(std::hash<std::string>{}(name)));
}

// Root's job "svc" (a counter) that the user may list and checkpoint but not
// restore, a job "hidden" she may not even see, and a registry on loopback
// that holds svc's first checkpoint.
class ARemoteAttacker : public DaemonTest {
protected:
  void SetUp() override {
    m_workload.emplace(Workload::start("stasis-wl-counter", {}, dir() / "svc"));
    const std::string access = "access:\n  list: {users: [" + m_user.name() +
                               "]}\n  checkpoint: {users: [" + m_user.name() + "]}\n";
    write_policy("svc.yaml",
                 pidfile_job("svc", write_pidfile("svc", m_workload->pid()),
                             "criu:\n  leave-running: true\n" + access) +
                     pidfile_job("hidden", write_pidfile("hidden", m_workload->pid()),
                                 "criu:\n  leave-running: true\n"));
    std::ofstream(dir() / "ca.pem") << m_registry.ca_pem();
    ::chmod((dir() / "ca.pem").c_str(), 0644);
    write_auth_file(dir() / "auth.json", m_registry.host());
    start_daemon(m_daemon_options);
    ASSERT_EQ(stasisctl({"checkpoint", "svc"}).exit_code, 0) << log();
    auto pushed = stasisctl({"push", "svc", "latest", repository(), "--ca-file",
                             (dir() / "ca.pem").string(), "--authfile",
                             (dir() / "auth.json").string()});
    ASSERT_EQ(pushed.exit_code, 0) << pushed.out << pushed.err << log();
  }

  std::string repository() const { return m_registry.host() + "/attack/svc"; }
  std::string own_job() const { return "user-" + std::to_string(m_user.uid()); }
  // Her options: the registry's user and password, its CA.
  manager::RemoteOptions options() const {
    manager::RemoteOptions o;
    o.username = TestRegistry::k_user;
    o.password = TestRegistry::k_password;
    o.ca_pem = m_registry.ca_pem();
    return o;
  }
  static manager::RemoteOptions plain() {
    manager::RemoteOptions o;
    o.plain_http = true;
    return o;
  }
  Answer push_as(const std::string& job, const std::string& ref,
                 const manager::RemoteOptions& o) {
    return call_as(m_user, bus_address(),
                   [&](dbus::Client& c) { return c.push(job, "", ref, o); });
  }
  Answer pull_as(const std::string& ref, const std::string& job,
                 const manager::RemoteOptions& o) {
    return call_as(m_user, bus_address(),
                   [&](dbus::Client& c) { return c.pull(ref, job, o); });
  }
  // Waits (as root) until the run is final.
  manager::RunInfo finished(const std::string& run, std::chrono::seconds timeout = 300s) {
    auto root = client();
    return root ? wait_run(*root, run, timeout) : manager::RunInfo{};
  }

  TestUser m_user{user_name_for_this_test()};
  TestRegistry m_registry;
  std::optional<Workload> m_workload;
  std::vector<std::string> m_daemon_options;
};

TEST_F(ARemoteAttacker, CannotPushAJobSheMayNotRestore) {
  auto pushed = push_as("svc", repository(), options());
  EXPECT_EQ(pushed.error_name, k_denied) << pushed.value << pushed.message;
  auto hidden = push_as("hidden", repository(), options());
  EXPECT_EQ(hidden.error_name, k_no_job) << hidden.value << hidden.message;
  auto cli = stasisctl(
      {"push", "svc", "latest", repository(), "--ca-file", (dir() / "ca.pem").string(),
       "--creds", std::string(TestRegistry::k_user) + ":" + TestRegistry::k_password},
      m_user.name());
  EXPECT_EQ(cli.exit_code, 4) << cli.out << cli.err;
}

TEST_F(ARemoteAttacker, PullsOnlyIntoHerOwnJob) {
  const std::string ref = repository() + ":svc-latest";
  for (const std::string job : {"svc", "hidden", "user-0", "user-1"}) {
    auto pulled = pull_as(ref, job, options());
    EXPECT_EQ(pulled.error_name, k_denied)
        << job << ": " << pulled.value << pulled.message;
  }
  auto own = pull_as(ref, own_job(), options());
  ASSERT_TRUE(own.error_name.empty()) << own.error_name << ": " << own.message;
  auto run = finished(own.value);
  EXPECT_EQ(run.state, RunState::Succeeded) << run.error;
  auto root = client();
  ASSERT_TRUE(root);
  auto svc = root->list_checkpoints("svc");
  ASSERT_TRUE(svc);
  EXPECT_EQ(svc->size(), 1u);
}

TEST_F(ARemoteAttacker, HostileReferencesAreRefusedBeforeAnyRun) {
  const std::string host = m_registry.host();
  const std::vector<std::string> references{
      host + "/" + std::string(600, 'a'),
      host + "/attack/" + std::string(300, 'b'),
      host + "/Attack/Svc",
      host + "/attack/svc\n",
      host + "/attack/s v c",
      host + "/attack/../../etc",
      host + "/attack/svc:tag/../x",
      host + "/attack/%2e%2e",
      "stasis:s3cret-pass@" + host + "/attack/svc",
      "file:///etc/shadow",
      "http://" + host + "/attack/svc",
      "https://" + host + "/attack/svc",
      host + "/attack/svc@sha256:" + std::string(64, '0'),
      host,
      "",
  };
  for (const auto& ref : references) {
    auto pushed = push_as("svc", ref, options());
    EXPECT_TRUE(pushed.error_name == k_invalid || pushed.error_name == k_denied)
        << "'" << ref << "': " << pushed.error_name << " " << pushed.value;
    auto pulled = pull_as(ref + ":svc-latest", own_job(), options());
    EXPECT_EQ(pulled.error_name, k_invalid)
        << "'" << ref << "': " << pulled.value << pulled.message;
  }
  auto root = client();
  ASSERT_TRUE(root);
  auto runs = root->list_runs(own_job(), 0);
  EXPECT_TRUE(!runs || runs->empty());
}

TEST_F(ARemoteAttacker, OverlongCredentialsCasAndOriginsAreRefused) {
  const std::string ref = repository() + ":svc-latest";
  auto with = [&](const std::function<void(manager::RemoteOptions&)>& change) {
    auto o = options();
    change(o);
    return pull_as(ref, own_job(), o);
  };
  auto user =
      with([](auto& o) { o.username.assign(manager::k_max_credential_chars + 1, 'u'); });
  EXPECT_EQ(user.error_name, k_invalid) << user.message;
  EXPECT_NE(user.message.find(std::to_string(manager::k_max_credential_chars)),
            std::string::npos)
      << user.message;
  auto password =
      with([](auto& o) { o.password.assign(manager::k_max_credential_chars + 1, 'p'); });
  EXPECT_EQ(password.error_name, k_invalid) << password.message;
  auto ca = with([](auto& o) { o.ca_pem.assign(manager::k_max_ca_pem_bytes + 1, 'c'); });
  EXPECT_EQ(ca.error_name, k_invalid) << ca.message;
  // At the limit a credential is taken (and refused by the registry, later).
  auto at_limit =
      with([](auto& o) { o.password.assign(manager::k_max_credential_chars, 'p'); });
  EXPECT_TRUE(at_limit.error_name.empty()) << at_limit.error_name << at_limit.message;
  if (!at_limit.value.empty()) {
    EXPECT_EQ(finished(at_limit.value).state, RunState::Failed);
  }
  auto origin = call_as(m_user, bus_address(), [&](dbus::Client& c) {
    auto o = options();
    o.origin.assign(33, 'o');
    return c.push("svc", "", repository(), o);
  });
  EXPECT_TRUE(origin.error_name == k_invalid || origin.error_name == k_denied)
      << origin.error_name << origin.message;
}

TEST_F(ARemoteAttacker, ACaFileOrAuthfileSheCannotReadIsAClearError) {
  // Root's copies: she may not read them, so stasisctl (running as her)
  // cannot either, and stasisd never reads a file for her.
  const auto secret_ca = dir() / "root-only-ca.pem";
  std::ofstream(secret_ca) << m_registry.ca_pem();
  ::chmod(secret_ca.c_str(), 0600);
  const auto secret_auth = dir() / "auth.json"; // 0600, root's
  const std::string ref = repository() + ":svc-latest";
  auto ca =
      stasisctl({"pull", ref, "--ca-file", secret_ca.string(), "--creds",
                 std::string(TestRegistry::k_user) + ":" + TestRegistry::k_password},
                m_user.name());
  EXPECT_EQ(ca.exit_code, 2) << ca.out << ca.err;
  EXPECT_NE(ca.err.find("cannot read the CA file " + secret_ca.string()),
            std::string::npos)
      << ca.err;
  auto auth = stasisctl({"pull", ref, "--ca-file", (dir() / "ca.pem").string(),
                         "--authfile", secret_auth.string()},
                        m_user.name());
  EXPECT_EQ(auth.exit_code, 2) << auth.out << auth.err;
  EXPECT_NE(auth.err.find("cannot read the authfile " + secret_auth.string()),
            std::string::npos)
      << auth.err;
  auto root = client();
  ASSERT_TRUE(root);
  auto runs = root->list_runs(own_job(), 0);
  EXPECT_TRUE(!runs || runs->empty());
}

TEST_F(ARemoteAttacker, AHugeManifestFailsThePullWithinItsBound) {
  HostileRegistry hostile(HostileRegistry::Mode::HugeManifest);
  auto pulled = pull_as(hostile.host() + "/evil/x:t", own_job(), plain());
  ASSERT_TRUE(pulled.error_name.empty()) << pulled.message;
  auto run = finished(pulled.value);
  EXPECT_EQ(run.state, RunState::Failed);
  EXPECT_NE(run.error.find("larger than the 4194304 bytes taken"), std::string::npos)
      << run.error;
}

TEST_F(ARemoteAttacker, ARedirectToAFileUrlIsNotFollowed) {
  HostileRegistry hostile(HostileRegistry::Mode::RedirectToFile);
  auto pulled = pull_as(hostile.host() + "/evil/x:t", own_job(), plain());
  ASSERT_TRUE(pulled.error_name.empty()) << pulled.message;
  auto run = finished(pulled.value);
  EXPECT_EQ(run.state, RunState::Failed);
  EXPECT_EQ(run.error.find("root:"), std::string::npos) << run.error;
  bool asked_for_blob = false;
  for (const auto& request : hostile.requests()) {
    asked_for_blob = asked_for_blob || request.find("/blobs/") != std::string::npos;
  }
  EXPECT_TRUE(asked_for_blob) << "the pull never reached the redirect";
}

TEST_F(ARemoteAttacker, APlainHttpRegistryIsNotSpokenToWithoutPlainHttp) {
  HostileRegistry hostile(HostileRegistry::Mode::HugeManifest);
  auto pulled = pull_as(hostile.host() + "/evil/x:t", own_job(), {});
  ASSERT_TRUE(pulled.error_name.empty()) << pulled.message;
  auto run = finished(pulled.value);
  EXPECT_EQ(run.state, RunState::Failed);
  for (const auto& request : hostile.requests()) {
    EXPECT_FALSE(request.starts_with("GET ")) << request;
  }
}

TEST_F(ARemoteAttacker, ADrippingRegistryIsLeftAtOnceWhenSheCancelsThePull) {
  HostileRegistry hostile(HostileRegistry::Mode::SlowDrip);
  auto pulled = pull_as(hostile.host() + "/evil/x:t", own_job(), plain());
  ASSERT_TRUE(pulled.error_name.empty()) << pulled.message;
  ASSERT_TRUE(wait_until([&] { return hostile.bytes_sent() > 0; }, 60s));
  auto cancelled = call_as(m_user, bus_address(), [&](dbus::Client& c) {
    auto done = c.cancel_run(pulled.value);
    return done ? dbus::CResult<std::string>("cancelled")
                : dbus::CResult<std::string>(Unexpected(done.error()));
  });
  EXPECT_EQ(cancelled.value, "cancelled") << cancelled.error_name << cancelled.message;
  // Cancelled, not failed by curl's timeout a minute later.
  auto run = finished(pulled.value);
  EXPECT_EQ(run.state, RunState::Cancelled) << run.error;
}

class ARemoteAttackerWithAQuota : public ARemoteAttacker {
protected:
  void SetUp() override {
    m_daemon_options = {"--max-stored-bytes-per-user", "12M"};
    ARemoteAttacker::SetUp();
  }
};

TEST_F(ARemoteAttackerWithAQuota, TwoQueuedPullsCannotTakeHerPastHerQuota) {
  // Another host made two checkpoints of 8 MiB of different random memory
  // each and pushed them: one fits her quota here, two do not.
  TestHost elsewhere("elsewhere");
  std::vector<Workload> big;
  std::string jobs;
  for (const std::string seed : {"1", "2"}) {
    big.push_back(Workload::start("stasis-wl-memory", {"--bytes", "8M", "--seed", seed},
                                  elsewhere.dir() / ("big" + seed)));
    std::ofstream(elsewhere.dir() / ("big" + seed + ".pid")) << big.back().pid() << "\n";
    jobs += pidfile_job("big" + seed, elsewhere.dir() / ("big" + seed + ".pid"),
                        "criu:\n  leave-running: true\n");
  }
  elsewhere.write_policy("big.yaml", jobs);
  ASSERT_EQ(elsewhere.start_daemon(), "");
  for (const std::string job : {"big1", "big2"}) {
    ASSERT_EQ(elsewhere.stasisctl({"checkpoint", job}).exit_code, 0) << elsewhere.log();
    auto pushed = elsewhere.stasisctl(
        {"push", job, "latest", m_registry.host() + "/attack/" + job, "--ca-file",
         (dir() / "ca.pem").string(), "--authfile", (dir() / "auth.json").string()});
    ASSERT_EQ(pushed.exit_code, 0) << pushed.err << elsewhere.log();
  }
  // Her own pull from a registry that drips holds her job's remote lane, so
  // the two pulls she asks for next wait behind it, both asked for before
  // either has stored anything.
  HostileRegistry hostile(HostileRegistry::Mode::SlowDrip);
  auto holder = pull_as(hostile.host() + "/evil/x:t", own_job(), plain());
  ASSERT_TRUE(holder.error_name.empty()) << holder.message;
  ASSERT_TRUE(wait_until([&] { return hostile.bytes_sent() > 0; }, 60s));
  std::vector<std::string> runs;
  for (const std::string job : {"big1", "big2"}) {
    auto pulled = pull_as(m_registry.host() + "/attack/" + job + ":" + job + "-latest",
                          own_job(), options());
    ASSERT_TRUE(pulled.error_name.empty()) << pulled.message;
    runs.push_back(pulled.value);
  }
  hostile.stop();
  EXPECT_EQ(finished(holder.value).state, RunState::Failed);
  auto first = finished(runs[0]);
  auto second = finished(runs[1]);
  EXPECT_EQ(first.state, RunState::Succeeded) << first.error;
  EXPECT_EQ(second.state, RunState::Failed) << "her second pull went past her quota";
  auto root = client();
  ASSERT_TRUE(root);
  auto hers = root->list_checkpoints(own_job());
  ASSERT_TRUE(hers);
  EXPECT_EQ(hers->size(), 1u);
}

} // namespace
} // namespace stasis::test
