// One named spdlog logger per module.
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace stasis::log {

// Returns the logger of a module ("engine", "store", ...), creating it on first
// use. Loggers write to journald when JOURNAL_STREAM is set, else to stderr.
std::shared_ptr<spdlog::logger> get(const std::string& module);

// Sets the level of every existing and future stasis logger.
void set_level(spdlog::level::level_enum level);

} // namespace stasis::log
