// Optional CRIU/kernel features stasis cares about.
#pragma once

#include <string>

namespace stasis::engine {

// Result of a FEATURE_CHECK request, with a reason for each missing feature.
struct Features {
  // Soft-dirty memory tracking: needed for pre-dumps and incremental dumps.
  bool mem_track = false;
  std::string mem_track_reason;
  // userfaultfd-based lazy restore (lazy-pages).
  bool lazy_pages = false;
  std::string lazy_pages_reason;
};

} // namespace stasis::engine
