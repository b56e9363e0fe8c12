// The one mapping between manager error codes and D-Bus error names
// (io.stasis.Stasis1.Error.NoSuchJob, ...). Exceptions (sdbus::Error) exist only
// at this boundary: adaptor methods throw them, everything else returns results.
#pragma once

#include "manager/api.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace stasis::dbus {

// Returns the D-Bus error name of a code, e.g. "io.stasis.Stasis1.Error.Busy".
std::string error_name(manager::ErrorCode code);

// Returns the code of a stasis D-Bus error name, or nothing for foreign names
// (org.freedesktop.DBus.Error.*, sdbus errors).
std::optional<manager::ErrorCode> error_code(std::string_view name);

// Throws the sdbus::Error that carries a manager error back to the caller.
[[noreturn]] void throw_error(const manager::ManagerError& error);

// Throws io.stasis.Stasis1.Error.<code> with a message.
[[noreturn]] void throw_error(manager::ErrorCode code, const std::string& message);

} // namespace stasis::dbus
