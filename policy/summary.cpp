// Short descriptions of schedules and retention rules for people.
#include "policy/duration.hpp"
#include "policy/model.hpp"

#include <fmt/format.h>

namespace stasis::policy {

std::string describe(const Schedule& schedule) {
  std::string text;
  switch (schedule.kind) {
  case Schedule::Kind::OnDemand:
    return "on demand";
  case Schedule::Kind::Every:
    text = "every " + format_duration(schedule.every);
    break;
  case Schedule::Kind::Calendar:
    text = "calendar " + (schedule.calendar ? schedule.calendar->normalized() : "?");
    break;
  }
  std::vector<std::string> extras;
  if (schedule.jitter.count() > 0) {
    extras.push_back("jitter " + format_duration(schedule.jitter));
  }
  if (schedule.persistent) {
    extras.push_back("persistent");
  }
  if (!extras.empty()) {
    text += fmt::format(" ({})", fmt::join(extras, ", "));
  }
  return text;
}

std::string describe(const RetentionRules& rules) {
  if (rules.empty()) {
    return "keep everything";
  }
  std::vector<std::string> parts;
  auto count = [&](const char* name, const std::optional<unsigned>& value) {
    if (value) {
      parts.push_back(fmt::format("{} {}", name, *value));
    }
  };
  count("keep-last", rules.keep_last);
  count("keep-hourly", rules.keep_hourly);
  count("keep-daily", rules.keep_daily);
  count("keep-weekly", rules.keep_weekly);
  count("keep-monthly", rules.keep_monthly);
  count("keep-yearly", rules.keep_yearly);
  if (rules.keep_within) {
    parts.push_back("keep-within " + format_duration(*rules.keep_within));
  }
  if (rules.max_total_size) {
    parts.push_back("max-total-size " + format_size(*rules.max_total_size));
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

} // namespace stasis::policy
