// Placeholder translation unit until the module gains real sources.
namespace stasis::dbus {}
