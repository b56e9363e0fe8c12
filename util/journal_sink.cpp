#include "util/journal_sink.hpp"

#include "util/log_context.hpp"

#include <cstdio>
#include <cstdlib>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

namespace stasis::log {
namespace {

// syslog(3) priorities of spdlog's levels.
int priority_of(spdlog::level::level_enum level) {
  switch (level) {
  case spdlog::level::critical:
    return 2;
  case spdlog::level::err:
    return 3;
  case spdlog::level::warn:
    return 4;
  case spdlog::level::info:
    return 6;
  default:
    return 7;
  }
}

} // namespace

int send_to_journald(const JournalFields& fields) {
  std::vector<iovec> iov;
  iov.reserve(fields.size());
  for (const auto& field : fields) {
    iov.push_back(iovec{const_cast<char*>(field.data()), field.size()});
  }
  return sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
}

bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) {
    return false;
  }
  unsigned long long device = 0;
  unsigned long long inode = 0;
  if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) {
    return false;
  }
  struct stat st {};
  return ::fstat(2, &st) == 0 && st.st_dev == device && st.st_ino == inode;
}

JournalFields journal_fields(const spdlog::details::log_msg& msg,
                             const std::string& identifier) {
  JournalFields fields;
  const std::string_view payload(msg.payload.data(), msg.payload.size());
  const std::string_view module(msg.logger_name.data(), msg.logger_name.size());
  fields.push_back(fmt::format("MESSAGE=[{}] {}", module, payload));
  fields.push_back(fmt::format("PRIORITY={}", priority_of(msg.level)));
  fields.push_back("SYSLOG_IDENTIFIER=" + identifier);
  fields.push_back(fmt::format("STASIS_MODULE={}", module));
  const auto& context = current_context();
  if (!context.job.empty()) {
    fields.push_back("STASIS_JOB=" + context.job);
  }
  if (!context.run.empty()) {
    fields.push_back("STASIS_RUN=" + context.run);
  }
  if (!context.checkpoint.empty()) {
    fields.push_back("STASIS_CHECKPOINT=" + context.checkpoint);
  }
  if (!msg.source.empty()) {
    fields.push_back(fmt::format("CODE_FILE={}", msg.source.filename));
    fields.push_back(fmt::format("CODE_LINE={}", msg.source.line));
  }
  return fields;
}

JournalSink::JournalSink(std::string identifier, JournalSend send)
    : m_identifier(std::move(identifier)), m_send(std::move(send)) {}

void JournalSink::sink_it_(const spdlog::details::log_msg& msg) {
  if (m_send(journal_fields(msg, m_identifier)) < 0) {
    // journald went away: the message still goes somewhere.
    std::fprintf(stderr, "%.*s\n", static_cast<int>(msg.payload.size()),
                 msg.payload.data());
  }
}

} // namespace stasis::log
