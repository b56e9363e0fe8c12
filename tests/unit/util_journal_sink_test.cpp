// The journald sink (util/journal_sink.hpp): the fields of each entry, with
// the run's context, and when stasis decides that stderr is the journal.
#include "util/journal_sink.hpp"
#include "util/log_context.hpp"

#include <algorithm>
#include <cstdlib>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <spdlog/logger.h>

namespace stasis::test {
namespace {

using log::JournalFields;

bool has(const JournalFields& fields, const std::string& field) {
  return std::find(fields.begin(), fields.end(), field) != fields.end();
}

bool has_name(const JournalFields& fields, const std::string& name) {
  return std::any_of(fields.begin(), fields.end(), [&](const std::string& field) {
    return field.rfind(name + "=", 0) == 0;
  });
}

TEST(AJournalSink, SendsTheRunsJobRunAndCheckpointAsFieldsUnderTheDaemonsIdentifier) {
  std::vector<JournalFields> sent;
  auto sink =
      std::make_shared<log::JournalSink>("stasisd", [&sent](const JournalFields& fields) {
        sent.push_back(fields);
        return 0;
      });
  spdlog::logger logger("manager", sink);
  logger.set_level(spdlog::level::debug);
  logger.info("outside any run");
  {
    log::ContextScope scope("web", "r-1700000000000-1");
    logger.warn("dumping");
    log::set_context_checkpoint("42");
    logger.error("stored\nwith a second line");
  }
  logger.debug("after the run");

  ASSERT_EQ(sent.size(), 4u);
  EXPECT_TRUE(has(sent[0], "MESSAGE=[manager] outside any run"));
  EXPECT_TRUE(has(sent[0], "PRIORITY=6"));
  EXPECT_TRUE(has(sent[0], "SYSLOG_IDENTIFIER=stasisd"));
  EXPECT_TRUE(has(sent[0], "STASIS_MODULE=manager"));
  EXPECT_FALSE(has_name(sent[0], "STASIS_JOB"));

  EXPECT_TRUE(has(sent[1], "STASIS_JOB=web"));
  EXPECT_TRUE(has(sent[1], "STASIS_RUN=r-1700000000000-1"));
  EXPECT_TRUE(has(sent[1], "PRIORITY=4"));
  EXPECT_FALSE(has_name(sent[1], "STASIS_CHECKPOINT"));

  EXPECT_TRUE(has(sent[2], "STASIS_CHECKPOINT=42"));
  EXPECT_TRUE(has(sent[2], "PRIORITY=3"));
  EXPECT_TRUE(has(sent[2], "MESSAGE=[manager] stored\nwith a second line"));

  EXPECT_FALSE(has_name(sent[3], "STASIS_JOB"));
  EXPECT_FALSE(has_name(sent[3], "STASIS_RUN"));
  EXPECT_FALSE(has_name(sent[3], "STASIS_CHECKPOINT"));
  EXPECT_TRUE(has(sent[3], "PRIORITY=7"));
}

// stderr replaced by one end of a socket pair (a fake journal stream) for the
// test's lifetime.
class FakeJournalStream {
public:
  FakeJournalStream() {
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, m_pair), 0);
    m_saved = ::dup(2);
    ::dup2(m_pair[0], 2);
  }
  ~FakeJournalStream() {
    ::dup2(m_saved, 2);
    ::close(m_saved);
    ::close(m_pair[0]);
    ::close(m_pair[1]);
    ::unsetenv("JOURNAL_STREAM");
  }
  std::string stream_of(int fd) const {
    struct stat st {};
    ::fstat(fd, &st);
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  }
  int other_end() const { return m_pair[1]; }

private:
  int m_pair[2] = {-1, -1};
  int m_saved = -1;
};

TEST(AJournalSink, IsUsedOnlyWhenJournalStreamNamesWhatStderrIs) {
  FakeJournalStream fake;
  ::unsetenv("JOURNAL_STREAM");
  EXPECT_FALSE(log::stderr_is_journal());
  ::setenv("JOURNAL_STREAM", fake.stream_of(2).c_str(), 1);
  EXPECT_TRUE(log::stderr_is_journal());
  // Inherited by a process whose stderr went elsewhere: not the journal.
  ::setenv("JOURNAL_STREAM", fake.stream_of(fake.other_end()).c_str(), 1);
  EXPECT_FALSE(log::stderr_is_journal());
  ::setenv("JOURNAL_STREAM", "garbage", 1);
  EXPECT_FALSE(log::stderr_is_journal());
}

} // namespace
} // namespace stasis::test
