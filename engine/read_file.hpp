// Reading small files whole (images headers, /proc entries).
#pragma once

#include "util/result.hpp"

#include <filesystem>
#include <string>

namespace stasis::engine {

// Returns the contents of a file, reading at most `limit` bytes.
Result<std::string> read_file(const std::filesystem::path& file,
                              std::size_t limit = 64 * 1024 * 1024);

} // namespace stasis::engine
