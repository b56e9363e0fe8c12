#include "policy/retention.hpp"

#include "policy/duration.hpp"
#include "policy/time_zone.hpp"

#include <algorithm>
#include <date/date.h>
#include <date/iso_week.h>
#include <numeric>

#include <fmt/format.h>

namespace stasis::policy {
namespace {

enum class Period { Last, Hourly, Daily, Weekly, Monthly, Yearly };

struct BucketRule {
  Period period;
  std::string_view name;
  std::optional<unsigned> count;
};

// A value that is equal for two checkpoints exactly when they fall in the
// same period (for Last: unique per checkpoint).
std::int64_t period_key(Period period, const LocalTime& local, std::size_t position) {
  const std::int64_t date_key =
      std::int64_t{local.year} * 10000 + local.month * 100 + local.day;
  switch (period) {
  case Period::Last:
    return static_cast<std::int64_t>(position);
  case Period::Hourly:
    return date_key * 100 + local.hour;
  case Period::Daily:
    return date_key;
  case Period::Weekly: {
    const date::year_month_day ymd{date::year{local.year}, date::month{local.month},
                                   date::day{local.day}};
    const iso_week::year_weeknum_weekday week{date::sys_days{ymd}};
    return std::int64_t{static_cast<int>(week.year())} * 100 +
           static_cast<unsigned>(week.weeknum());
  }
  case Period::Monthly:
    return std::int64_t{local.year} * 100 + local.month;
  case Period::Yearly:
    return local.year;
  }
  return 0;
}

} // namespace

bool RetentionRules::empty() const {
  return !keep_last && !keep_hourly && !keep_daily && !keep_weekly && !keep_monthly &&
         !keep_yearly && !keep_within && !max_total_size;
}

std::vector<RetentionDecision> apply_retention(const RetentionRules& rules,
                                               const std::vector<RetentionItem>& items,
                                               std::string_view time_zone) {
  std::vector<RetentionDecision> decisions(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    decisions[i].id = items[i].id;
  }
  const auto keep = [&](std::size_t i, std::string reason) {
    decisions[i].keep = true;
    decisions[i].reasons.push_back(std::move(reason));
  };
  if (rules.empty()) {
    for (std::size_t i = 0; i < items.size(); ++i) {
      keep(i, "no retention rules: keeping everything");
    }
    return decisions;
  }

  // Newest first; among equal times the later input item counts as newer.
  std::vector<std::size_t> order(items.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (items[a].created != items[b].created) {
      return items[a].created > items[b].created;
    }
    return a > b;
  });
  std::vector<std::size_t> good;
  std::copy_if(order.begin(), order.end(), std::back_inserter(good),
               [&](std::size_t i) { return items[i].good; });

  const std::vector<BucketRule> buckets = {
      {Period::Last, "last", rules.keep_last},
      {Period::Hourly, "hourly", rules.keep_hourly},
      {Period::Daily, "daily", rules.keep_daily},
      {Period::Weekly, "weekly", rules.keep_weekly},
      {Period::Monthly, "monthly", rules.keep_monthly},
      {Period::Yearly, "yearly", rules.keep_yearly},
  };
  const bool has_keep_rule = std::any_of(buckets.begin(), buckets.end(),
                                         [](const BucketRule& b) { return b.count; }) ||
                             rules.keep_within;

  if (!has_keep_rule) {
    for (const auto i : good) {
      keep(i, "no keep rules");
    }
  } else {
    std::vector<LocalTime> local(items.size());
    for (const auto i : good) {
      local[i] = to_local_time(items[i].created, time_zone);
    }
    if (rules.keep_within && !good.empty()) {
      const auto limit =
          items[good.front()].created -
          std::chrono::duration_cast<std::chrono::seconds>(*rules.keep_within);
      const auto reason = "within " + format_duration(*rules.keep_within);
      for (const auto i : good) {
        if (items[i].created > limit) {
          keep(i, reason);
        }
      }
    }
    for (const auto& bucket : buckets) {
      if (!bucket.count || *bucket.count == 0) {
        continue;
      }
      unsigned remaining = *bucket.count;
      unsigned kept = 0;
      std::optional<std::int64_t> last_key;
      for (std::size_t position = 0; position < good.size() && remaining > 0;
           ++position) {
        const auto i = good[position];
        const auto key = period_key(bucket.period, local[i], position);
        const bool oldest = position + 1 == good.size();
        if (key != last_key) {
          keep(i, fmt::format("{} #{}", bucket.name, ++kept));
        } else if (oldest) {
          keep(i, fmt::format("oldest {}", bucket.name));
        } else {
          continue;
        }
        last_key = key;
        --remaining;
      }
    }
  }

  std::optional<std::size_t> newest_good;
  if (!good.empty()) {
    newest_good = good.front();
    keep(good.front(), "newest");
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].pinned) {
      keep(i, "pinned");
    }
  }

  if (rules.max_total_size) {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (decisions[i].keep) {
        total += items[i].stored_bytes;
      }
    }
    for (auto it = order.rbegin(); it != order.rend() && total > *rules.max_total_size;
         ++it) {
      const auto i = *it;
      if (!decisions[i].keep || items[i].pinned || i == newest_good) {
        continue;
      }
      std::string was;
      for (const auto& reason : decisions[i].reasons) {
        was += was.empty() ? reason : ", " + reason;
      }
      decisions[i].keep = false;
      decisions[i].reasons = {fmt::format("dropped by max-total-size {} (was kept: {})",
                                          format_size(*rules.max_total_size), was)};
      total -= items[i].stored_bytes;
    }
  }

  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!decisions[i].keep && decisions[i].reasons.empty()) {
      decisions[i].reasons.push_back(items[i].good ? "matches no keep rule"
                                                   : "not good (failed or incomplete)");
    }
  }
  return decisions;
}

} // namespace stasis::policy
