#include "policy/loader.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace stasis::policy {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::string errors_of(const Result<PolicySet, Diagnostics>& result) {
  std::string text;
  if (!result) {
    for (const auto& d : result.error()) {
      text += d.to_string() + "\n";
    }
  }
  return text;
}

PolicySet load_ok(const std::string& text) {
  auto result = parse_policy_text(text, "test.yaml");
  EXPECT_TRUE(result.has_value()) << errors_of(result);
  return result ? *result : PolicySet{};
}

std::string first_error(const std::string& text) {
  auto result = parse_policy_text(text, "test.yaml");
  EXPECT_FALSE(result.has_value());
  return result ? std::string() : result.error().front().to_string();
}

TEST(APolicyParser, LoadsAMinimalJobWithDefaults) {
  auto set = load_ok("version: 1\njobs:\n  - name: web\n    target: {pid: 42}\n");
  ASSERT_EQ(set.jobs().size(), 1u);
  const Job& job = set.jobs()[0];
  EXPECT_EQ(job.name, "web");
  EXPECT_EQ(std::get<PidTarget>(job.target).pid, 42);
  EXPECT_EQ(job.schedule.kind, Schedule::Kind::OnDemand);
  EXPECT_FALSE(job.criu.leave_running); // on demand: CRIU's default (kill after dump)
  EXPECT_EQ(job.criu.manage_cgroups, CgroupMode::Soft);
  EXPECT_EQ(job.criu.network_lock, NetworkLock::Nftables);
  EXPECT_EQ(job.criu.ghost_limit, 1u << 20);
  EXPECT_EQ(job.criu.timeout, 10s);
  EXPECT_TRUE(job.restore.detached);
  EXPECT_EQ(job.incremental.mode, IncrementalSettings::Mode::Dedup);
  EXPECT_TRUE(job.retention.empty());
  EXPECT_EQ(describe(job.retention), "keep everything");
  EXPECT_EQ(job.source.line, 3);
  EXPECT_EQ(job.source.column, 5);
  EXPECT_EQ(job.fingerprint.size(), 64u);
}

TEST(APolicyParser, LeavesScheduledJobsRunningByDefault) {
  auto set = load_ok("version: 1\njobs:\n  - name: web\n    target: {pid: 42}\n"
                     "    schedule: {every: 15m}\n");
  EXPECT_TRUE(set.jobs()[0].criu.leave_running);
  EXPECT_EQ(set.jobs()[0].schedule.every, 15min);
}

TEST(APolicyParser, AppliesDefaultsThenTemplatesInOrderThenJobKeys) {
  auto set = load_ok(R"(version: 1
defaults:
  criu: {log-level: 1, file-locks: true}
  retention: {keep-last: 1}
templates:
  one:
    criu: {log-level: 2, tcp-established: true}
    retention: {keep-daily: 3}
  two:
    criu: {log-level: 3}
    schedule: {calendar: daily}
jobs:
  - name: web
    use: [one, two]
    target: {pid: 42}
    criu: {shell-job: true}
    schedule: {every: 1h}
)");
  const Job& job = set.jobs()[0];
  EXPECT_EQ(job.criu.log_level, 3);       // "two" wins over "one" and defaults
  EXPECT_TRUE(job.criu.file_locks);       // from defaults
  EXPECT_TRUE(job.criu.tcp_established);  // from "one"
  EXPECT_TRUE(job.criu.shell_job);        // from the job
  EXPECT_EQ(job.retention.keep_last, 1u); // sections merge key by key
  EXPECT_EQ(job.retention.keep_daily, 3u);
  EXPECT_EQ(job.schedule.kind, Schedule::Kind::Every); // schedule replaced whole
  EXPECT_EQ(job.templates, (std::vector<std::string>{"one", "two"}));
}

TEST(APolicyParser, TakesATargetFromATemplate) {
  auto set = load_ok("version: 1\ntemplates:\n  t:\n    target: {podman: web}\n"
                     "jobs:\n  - name: web\n    use: t\n");
  EXPECT_EQ(std::get<PodmanTarget>(set.jobs()[0].target).container, "web");
}

TEST(APolicyParser, ReadsEveryTargetKind) {
  auto set = load_ok(R"(version: 1
jobs:
  - {name: a, target: {pid: 1}}
  - {name: b, target: {pidfile: /run/b.pid}}
  - {name: c, target: {process: {exe: "^/bin/c$", user: alice}}}
  - {name: d, target: {cgroup: /system.slice/d.service}}
  - {name: e, target: {systemd-unit: e.service}}
  - {name: f, target: {runc: {id: f, root: /run/runc}}}
  - {name: g, target: {lxc: {name: g, lxcpath: /var/lib/lxc}}}
  - {name: h, target: {podman: h}}
)");
  ASSERT_EQ(set.jobs().size(), 8u);
  std::vector<std::string> kinds;
  for (const auto& job : set.jobs()) {
    kinds.emplace_back(target_kind(job.target));
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"pid", "pidfile", "process", "cgroup",
                                             "systemd-unit", "runc", "lxc", "podman"}));
  EXPECT_EQ(describe(set.find("f")->target), "runc container f (root /run/runc)");
  EXPECT_EQ(std::get<ProcessTarget>(set.find("c")->target).user, "alice");
}

TEST(APolicyParser, ReadsHooksAsArgumentLists) {
  auto set = load_ok(R"(version: 1
jobs:
  - name: web
    target: {pid: 42}
    hooks:
      pre-dump:
        - run: [/usr/bin/sync]
        - run: [/usr/bin/logger, "two words"]
          timeout: 5s
          user: nobody
          env: {A: b}
          ignore-failure: true
)");
  const auto& commands = set.jobs()[0].hooks.at(HookPoint::PreDump);
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_EQ(commands[1].argv, (std::vector<std::string>{"/usr/bin/logger", "two words"}));
  EXPECT_EQ(commands[1].timeout, 5s);
  EXPECT_EQ(commands[0].timeout, 1min);
  EXPECT_EQ(commands[1].env.at("A"), "b");
  EXPECT_TRUE(commands[1].ignore_failure);
  EXPECT_EQ(commands[1].source.line, 8);
  EXPECT_TRUE(set.jobs()[0].hooks.at(HookPoint::OnFailure).empty());
}

TEST(APolicyParser, RejectsUnknownRetentionKey) {
  EXPECT_EQ(first_error("version: 1\njobs:\n  - name: web\n    target: {pid: 1}\n"
                        "    retention: {keep-lsat: 3}\n"),
            "test.yaml:5:17: unknown key 'keep-lsat' in 'retention'; did you mean "
            "'keep-last'?");
}

TEST(APolicyParser, SuggestsTheHyphenatedKeyForAnUnderscoredOne) {
  EXPECT_THAT(first_error("version: 1\njobs:\n  - name: web\n    target: {pid: 1}\n"
                          "    criu: {shell_job: true}\n"),
              HasSubstr("did you mean 'shell-job'?"));
}

TEST(APolicyParser, ListsValidKeysWhenNothingIsClose) {
  EXPECT_THAT(first_error("version: 1\njobs:\n  - name: web\n    target: {pid: 1}\n"
                          "    schedule: {zzzzzzzz: 1}\n"),
              HasSubstr("(valid: every, calendar, jitter, persistent)"));
}

TEST(APolicyParser, RejectsYamlOneOneBooleans) {
  EXPECT_EQ(first_error("version: 1\njobs:\n  - name: web\n    target: {pid: 1}\n"
                        "    criu: {shell-job: yes}\n"),
            "test.yaml:5:23: 'criu.shell-job' must be true or false, got 'yes'");
}

TEST(APolicyParser, RejectsNumbersWhereTextIsExpected) {
  EXPECT_THAT(
      first_error("version: 1\njobs:\n  - name: web\n    target: {podman: 1234}\n"),
      HasSubstr("must be a string, got the non-string value 1234; quote it"));
}

TEST(APolicyParser, RejectsBadJobNames) {
  EXPECT_THAT(first_error("version: 1\njobs:\n  - name: Web/1\n    target: {pid: 1}\n"),
              HasSubstr("'name' must be lower-case letters"));
}

TEST(APolicyParser, RejectsRelativePathsAndBadCalendars) {
  auto result = parse_policy_text("version: 1\njobs:\n  - name: web\n"
                                  "    target: {pidfile: run/x.pid}\n"
                                  "    schedule: {calendar: \"Mon..Fuu\"}\n",
                                  "t.yaml");
  ASSERT_FALSE(result);
  ASSERT_EQ(result.error().size(), 2u) << errors_of(result);
  EXPECT_THAT(result.error()[0].message, HasSubstr("must be an absolute path"));
  EXPECT_THAT(result.error()[1].message, HasSubstr("schedule.calendar"));
}

TEST(APolicyParser, RejectsMissingAndUnsupportedVersions) {
  EXPECT_THAT(first_error("jobs: []\n"), HasSubstr("missing 'version: 1'"));
  EXPECT_THAT(first_error("version: \"1\"\njobs: []\n"),
              HasSubstr("unsupported policy format"));
}

TEST(APolicyParser, ReportsYamlSyntaxErrorsWithPosition) {
  EXPECT_THAT(
      first_error("version: 1\njobs: [\n  {name: a\n"),
      ::testing::MatchesRegex("test\\.yaml:[0-9]+:[0-9]+: YAML syntax error: .*"));
}

TEST(APolicyParser, RejectsEmptyFilesAndMergeKeys) {
  EXPECT_THAT(first_error(""), HasSubstr("the file is empty"));
  EXPECT_THAT(first_error("version: 1\ntemplates:\n  a: &x {criu: {shell-job: true}}\n"
                          "jobs:\n  - name: w\n    target: {pid: 1}\n    <<: *x\n"),
              HasSubstr("merge keys (<<) are not supported"));
}

TEST(APolicyParser, IsAllOrNothing) {
  auto result =
      parse_policy_text("version: 1\njobs:\n  - {name: good, target: {pid: 1}}\n"
                        "  - {name: bad, target: {pid: 0}}\n",
                        "t.yaml");
  EXPECT_FALSE(result.has_value());
}

TEST(APolicyParser, ReportsDuplicateTemplatesAtBothPlaces) {
  auto result = parse_policy_sources(
      {{"a.yaml", "version: 1\ntemplates:\n  t: {criu: {shell-job: true}}\n"},
       {"b.yaml", "version: 1\ntemplates:\n  t: {criu: {file-locks: true}}\n"}});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error()[0].to_string(),
            "b.yaml:3:3: duplicate template 't' (already defined at a.yaml:3:3)");
}

TEST(APolicyExampleDirectory, LoadsEveryExample) {
  const std::filesystem::path dir = STASIS_SOURCE_DIR "/examples";
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") {
      continue;
    }
    ++files;
    auto result = load_policy_files({entry.path()});
    EXPECT_TRUE(result.has_value()) << entry.path() << "\n" << errors_of(result);
  }
  EXPECT_GE(files, 7u);
  auto all = load_policy_dir(dir);
  ASSERT_TRUE(all.has_value()) << errors_of(all);
  EXPECT_EQ(all->jobs().size(), files);
  const Job* sim = all->find("climate-sim");
  ASSERT_NE(sim, nullptr);
  EXPECT_EQ(sim->incremental.mode, IncrementalSettings::Mode::CriuPreDump);
  EXPECT_EQ(sim->retention.keep_hourly, 24u);
  EXPECT_EQ(all->find("session-cache")->formerly, std::vector<std::string>{"cache"});
  const Job* box = all->find("build-box");
  ASSERT_NE(box, nullptr);
  EXPECT_FALSE(box->criu.leave_running);
}

TEST(APolicyExampleDirectory, LoadsEveryExampleOfAFlagAsItsOwnPolicySet) {
  // examples/flags/ holds one policy per CRIU flag, each proven by a daemon test.
  const std::filesystem::path dir = STASIS_SOURCE_DIR "/examples/flags";
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".yaml") {
      ++files;
      auto result = load_policy_files({entry.path()});
      EXPECT_TRUE(result.has_value()) << entry.path() << "\n" << errors_of(result);
    }
  }
  EXPECT_GE(files, 4u);
}

TEST(APolicyLoader, ReportsAMissingDirectory) {
  auto result = load_policy_dir("/nonexistent/stasis-policy");
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error()[0].to_string(), HasSubstr("/nonexistent/stasis-policy"));
}

} // namespace
} // namespace stasis::policy

namespace stasis::policy {
namespace {

TEST(APolicyParser, RejectsASecondYamlDocument) {
  EXPECT_THAT(first_error("version: 1\njobs: []\n---\nversion: 1\n"),
              HasSubstr("test.yaml:3:1: a policy file holds one YAML document"));
}

TEST(APolicyParser, SurvivesInputsThatHangOrExplodeNaiveParsers) {
  EXPECT_THAT(first_error(","), HasSubstr("test.yaml"));
  EXPECT_THAT(first_error(std::string(100, '[')),
              HasSubstr("brackets nest deeper than 64"));
  // A small file whose aliases expand to a huge tree.
  std::string laughs = "version: 1\ndefaults:\n  criu:\n    skip-mnt: &m [";
  for (int i = 0; i < 1000; ++i) {
    laughs += "/a, ";
  }
  laughs += "/a]\njobs:\n";
  for (int i = 0; i < 60; ++i) {
    laughs += "  - {name: j" + std::to_string(i) +
              ", target: {pid: 1}, criu: {skip-mnt: *m}}\n";
  }
  EXPECT_THAT(first_error(laughs), HasSubstr("too many values"));
}

} // namespace
} // namespace stasis::policy

namespace stasis::policy {
namespace {

TEST(APolicyParser, RefusesJobNamesReservedForTheAdHocJobsOfUsers) {
  EXPECT_EQ(first_error("version: 1\njobs:\n  - name: user-1000\n    target: {pid: 1}\n"),
            "test.yaml:3:5: job name 'user-1000' is reserved: names starting with "
            "'user-' belong to the ad-hoc checkpoints of users (job user-UID of "
            "`stasisctl checkpoint --pid`); rename the job");
  EXPECT_THAT(
      first_error("version: 1\njobs:\n  - name: user-web\n    target: {pid: 1}\n"),
      HasSubstr("test.yaml:3:5: job name 'user-web' is reserved"));
  load_ok("version: 1\njobs:\n  - name: users-web\n    target: {pid: 1}\n");
}

class APolicyFileOnDisk : public ::testing::Test {
protected:
  void SetUp() override {
    std::string name =
        (std::filesystem::temp_directory_path() / "stasis-files-XXXXXX").string();
    ASSERT_NE(::mkdtemp(name.data()), nullptr);
    m_dir = name;
  }
  void TearDown() override { std::filesystem::remove_all(m_dir); }
  std::filesystem::path m_dir;
};

TEST_F(APolicyFileOnDisk, IsRefusedByItsSizeBeforeItIsRead) {
  const auto big = m_dir / "big.yaml";
  std::ofstream(big) << "version: 1\n";
  std::filesystem::resize_file(big, 100 << 20); // sparse: 100 MB of nothing
  auto result = load_policy_paths({m_dir});
  ASSERT_FALSE(result);
  EXPECT_EQ(errors_of(result),
            big.string() + ": the file is 104857600 bytes long, larger than the 1048576 "
                           "bytes a policy file may have: split it\n");
  std::filesystem::resize_file(big, k_max_policy_file_size + 1);
  EXPECT_THAT(errors_of(load_policy_files({big})), HasSubstr("1048577 bytes long"));
}

TEST_F(APolicyFileOnDisk, ReportsAFileItCannotReadBesideTheOthersDiagnostics) {
  std::ofstream(m_dir / "a.yaml") << "version: 1\njobs:\n  - name: web\n    targt: {}\n";
  std::filesystem::create_directory(m_dir / "b.yaml");
  auto result = load_policy_paths({m_dir});
  ASSERT_FALSE(result);
  const std::string errors = errors_of(result);
  EXPECT_THAT(errors, HasSubstr("a.yaml:4:5: unknown key 'targt'"));
  EXPECT_THAT(errors, HasSubstr("b.yaml: " + (m_dir / "b.yaml").string() +
                                " is a directory, not a file"));
}

TEST_F(APolicyFileOnDisk, DoesNotBlockOnAFifoInADirectory) {
  ASSERT_EQ(::mkfifo((m_dir / "fifo.yaml").c_str(), 0600), 0);
  auto result = load_policy_paths({m_dir});
  ASSERT_FALSE(result);
  EXPECT_THAT(errors_of(result), HasSubstr("fifo.yaml: the file is empty"));
}

} // namespace
} // namespace stasis::policy
