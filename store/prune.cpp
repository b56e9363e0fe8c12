// Store::prune: applies the policy's retention decisions to a job.
#include "policy/retention.hpp"
#include "store/store.hpp"
#include "util/log.hpp"

#include <algorithm>

namespace stasis::store {

Result<PruneReport> Store::prune(const std::string& job, const policy::RetentionRules& rules,
                                 bool dry_run, std::string_view time_zone) {
  if (!valid_job_name(job)) {
    return make_error("invalid job name '{}'", job);
  }
  auto held = STASIS_TRY(lock(true));
  std::vector<policy::RetentionItem> items;
  std::vector<std::uint64_t> ids;
  std::optional<std::uint64_t> newest_good;
  for (auto id : STASIS_TRY(m_catalog.ids(job))) {
    auto manifest = m_catalog.load(job, id);
    policy::RetentionItem item;
    item.id = std::to_string(id);
    item.pinned = m_catalog.pinned(job, id);
    item.good = manifest.has_value();
    if (manifest) {
      item.created = manifest->created;
      item.stored_bytes = manifest->stored_bytes;
      newest_good = id; // ids ascend with creation
    }
    items.push_back(item);
    ids.push_back(id);
  }
  auto decisions = policy::apply_retention(rules, items, time_zone);
  PruneReport report;
  report.dry_run = dry_run;
  for (std::size_t i = 0; i < decisions.size() && i < ids.size(); ++i) {
    PruneDecision d{ids[i], decisions[i].keep, decisions[i].reasons};
    // The store's own guards, whatever the rules said.
    if (!d.keep && items[i].pinned) {
      d.keep = true;
      d.reasons.push_back("pinned");
    }
    if (!d.keep && newest_good == ids[i]) {
      d.keep = true;
      d.reasons.push_back("newest");
    }
    report.decisions.push_back(std::move(d));
  }
  if (dry_run) {
    return report;
  }
  for (const auto& d : report.decisions) {
    if (!d.keep) {
      STASIS_TRY(m_catalog.remove(job, d.id));
      report.deleted.push_back(d.id);
      log::get("store")->info("prune: deleted checkpoint {}/{}", job, d.id);
    }
  }
  if (!report.deleted.empty()) {
    report.gc = STASIS_TRY(gc_locked());
  }
  return report;
}

} // namespace stasis::store
