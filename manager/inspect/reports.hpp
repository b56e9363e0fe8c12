// The JSON documents of `stasisctl inspect` and `stasisctl diff` (and of the
// D-Bus methods InspectCheckpoint and DiffCheckpoints, which return them as
// text): their keys are described in docs/dbus-api.md.
#pragma once

#include "manager/inspect/checkpoint_view.hpp"

#include <filesystem>

#include <nlohmann/json.hpp>

namespace stasis::manager::inspect {

// Largest export file `inspect FILE` reads (the largest checkpoint a store takes).
inline constexpr std::uint64_t k_max_inspected_export_bytes = 256ULL << 30;

// The inspection of one checkpoint: provenance, CRIU/kernel/CPU, processes
// with their mappings (and dumped pages per mapping) and descriptors, files
// and sockets.
nlohmann::json inspect_report(const CheckpointView& view);

// What changed from checkpoint `from` to `to` of one job: processes added,
// removed or changed; per mapping the pages changed, added and removed;
// descriptors (files and sockets) added, removed or changed.
nlohmann::json diff_report(const CheckpointView& from, const CheckpointView& to);

// Reads stored checkpoint job/id and inspects it.
Result<nlohmann::json> inspect_stored(const store::Store& store, const std::string& job,
                                      std::uint64_t id);
// Reads two stored checkpoints of job and compares them.
Result<nlohmann::json> diff_stored(const store::Store& store, const std::string& job,
                                   std::uint64_t from, std::uint64_t to,
                                   std::uint64_t max_pages = k_max_diff_pages);

// Inspects an export file (untrusted): it is checked and imported as import
// does (docs/export-format.md), into a temporary store made under scratch_dir
// and removed afterwards, and that copy is inspected.
Result<nlohmann::json> inspect_export_file(int fd, const std::string& name,
                                           const std::filesystem::path& scratch_dir);

} // namespace stasis::manager::inspect
