#include "manager/inspect/report_text.hpp"

#include <sys/mman.h>

#include <fmt/format.h>

namespace stasis::manager::inspect {

std::string hex_address(std::uint64_t address) {
  return fmt::format("{:#x}", address);
}

std::string protection_text(const engine::MappingInfo& m) {
  std::string text = "---p";
  if (m.prot & PROT_READ) {
    text[0] = 'r';
  }
  if (m.prot & PROT_WRITE) {
    text[1] = 'w';
  }
  if (m.prot & PROT_EXEC) {
    text[2] = 'x';
  }
  if (m.flags & MAP_SHARED) {
    text[3] = 's';
  }
  return text;
}

nlohmann::json mapping_json(const engine::MappingInfo& m) {
  return {{"start", hex_address(m.start)},
          {"end", hex_address(m.end)},
          {"size", m.end - m.start},
          {"prot", protection_text(m)},
          {"kind", m.kind},
          {"path", m.path}};
}

} // namespace stasis::manager::inspect
