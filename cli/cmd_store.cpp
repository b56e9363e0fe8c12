#include "cli/commands.hpp"

namespace stasis::cli {

void register_store_commands(CLI::App& /*app*/, GlobalOptions& /*options*/) {}

} // namespace stasis::cli
