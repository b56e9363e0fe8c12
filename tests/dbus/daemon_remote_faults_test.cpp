// Registry faults through stasisd (the remote/ library's own are in
// tests/e2e/remote_faults_test.cpp): a registry that is down while a
// checkpoint is replicated, one killed in the middle of a push, a corrupted
// blob, wrong credentials, and two hosts pushing to one repository at once.
#include "remote/remote.hpp"
#include "store/store.hpp"
#include "tests/dbus/daemon_host.hpp"

#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using manager::RunKind;
using manager::RunState;

// A daemon with a registry on loopback, its CA and an auth file in dir().
class ARegistryThroughTheDaemon : public DaemonTest {
protected:
  ARegistryThroughTheDaemon() {
    std::ofstream(dir() / "ca.pem") << m_registry.ca_pem();
    write_auth_file(dir() / "auth.json", m_registry.host());
  }
  fs::path ca_file() const { return dir() / "ca.pem"; }
  fs::path auth_file() const { return dir() / "auth.json"; }
  std::string repository() const { return m_registry.host() + "/faults/svc"; }
  std::vector<std::string> access() const {
    return {"--ca-file", ca_file().string(), "--authfile", auth_file().string()};
  }
  remote::ClientOptions options() const {
    remote::ClientOptions o;
    o.credentials = remote::Credentials{TestRegistry::k_user, TestRegistry::k_password};
    o.ca_pem = m_registry.ca_pem();
    return o;
  }
  // The tags of the repository (none when it cannot be listed).
  std::vector<std::string> tags() const {
    std::vector<std::string> out;
    auto ref = remote::parse_reference(repository());
    if (auto listed = remote::list_checkpoints(*ref, options())) {
      for (const auto& c : *listed) {
        out.push_back(c.tag);
      }
    }
    return out;
  }
  // A job "svc" on a counter workload that replicates every checkpoint.
  Workload start_replicated_job(const std::string& replicate_extra,
                                const std::string& workload = "stasis-wl-counter",
                                std::vector<std::string> args = {}) {
    auto w = Workload::start(workload, std::move(args), dir() / "svc");
    write_policy(
        "svc.yaml",
        pidfile_job("svc", write_pidfile("svc", w.pid()),
                    "criu:\n  leave-running: true\n" +
                        replicate_yaml(m_registry.host(), "faults/svc", auth_file(),
                                       ca_file(), "origin: here\n" + replicate_extra)));
    return w;
  }

  TestRegistry m_registry;
};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST_F(ARegistryThroughTheDaemon,
       DownDuringReplicationKeepsTheCheckpointRetriesThePushAndStatusShowsIt) {
  m_registry.stop();
  auto workload = start_replicated_job("retry-attempts: 8\nretry-delay: 1s\n");
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  auto made = stasisctl({"checkpoint", "svc"});
  ASSERT_EQ(made.exit_code, 0) << made.err << log();

  // The push fails and is retried; the history has the failed runs.
  std::vector<manager::RunInfo> failed;
  ASSERT_TRUE(wait_until(
      [&] {
        failed = runs_of(*client, "svc", RunKind::Push, RunState::Failed);
        return failed.size() >= 2;
      },
      60s))
      << log();
  EXPECT_NE(failed.back().error.find("cannot reach registry " + m_registry.host()),
            std::string::npos)
      << failed.back().error;
  EXPECT_NE(failed.back().error.find("(retry 1 of 8 in 1 s)"), std::string::npos)
      << failed.back().error;
  const auto& second = failed[failed.size() - 2];
  EXPECT_NE(second.error.find("(retry 2 of 8 in 2 s)"), std::string::npos)
      << second.error;
  // The local checkpoint is kept.
  auto checkpoints = client->list_checkpoints("svc");
  ASSERT_TRUE(checkpoints);
  ASSERT_EQ(checkpoints->size(), 1u);
  const std::string id = checkpoints->front().id;

  // status shows the last push, as text and as JSON.
  auto status = stasisctl({"status", "svc"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("last push:"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("failed: cannot reach registry"), std::string::npos)
      << status.out;
  auto json_status = stasisctl({"--json", "status", "svc"});
  ASSERT_EQ(json_status.exit_code, 0) << json_status.err;
  auto doc = nlohmann::json::parse(json_status.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << json_status.out;
  EXPECT_TRUE(doc["job"]["last_push_result"].get<std::string>().starts_with("failed: "))
      << json_status.out;
  EXPECT_EQ(doc["job"]["last_push_remote"], repository()) << json_status.out;
  EXPECT_NE(doc["job"]["last_push"], nullptr) << json_status.out;

  // The registry comes back: a retry pushes the checkpoint.
  m_registry.restart();
  std::vector<manager::RunInfo> pushed;
  ASSERT_TRUE(wait_until(
      [&] {
        pushed = runs_of(*client, "svc", RunKind::Push, RunState::Succeeded);
        return !pushed.empty();
      },
      180s))
      << log();
  EXPECT_EQ(pushed.front().checkpoint, id);
  EXPECT_TRUE(contains(tags(), "svc-here-" + id));
  auto after = client->list_checkpoints("svc");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->size(), 1u);
  auto job = client->get_job("svc");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->last_push_result, "succeeded");
  EXPECT_NE(job->last_push_remote.find(repository() + ":svc-here-" + id + "@sha256:"),
            std::string::npos)
      << job->last_push_remote;
  EXPECT_EQ(workload.verify(), "");
}

TEST_F(ARegistryThroughTheDaemon, KilledMidPushShowsNoTagAndALaterPushCompletes) {
  // Enough memory that a push takes a while; no retries, so that only the
  // push the test interrupts runs.
  auto workload = start_replicated_job("retry-attempts: 0\n", "stasis-wl-memory",
                                       {"--bytes", "256M"});
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  std::string interrupted;
  std::set<std::string> seen;
  // The push may win the race against the kill; then the next checkpoint tries.
  for (int attempt = 0; attempt < 4 && interrupted.empty(); ++attempt) {
    m_registry.restart();
    workload.step();
    auto made = stasisctl({"checkpoint", "svc"});
    ASSERT_EQ(made.exit_code, 0) << made.err << log();
    // The push that checkpoint queued (a run id not seen before).
    std::string push;
    ASSERT_TRUE(wait_until(
        [&] {
          auto runs = client->list_runs("svc", 0);
          for (const auto& run : runs ? *runs : std::vector<manager::RunInfo>{}) {
            if (run.kind == RunKind::Push && run.state != RunState::Queued &&
                !seen.contains(run.id)) {
              push = run.id;
              return true;
            }
          }
          return false;
        },
        120s))
        << log();
    seen.insert(push);
    m_registry.stop();
    auto run = wait_run(*client, push, 300s);
    if (run.state == RunState::Failed) {
      interrupted = run.checkpoint;
    }
  }
  ASSERT_FALSE(interrupted.empty()) << "every push finished before the registry died";
  m_registry.restart();
  EXPECT_FALSE(contains(tags(), "svc-here-" + interrupted));
  // A later push of the same checkpoint completes.
  auto pushed =
      stasisctl({"push", "svc", interrupted, repository(), "--origin", "here",
                 "--ca-file", ca_file().string(), "--authfile", auth_file().string()});
  ASSERT_EQ(pushed.exit_code, 0) << pushed.out << pushed.err << log();
  EXPECT_TRUE(contains(tags(), "svc-here-" + interrupted));
  EXPECT_EQ(workload.verify(30s), "");
}

TEST_F(ARegistryThroughTheDaemon, RefusesARestoreFromACorruptedBlobNamingItsDigest) {
  auto workload =
      start_replicated_job("retry-attempts: 0\n", "stasis-wl-memory", {"--bytes", "16M"});
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  ASSERT_EQ(stasisctl({"checkpoint", "svc"}).exit_code, 0) << log();
  ASSERT_TRUE(wait_until(
      [&] {
        return !runs_of(*client, "svc", RunKind::Push, RunState::Succeeded).empty();
      },
      120s))
      << log();
  // The largest blob (a bundle of chunks) gets a flipped byte in its middle.
  fs::path largest;
  std::uintmax_t largest_size = 0;
  for (const auto& entry : fs::recursive_directory_iterator(m_registry.storage())) {
    if (entry.path().filename() == "data" && entry.is_regular_file() &&
        entry.file_size() > largest_size) {
      largest = entry.path();
      largest_size = entry.file_size();
    }
  }
  ASSERT_FALSE(largest.empty());
  const std::string digest = "sha256:" + largest.parent_path().filename().string();
  {
    std::fstream f(largest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(largest_size / 2));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(static_cast<std::streamoff>(largest_size / 2));
    f.write(&c, 1);
  }
  // Another host (a store that has none of the chunks) restores from it.
  TestHost other("other");
  auto own = Workload::start("stasis-wl-counter", {}, other.dir() / "own");
  other.write_policy("own.yaml", pidfile_job("own", other.dir() / "own.pid",
                                             "criu:\n  leave-running: true\n") +
                                     pidfile_job("svc", other.dir() / "svc.pid"));
  std::ofstream(other.dir() / "own.pid") << own.pid() << "\n";
  ASSERT_EQ(other.start_daemon(), "");
  ASSERT_EQ(other.stasisctl({"checkpoint", "own"}).exit_code, 0) << other.log();
  auto other_client = other.client();
  ASSERT_TRUE(other_client);
  auto before = other_client->list_checkpoints("own");
  ASSERT_TRUE(before);
  std::vector<std::string> args{"restore", "--from", repository() + ":svc-latest"};
  for (const auto& a : access()) {
    args.push_back(a);
  }
  auto refused = other.stasisctl(args);
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  EXPECT_NE(refused.err.find(digest), std::string::npos) << refused.err;
  // Nothing stored on either host is lost; nothing half-pulled is kept.
  auto after = other_client->list_checkpoints("own");
  ASSERT_TRUE(after);
  ASSERT_EQ(after->size(), before->size());
  EXPECT_EQ(after->front().id, before->front().id);
  auto pulled = other_client->list_checkpoints("svc");
  EXPECT_TRUE(!pulled || pulled->empty());
  auto local = client->list_checkpoints("svc");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->size(), 1u);
  EXPECT_EQ(workload.verify(30s), "");
}

TEST_F(ARegistryThroughTheDaemon, WrongCredentialsFailThePushWithAClearError) {
  auto workload = start_replicated_job("on-demand: false\n");
  start_daemon();
  ASSERT_EQ(stasisctl({"checkpoint", "svc"}).exit_code, 0) << log();
  auto refused = stasisctl({"push", "svc", "latest", repository(), "--ca-file",
                            ca_file().string(), "--creds", "stasis:not-the-password"});
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("refused the credentials of user 'stasis'"),
            std::string::npos)
      << refused.err;
  EXPECT_EQ(refused.err.find("not-the-password"), std::string::npos) << refused.err;
  // Over D-Bus: the call queues the run, whose failure names the cause.
  auto client = this->client();
  ASSERT_TRUE(client);
  manager::RemoteOptions options;
  options.username = TestRegistry::k_user;
  options.password = "not-the-password";
  options.ca_pem = m_registry.ca_pem();
  auto run = client->push("svc", "", repository(), options);
  ASSERT_TRUE(run) << run.error().message;
  auto done = wait_run(*client, *run, 120s);
  EXPECT_EQ(done.state, RunState::Failed);
  EXPECT_NE(done.error.find("refused the credentials of user 'stasis'"),
            std::string::npos)
      << done.error;
  EXPECT_TRUE(tags().empty());
}

TEST_F(ARegistryThroughTheDaemon, TwoHostsPushingOneRepositoryAtOnceKeepBothSetsIntact) {
  TestHost host_a("hosta");
  TestHost host_b("hostb");
  std::vector<Workload> workloads;
  for (auto* host : {&host_a, &host_b}) {
    workloads.push_back(
        Workload::start("stasis-wl-memory", {"--bytes", "8M"}, host->dir() / "svc"));
    std::ofstream(host->dir() / "svc.pid") << workloads.back().pid() << "\n";
    host->write_policy(
        "svc.yaml",
        pidfile_job(
            "svc", host->dir() / "svc.pid",
            "criu:\n  leave-running: true\n" +
                replicate_yaml(m_registry.host(), "faults/svc", auth_file(), ca_file(),
                               "origin: " + host->name() + "\nretry-delay: 1s\n")));
    ASSERT_EQ(host->start_daemon(), "");
  }
  constexpr int k_rounds = 3;
  auto checkpoints = [&](TestHost* host) {
    for (int i = 0; i < k_rounds; ++i) {
      host->stasisctl({"checkpoint", "svc"});
    }
  };
  std::thread a(checkpoints, &host_a);
  std::thread b(checkpoints, &host_b);
  a.join();
  b.join();
  for (auto* host : {&host_a, &host_b}) {
    auto client = host->client();
    ASSERT_TRUE(client);
    ASSERT_TRUE(wait_until(
        [&] {
          return runs_of(*client, "svc", RunKind::Push, RunState::Succeeded).size() >=
                 static_cast<std::size_t>(k_rounds);
        },
        180s))
        << host->log();
  }
  auto all = tags();
  TempDir pulled_dir("stasis-pulled");
  auto store = store::Store::open(pulled_dir.path() / "store");
  ASSERT_TRUE(store) << store.error().message;
  for (const char* origin : {"hosta", "hostb"}) {
    for (int id = 1; id <= k_rounds; ++id) {
      const std::string tag = std::string("svc-") + origin + "-" + std::to_string(id);
      ASSERT_TRUE(contains(all, tag)) << tag;
      auto ref = remote::parse_reference(repository() + ":" + tag);
      ASSERT_TRUE(ref);
      auto pulled = remote::pull_checkpoint(*store, *ref, "svc", options());
      EXPECT_TRUE(pulled) << tag << ": " << pulled.error().message;
    }
  }
  for (auto& w : workloads) {
    EXPECT_EQ(w.verify(30s), "");
  }
}

} // namespace
} // namespace stasis::test
