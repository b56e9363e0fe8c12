#include "cli/commands.hpp"

namespace stasis::cli {

void register_engine_commands(CLI::App& /*app*/, GlobalOptions& /*options*/) {}

} // namespace stasis::cli
