// Finding the criu binary stasis drives.
#pragma once

#include "util/result.hpp"

#include <filesystem>
#include <optional>

namespace stasis::engine {

// The private CRIU stasis installs (STASIS_CRIU_PREFIX/bin/criu at build time).
std::filesystem::path default_criu_path();

// Finds CRIU, in order: the explicit path (when given), $STASIS_CRIU, the
// private CRIU (default_criu_path()), then every directory of $PATH. An
// explicit path or $STASIS_CRIU that is not an executable file is an error
// (no silent fallback). The error lists every place that was tried.
Result<std::filesystem::path>
locate_criu(std::optional<std::filesystem::path> explicit_path = {});

} // namespace stasis::engine
