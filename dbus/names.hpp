// Well-known names of the stasis D-Bus service (see io.stasis.Stasis1.xml).
#pragma once

namespace stasis::dbus {

// The bus name stasisd owns.
inline constexpr const char* k_bus_name = "io.stasis.Stasis1";
// The one object stasisd exports.
inline constexpr const char* k_object_path = "/io/stasis/Stasis1";
// The interface of that object.
inline constexpr const char* k_interface = "io.stasis.Stasis1.Manager";
// Prefix of every error name stasisd returns.
inline constexpr const char* k_error_prefix = "io.stasis.Stasis1.Error.";

} // namespace stasis::dbus
