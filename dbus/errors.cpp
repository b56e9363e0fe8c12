#include "dbus/errors.hpp"

#include "dbus/names.hpp"

#include <array>
#include <utility>

#include <sdbus-c++/Error.h>

namespace stasis::dbus {
namespace {

using manager::ErrorCode;

// Every ErrorCode with the last component of its D-Bus error name.
constexpr std::array<std::pair<ErrorCode, std::string_view>, 9> k_error_table{{
    {ErrorCode::NoSuchJob, "NoSuchJob"},
    {ErrorCode::NoSuchCheckpoint, "NoSuchCheckpoint"},
    {ErrorCode::NoSuchRun, "NoSuchRun"},
    {ErrorCode::AccessDenied, "AccessDenied"},
    {ErrorCode::InvalidPolicy, "InvalidPolicy"},
    {ErrorCode::InvalidArgument, "InvalidArgument"},
    {ErrorCode::Busy, "Busy"},
    {ErrorCode::EngineFailed, "EngineFailed"},
    {ErrorCode::StoreFailed, "StoreFailed"},
}};

} // namespace

std::string error_name(ErrorCode code) {
  for (const auto& [entry_code, suffix] : k_error_table) {
    if (entry_code == code) {
      return std::string(k_error_prefix) + std::string(suffix);
    }
  }
  return std::string(k_error_prefix) + "Unknown";
}

std::optional<ErrorCode> error_code(std::string_view name) {
  const std::string_view prefix = k_error_prefix;
  if (!name.starts_with(prefix)) {
    return std::nullopt;
  }
  name.remove_prefix(prefix.size());
  for (const auto& [code, suffix] : k_error_table) {
    if (suffix == name) {
      return code;
    }
  }
  return std::nullopt;
}

void throw_error(const manager::ManagerError& error) {
  throw sdbus::Error(error_name(error.code), error.message);
}

void throw_error(ErrorCode code, const std::string& message) {
  throw sdbus::Error(error_name(code), message);
}

} // namespace stasis::dbus
