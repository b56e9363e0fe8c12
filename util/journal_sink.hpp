// An spdlog sink that sends each message to journald with structured fields:
// MESSAGE, PRIORITY, SYSLOG_IDENTIFIER (the program: stasisd, stasisctl),
// STASIS_MODULE (the logger), CODE_FILE/CODE_LINE when known, and the
// thread's log::Context as STASIS_JOB, STASIS_RUN and STASIS_CHECKPOINT.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <spdlog/sinks/base_sink.h>

namespace stasis::log {

// One entry's fields, each "NAME=value" (a value may hold newlines).
using JournalFields = std::vector<std::string>;

// Sends an entry; returns 0 or a negative errno (as sd_journal_sendv).
using JournalSend = std::function<int(const JournalFields&)>;

// sd_journal_sendv(3): journald's native socket.
int send_to_journald(const JournalFields& fields);

// True when stasis should log to journald: JOURNAL_STREAM ("DEV:INODE", set
// by systemd for a service whose output goes to the journal) names the
// stream that stderr is.
bool stderr_is_journal();

// The fields of one message (see above).
JournalFields journal_fields(const spdlog::details::log_msg& msg,
                             const std::string& identifier);

class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  // identifier: SYSLOG_IDENTIFIER; send: where entries go (tests pass a fake).
  explicit JournalSink(std::string identifier, JournalSend send = send_to_journald);

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

private:
  std::string m_identifier;
  JournalSend m_send;
};

} // namespace stasis::log
