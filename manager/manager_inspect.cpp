// The Manager's inspection calls: what a checkpoint holds and what changed
// between two (manager/inspect/).
#include "manager/inspect/reports.hpp"
#include "manager/manager.hpp"

namespace stasis::manager {
namespace {

// Largest report sent over the bus (a D-Bus message may not be much larger).
constexpr std::size_t k_max_report_bytes = 16 << 20;

MResult<std::string> report_text(Result<nlohmann::json> report) {
  if (!report) {
    return fail(ErrorCode::StoreFailed, "{}", report.error().message);
  }
  // Paths and comms are bytes the tree chose: invalid UTF-8 is replaced.
  std::string text =
      report->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > k_max_report_bytes) {
    return fail(ErrorCode::InvalidArgument,
                "the report has {} bytes, more than the {} stasisd sends; root can read "
                "it with --state-dir",
                text.size(), k_max_report_bytes);
  }
  return text;
}

} // namespace

MResult<std::string> Manager::inspect_checkpoint(const Caller& caller,
                                                 const std::string& job,
                                                 const std::string& checkpoint) {
  STASIS_TRY(authorized_job(caller, job, Action::Restore));
  const auto id = STASIS_TRY(existing_checkpoint(job, checkpoint));
  return report_text(inspect::inspect_stored(m_store, job, id));
}

MResult<std::string> Manager::diff_checkpoints(const Caller& caller,
                                               const std::string& job,
                                               const std::string& from,
                                               const std::string& to) {
  STASIS_TRY(authorized_job(caller, job, Action::Restore));
  if (from.empty() || to.empty()) {
    return fail(ErrorCode::InvalidArgument, "name both checkpoints to compare");
  }
  const auto a = STASIS_TRY(existing_checkpoint(job, from));
  const auto b = STASIS_TRY(existing_checkpoint(job, to));
  return report_text(inspect::diff_stored(m_store, job, a, b));
}

} // namespace stasis::manager
