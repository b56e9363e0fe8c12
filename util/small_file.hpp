// Reading a whole small file that configuration or a caller names
// (credentials, CA certificates): bounded, regular files only.
#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace stasis::util {

// The contents of the regular file path; an error naming `what` and the path
// when it cannot be read, is not a regular file or is larger than limit.
Result<std::string> read_small_file(const std::filesystem::path& path, std::uintmax_t limit,
                                    std::string_view what);

} // namespace stasis::util
