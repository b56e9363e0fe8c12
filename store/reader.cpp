#include "store/reader.hpp"

#include "store/parallel.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <set>

namespace stasis::store {

Result<std::vector<ChunkRef>> file_chunks(const BlobIndex& index, const FileRecord& file) {
  std::vector<ChunkRef> refs;
  std::vector<std::uint8_t> blob;
  for (const auto& list : file.lists) {
    auto read = index.read(list, blob);
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
    return make_error("chunks of {} add up to {} bytes, manifest says {}", file.name, total,
                      file.size);
  }
  return refs;
}

Result<std::string> read_stored_file(const BlobIndex& index, const FileRecord& file) {
  auto refs = STASIS_TRY(file_chunks(index, file));
  std::string out;
  out.reserve(file.size);
  std::vector<std::uint8_t> blob;
  for (const auto& r : refs) {
    if (r.hash.is_zero()) {
      out.append(r.size, '\0');
      continue;
    }
    STASIS_TRY(index.read(r.hash, blob));
    out.append(reinterpret_cast<const char*>(blob.data()), blob.size());
  }
  return out;
}

std::map<Hash, std::string> verify_blobs(const BlobIndex& index,
                                         const std::unordered_set<Hash, HashHasher>& blobs) {
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

Result<void> write_checkpoint(const BlobIndex& index, const Manifest& manifest,
                              const fs::path& dir) {
  struct Job {
    std::size_t file;
    std::uint64_t offset;
    Hash hash;
  };
  std::vector<Job> jobs;
  std::vector<util::UniqueFd> fds;
  std::set<std::string> bad_files;
  std::string first_problem;
  auto note = [&](const std::string& file, const std::string& problem) {
    bad_files.insert(file);
    if (first_problem.empty()) {
      first_problem = problem;
    }
  };
  for (std::size_t i = 0; i < manifest.files.size(); ++i) {
    const auto& f = manifest.files[i];
    auto path = dir / f.name;
    util::UniqueFd fd{::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, f.mode)};
    if (!fd) {
      return make_error("cannot create {}: {}", path.string(), errno_text());
    }
    if (::ftruncate(fd.get(), static_cast<off_t>(f.size)) != 0) {
      return make_error("cannot size {}: {}", path.string(), errno_text());
    }
    ::fchmod(fd.get(), f.mode);
    auto refs = file_chunks(index, f);
    if (!refs) {
      note(f.name, refs.error().message);
    } else {
      std::uint64_t offset = 0;
      for (const auto& r : *refs) {
        if (!r.hash.is_zero()) {
          jobs.push_back({i, offset, r.hash});
        }
        offset += r.size;
      }
    }
    fds.push_back(std::move(fd));
  }
  std::mutex mutex;
  std::string write_error;
  parallel_for(jobs.size(), [&](std::size_t b, std::size_t e) {
    std::vector<std::uint8_t> buffer;
    for (std::size_t j = b; j < e; ++j) {
      const auto& job = jobs[j];
      const auto& name = manifest.files[job.file].name;
      auto r = index.read(job.hash, buffer);
      if (!r) {
        std::lock_guard lock(mutex);
        note(name, fmt::format("{}: {}", name, r.error().message));
        continue;
      }
      auto w = ::pwrite(fds[job.file].get(), buffer.data(), buffer.size(),
                        static_cast<off_t>(job.offset));
      if (w != static_cast<ssize_t>(buffer.size())) {
        std::lock_guard lock(mutex);
        if (write_error.empty()) {
          write_error = fmt::format("cannot write {}: {}", (dir / name).string(),
                                    w < 0 ? errno_text() : "short write");
        }
      }
    }
  });
  if (!bad_files.empty()) {
    std::string names;
    for (const auto& n : bad_files) {
      names += (names.empty() ? "" : ", ") + n;
    }
    return make_error("checkpoint {}/{} is damaged; cannot restore {} ({})", manifest.job,
                      manifest.id, names, first_problem);
  }
  if (!write_error.empty()) {
    return make_error("{}", write_error);
  }
  return ok();
}

} // namespace stasis::store
