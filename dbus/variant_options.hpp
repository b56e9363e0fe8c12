// a{sv} method options <-> CheckpointOptions / RestoreOptions. The daemon side
// is strict: an unknown key or a value of the wrong type is an InvalidArgument
// error naming the key and the expected type, so a typo never goes unnoticed.
#pragma once

#include "dbus/variant_maps.hpp"
#include "manager/api.hpp"

namespace stasis::dbus {

// Which method the options came with: the ad-hoc CheckpointProcess accepts
// the CRIU knobs that a policy job's YAML decides for Checkpoint.
enum class CheckpointMethod { Checkpoint, CheckpointProcess };

// Parses the options of Checkpoint or CheckpointProcess.
manager::MResult<manager::CheckpointOptions>
checkpoint_options_from(const VariantMap& map, CheckpointMethod method);

// Parses the options of Restore: NewPidNamespace, Detached, Lazy, TcpClose
// (b), and From (s: a checkpoint in a registry) with the registry's options
// (Username, Password, CaPem, PlainHttp).
manager::MResult<manager::RestoreOptions> restore_options_from(const VariantMap& map);

// The client direction: only the options that are set become keys.
VariantMap to_variant_map(const manager::CheckpointOptions& options);
VariantMap to_variant_map(const manager::RestoreOptions& options);

// Push/Pull options: Username, Password, CaPem (s), PlainHttp (b), Origin (s,
// Push only); anything else is InvalidArgument naming the key.
manager::MResult<manager::RemoteOptions> remote_options_from(const VariantMap& map,
                                                             bool push);
// The same for the registry options of method (Origin only for "Push"; those
// of Restore go with From).
manager::MResult<manager::RemoteOptions> method_remote_options(const VariantMap& map,
                                                               std::string_view method);
// The map a client sends for options (Origin only when set).
VariantMap to_variant_map(const manager::RemoteOptions& options);

} // namespace stasis::dbus
