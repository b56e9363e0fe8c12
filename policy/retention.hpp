// Which checkpoints to keep: restic `forget` semantics plus stasis' guards.
//
// Rules, evaluated on the good checkpoints only, newest first (ties in
// `created`: the later item in the input counts as newer):
//  - keep_last N: the N newest.
//  - keep_hourly/daily/weekly/monthly/yearly N: for each of the N most recent
//    calendar periods that contain a checkpoint, the newest checkpoint in that
//    period. Periods are wall-clock periods in the given time zone; weeks are
//    ISO weeks (Monday to Sunday). As in restic (since 0.17), when a rule finds
//    fewer than N periods, it also keeps the oldest checkpoint ("oldest daily").
//  - keep_within D: every checkpoint created less than D before the newest good
//    checkpoint (created > newest - D).
//  A checkpoint is kept when any rule keeps it (the rules are ORed). A rule
//  set to 0 keeps nothing by itself.
// Guards:
//  - pinned checkpoints are always kept ("pinned");
//  - the newest good checkpoint is always kept ("newest");
//  - checkpoints that are not good are kept only when pinned.
// max_total_size then drops kept checkpoints that are neither pinned nor the
// newest good one, oldest first, until the kept set's stored_bytes sum is at
// most the limit. Pinned and newest checkpoints are never dropped, so the kept
// set can stay above the limit. With only max_total_size set (no keep_* rule)
// every good checkpoint starts out kept ("no keep rules"). With no rules at
// all everything is kept, good or not ("no retention rules: keeping
// everything").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stasis::policy {

// A job's retention rules (immutable value); unset rules do not apply.
struct RetentionRules {
  std::optional<unsigned> keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly,
      keep_yearly;
  std::optional<std::chrono::milliseconds> keep_within;
  std::optional<std::uint64_t> max_total_size;

  // True when no rule is set at all.
  bool empty() const;
  bool operator==(const RetentionRules&) const = default;
};

// One checkpoint as retention sees it.
struct RetentionItem {
  std::string id;
  std::chrono::sys_seconds created;
  std::uint64_t stored_bytes = 0;
  bool pinned = false;
  bool good = true;
};

// The verdict for one checkpoint with every reason that applied, e.g.
// {"daily #2", "weekly #1"}, {"pinned"}, {"newest"}, {"within 3d"}, or for a
// removal {"matches no keep rule"}.
struct RetentionDecision {
  std::string id;
  bool keep = false;
  std::vector<std::string> reasons;
};

// Applies `rules` to `items` and returns one decision per item, in input
// order. Calendar periods are computed in `time_zone` ("" = the system's local
// zone, "UTC", or an IANA name; an unknown name falls back to UTC).
std::vector<RetentionDecision> apply_retention(const RetentionRules& rules,
                                               const std::vector<RetentionItem>& items,
                                               std::string_view time_zone = "");

} // namespace stasis::policy
