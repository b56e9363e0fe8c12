#include "store/reader.hpp"

#include "store/parallel.hpp"

#include <mutex>

namespace stasis::store {

namespace {

BlobReader reader_of(const BlobIndex& index) {
  return [&index](const Hash& hash, std::vector<std::uint8_t>& out) {
    return index.read(hash, out);
  };
}

} // namespace

Result<std::vector<ChunkRef>> file_chunks(const BlobIndex& index,
                                          const FileRecord& file) {
  return file_chunks(reader_of(index), file);
}

Result<std::string> read_stored_file(const BlobIndex& index, const FileRecord& file) {
  return read_stored_file(reader_of(index), file);
}

Result<std::vector<ChunkRef>> file_chunks(const BlobReader& read_blob,
                                          const FileRecord& file) {
  std::vector<ChunkRef> refs;
  std::vector<std::uint8_t> blob;
  for (const auto& list : file.lists) {
    auto read = read_blob(list, blob);
    if (!read) {
      return make_error("chunk list of {}: {}", file.name, read.error().message);
    }
    STASIS_TRY(decode_chunk_list(blob, refs));
  }
  std::uint64_t total = 0;
  for (const auto& r : refs) {
    total += r.size;
  }
  if (total != file.size) {
    return make_error("chunks of {} add up to {} bytes, manifest says {}", file.name,
                      total, file.size);
  }
  return refs;
}

Result<std::string> read_stored_file(const BlobReader& read_blob,
                                     const FileRecord& file) {
  auto refs = STASIS_TRY(file_chunks(read_blob, file));
  std::string out;
  out.reserve(file.size);
  std::vector<std::uint8_t> blob;
  for (const auto& r : refs) {
    if (r.hash.is_zero()) {
      out.append(r.size, '\0');
      continue;
    }
    STASIS_TRY(read_blob(r.hash, blob));
    out.append(reinterpret_cast<const char*>(blob.data()), blob.size());
  }
  return out;
}

std::map<Hash, std::string>
verify_blobs(const BlobIndex& index, const std::unordered_set<Hash, HashHasher>& blobs) {
  std::vector<Hash> all(blobs.begin(), blobs.end());
  std::map<Hash, std::string> bad;
  std::mutex mutex;
  parallel_for(all.size(), [&](std::size_t b, std::size_t e) {
    std::vector<std::uint8_t> buffer;
    for (std::size_t i = b; i < e; ++i) {
      auto r = index.read(all[i], buffer);
      if (!r) {
        std::lock_guard lock(mutex);
        bad.emplace(all[i], r.error().message);
      }
    }
  });
  return bad;
}

CheckpointCheck check_checkpoint(const BlobIndex& index, const Manifest& manifest,
                                 bool rehash_data) {
  CheckpointCheck out;
  std::vector<std::pair<const FileRecord*, std::vector<ChunkRef>>> files;
  for (const auto& f : manifest.files) {
    auto refs = file_chunks(index, f);
    out.blobs += f.lists.size();
    if (!refs) {
      out.bad_files.push_back(f.name);
      out.problems.push_back(refs.error().message);
      continue;
    }
    files.emplace_back(&f, std::move(*refs));
  }
  std::unordered_set<Hash, HashHasher> unique;
  for (const auto& [file, refs] : files) {
    for (const auto& r : refs) {
      if (!r.hash.is_zero()) {
        unique.insert(r.hash);
      }
    }
  }
  out.blobs += unique.size();
  std::map<Hash, std::string> bad;
  if (rehash_data) {
    bad = verify_blobs(index, unique);
  } else {
    for (const auto& h : unique) {
      if (!index.contains(h)) {
        bad.emplace(h, fmt::format("blob {} is missing from the store", to_hex(h)));
      }
    }
  }
  for (const auto& h : unique) {
    if (const auto* loc = index.find(h)) {
      out.bytes += loc->raw_len;
    }
  }
  for (const auto& [file, refs] : files) {
    for (const auto& r : refs) {
      if (auto it = bad.find(r.hash); it != bad.end()) {
        out.bad_files.push_back(file->name);
        out.problems.push_back(fmt::format("{}: {}", file->name, it->second));
        break;
      }
    }
  }
  return out;
}

} // namespace stasis::store
