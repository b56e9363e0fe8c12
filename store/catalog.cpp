#include "store/catalog.hpp"

#include <algorithm>
#include <charconv>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stasis::store {
namespace {

fs::path pin_path(const fs::path& job_dir, std::uint64_t id) {
  return job_dir / (std::to_string(id) + ".pinned");
}

std::optional<std::uint64_t> parse_id(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return v;
}

} // namespace

Result<std::vector<std::string>> Catalog::jobs() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(m_dir, ec), end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (it->is_directory() && valid_job_name(name)) {
      out.push_back(name);
    }
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return make_error("cannot list jobs in {}: {}", m_dir.string(), ec.message());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<std::uint64_t>> Catalog::ids(const std::string& job) const {
  std::vector<std::uint64_t> out;
  std::error_code ec;
  for (fs::directory_iterator it(job_dir(job), ec), end; !ec && it != end;
       it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.ends_with(".json")) {
      if (auto id = parse_id(std::string_view(name).substr(0, name.size() - 5))) {
        out.push_back(*id);
      }
    }
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return make_error("cannot list checkpoints of job {}: {}", job, ec.message());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool Catalog::exists(const std::string& job, std::uint64_t id) const {
  return ::access(manifest_path(job, id).c_str(), F_OK) == 0;
}

Result<Manifest> Catalog::load(const std::string& job, std::uint64_t id) const {
  if (!exists(job, id)) {
    return make_error("job {} has no checkpoint {}", job, id);
  }
  auto text = STASIS_TRY(read_file(manifest_path(job, id)));
  auto manifest = manifest_from_json(text);
  if (!manifest) {
    return make_error("checkpoint {}/{}: {}", job, id, manifest.error().message);
  }
  if (manifest->job != job || manifest->id != id) {
    return make_error("checkpoint {}/{}: manifest names {}/{}", job, id, manifest->job,
                      manifest->id);
  }
  return manifest;
}

Result<void> Catalog::commit(const Manifest& manifest) {
  STASIS_TRY(ensure_dir(job_dir(manifest.job)));
  STASIS_TRY(atomic_write_file(manifest_path(manifest.job, manifest.id),
                               manifest_to_json(manifest)));
  // Best effort: the manifest ids on disk also bound the next id.
  auto last = atomic_write_file(job_dir(manifest.job) / "last-id",
                                std::to_string(manifest.id) + "\n");
  (void)last;
  return ok();
}

Result<void> Catalog::remove(const std::string& job, std::uint64_t id) {
  if (!exists(job, id)) {
    return make_error("job {} has no checkpoint {}", job, id);
  }
  STASIS_TRY(remove_durably(manifest_path(job, id)));
  STASIS_TRY(remove_durably(fast_table_path(job, id)));
  return remove_durably(pin_path(job_dir(job), id));
}

Result<FastTable> Catalog::load_fast_table(const std::string& job,
                                           std::uint64_t id) const {
  auto path = fast_table_path(job, id);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error("checkpoint {}/{} has no fast table", job, id);
  }
  if (static_cast<std::uint64_t>(st.st_size) > k_max_fast_table_bytes) {
    return make_error("fast table of {}/{} is too large", job, id);
  }
  auto text = STASIS_TRY(read_file(path));
  return decode_fast_table(text);
}

Result<void> Catalog::save_fast_table(const std::string& job, std::uint64_t id,
                                      const FastTable& table) {
  auto text = encode_fast_table(table);
  if (!text) {
    return make_error("fast table of {}/{} would exceed {} bytes", job, id,
                      k_max_fast_table_bytes);
  }
  STASIS_TRY(ensure_dir(job_dir(job)));
  return atomic_write_file(fast_table_path(job, id), *text);
}

bool Catalog::pinned(const std::string& job, std::uint64_t id) const {
  return ::access(pin_path(job_dir(job), id).c_str(), F_OK) == 0;
}

Result<void> Catalog::set_pinned(const std::string& job, std::uint64_t id, bool pinned) {
  if (!exists(job, id)) {
    return make_error("job {} has no checkpoint {}", job, id);
  }
  if (pinned) {
    return atomic_write_file(pin_path(job_dir(job), id), "");
  }
  return remove_durably(pin_path(job_dir(job), id));
}

Result<std::uint64_t> Catalog::next_id(const std::string& job) const {
  std::uint64_t last = 0;
  auto ids_now = STASIS_TRY(ids(job));
  if (!ids_now.empty()) {
    last = ids_now.back();
  }
  auto text = read_file(job_dir(job) / "last-id");
  if (text) {
    if (auto v = parse_id(std::string_view(*text).substr(0, text->find('\n')))) {
      last = std::max(last, *v);
    }
  }
  return last + 1;
}

} // namespace stasis::store
