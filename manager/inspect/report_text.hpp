// Small pieces shared by the inspect and diff reports.
#pragma once

#include "engine/image_contents.hpp"

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace stasis::manager::inspect {

// "0x7f12a000": addresses as hex text (JSON numbers lose 64-bit precision).
std::string hex_address(std::uint64_t address);
// "rw-p": a mapping's protection and sharing, as /proc/PID/maps shows them.
std::string protection_text(const engine::MappingInfo& mapping);
// start, end, size, prot, kind, path of a mapping.
nlohmann::json mapping_json(const engine::MappingInfo& mapping);

} // namespace stasis::manager::inspect
