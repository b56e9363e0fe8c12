#include "cli/commands.hpp"

namespace stasis::cli {

void register_policy_commands(CLI::App& /*app*/, GlobalOptions& /*options*/) {}

} // namespace stasis::cli
