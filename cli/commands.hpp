// Command groups of stasisctl. Each group lives in its own cmd_*.cpp and
// registers its subcommands on the top-level app.
#pragma once

#include <CLI/CLI.hpp>

namespace stasis::cli {

// Options every command understands.
struct GlobalOptions {
  bool json = false;
  int verbose = 0;
};

} // namespace stasis::cli
