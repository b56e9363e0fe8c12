// Garbage collection: mark every blob the manifests reference, then delete
// packs without live blobs and repack packs that are mostly garbage.
#pragma once

#include "store/blob_index.hpp"
#include "store/catalog.hpp"
#include "store/types.hpp"

#include <unordered_set>

namespace stasis::store {

using HashSet = std::unordered_set<Hash, HashHasher>;

// A pack whose live bytes fall below this share of its blob bytes is repacked.
inline constexpr double k_repack_below = 0.5;

// Every blob (chunk lists and chunks) referenced by any manifest. Fails when
// a manifest or chunk list cannot be read: nothing may be deleted then.
Result<HashSet> mark_live(const BlobIndex& index, const Catalog& catalog);

// Deletes or repacks packs according to live. New packs are committed
// before old ones are removed, so a crash leaves at worst duplicates.
Result<GcReport> sweep(BlobIndex& index, const fs::path& packs_dir, const HashSet& live);

} // namespace stasis::store
