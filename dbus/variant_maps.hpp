// Manager value types <-> D-Bus a{sv} dictionaries with the PascalCase keys
// documented in io.stasis.Stasis1.xml. Times travel as uint64 microseconds
// since the Unix epoch, 0 meaning "none".
//
// The to_* direction is used by the adaptor (daemon side); the *_from
// direction by the client (stasisctl side) and is lenient: missing keys or
// keys of an unexpected type leave the field at its default, so newer daemons
// may add keys without breaking older clients.
#pragma once

#include "manager/api.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <sdbus-c++/Types.h>

namespace stasis::dbus {

using VariantMap = std::map<std::string, sdbus::Variant>;

// Microseconds since the epoch, 0 for none, and back.
std::uint64_t to_usec(const std::optional<manager::TimePoint>& time);
std::optional<manager::TimePoint> from_usec(std::uint64_t usec);

VariantMap to_variant_map(const manager::JobInfo& job);
VariantMap to_variant_map(const manager::RunInfo& run);
VariantMap to_variant_map(const manager::CheckpointInfo& checkpoint);
VariantMap to_variant_map(const manager::EngineInfo& engine);
VariantMap to_variant_map(const manager::ReloadChanges& changes);
VariantMap to_variant_map(const manager::DaemonStatus& status);
VariantMap to_variant_map(const manager::JobDiskUsage& job);
// The totals of a DiskUsage (empty when it has no whole_store).
VariantMap totals_to_variant_map(const manager::DiskUsage& usage);
VariantMap to_variant_map(const manager::FsckInfo& fsck);
VariantMap to_variant_map(const manager::GcInfo& gc);

manager::JobInfo job_from(const VariantMap& map);
manager::RunInfo run_from(const VariantMap& map);
manager::CheckpointInfo checkpoint_from(const VariantMap& map);
manager::EngineInfo engine_from(const VariantMap& map);
manager::ReloadChanges reload_changes_from(const VariantMap& map);
manager::DaemonStatus status_from(const VariantMap& map);
manager::DiskUsage disk_usage_from(const std::vector<VariantMap>& jobs,
                                   const VariantMap& totals);
manager::FsckInfo fsck_from(const VariantMap& map);
manager::GcInfo gc_from(const VariantMap& map);

// Parses "checkpoint"/"restore" and the run states of manager::to_string.
std::optional<manager::RunKind> run_kind_from(const std::string& text);
std::optional<manager::RunState> run_state_from(const std::string& text);

} // namespace stasis::dbus
