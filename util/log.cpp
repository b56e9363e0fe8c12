#include "util/log.hpp"

#include "util/journal_sink.hpp"

#include <cerrno>
#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace stasis::log {
namespace {

std::mutex g_mutex;
spdlog::level::level_enum g_level = spdlog::level::info;

spdlog::sink_ptr shared_sink() {
  static spdlog::sink_ptr sink = []() -> spdlog::sink_ptr {
    if (stderr_is_journal()) {
      return std::make_shared<JournalSink>(program_invocation_short_name);
    }
    return std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  }();
  return sink;
}

} // namespace

std::shared_ptr<spdlog::logger> get(const std::string& module) {
  std::lock_guard lock(g_mutex);
  if (auto existing = spdlog::get(module)) {
    return existing;
  }
  auto logger = std::make_shared<spdlog::logger>(module, shared_sink());
  logger->set_level(g_level);
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [%n] %v");
  spdlog::register_logger(logger);
  return logger;
}

void set_level(spdlog::level::level_enum level) {
  std::lock_guard lock(g_mutex);
  g_level = level;
  spdlog::set_level(level);
}

} // namespace stasis::log
