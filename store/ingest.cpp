#include "store/ingest.hpp"

#include "store/fast_table.hpp"
#include "store/pagemap.hpp"
#include "store/pieces.hpp"
#include "store/reader.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <memory>
#include <set>
#include <sys/stat.h>
#include <unordered_map>

#include <fmt/ranges.h>

namespace stasis::store {
namespace {

constexpr std::uint64_t k_trailer_group = 1ULL << 63;

void add_generic_pieces(std::uint64_t begin, std::uint64_t end, std::uint64_t group_base,
                        std::vector<Piece>& out) {
  for (std::uint64_t off = begin, i = 0; off < end; off += k_file_chunk_size, ++i) {
    auto size =
        static_cast<std::uint32_t>(std::min<std::uint64_t>(k_file_chunk_size, end - off));
    Piece piece;
    piece.offset = off;
    piece.size = size;
    piece.group = group_base | (i / k_file_chunks_per_list);
    out.push_back(piece);
  }
}

using PageMap = std::unordered_map<std::uint64_t, ChunkRef>;

// The parent's pages and their fingerprints, for pages that did not change.
struct FastParent {
  const PageMap* refs = nullptr;
  const FastPages* fast = nullptr;
};

// Pieces of a pages image in pagemap order; PE_PARENT pages come from parent.
// Present pages are fingerprinted and expect the fingerprint fast_parent
// has for their vaddr.
Result<std::vector<Piece>> page_pieces(const Pagemap& pm, std::uint64_t size,
                                       const PageMap* parent, const std::string& name,
                                       const FastParent& fast_parent) {
  std::vector<Piece> out;
  out.reserve(size / k_page_size);
  std::uint64_t offset = 0;
  for (const auto& e : pm.entries) {
    if (!e.present() && !e.in_parent()) {
      continue;
    }
    if (e.present() && e.nr_pages > (size - offset) / k_page_size) {
      return make_error("{} is shorter than its pagemap says ({} bytes)", name, size);
    }
    for (std::uint64_t k = 0; k < e.nr_pages; ++k) {
      std::uint64_t vaddr = e.vaddr + k * k_page_size;
      Piece piece;
      piece.size = static_cast<std::uint32_t>(k_page_size);
      piece.group = vaddr >> 17;
      if (e.present()) {
        piece.offset = offset;
        offset += k_page_size;
        piece.fingerprinted = true;
        piece.vaddr = vaddr;
        if (fast_parent.fast != nullptr) {
          auto f = fast_parent.fast->find(vaddr);
          auto r = fast_parent.refs->find(vaddr);
          if (f != fast_parent.fast->end() && r != fast_parent.refs->end() &&
              f->second.ref_tag == ref_tag_of(r->second.hash)) {
            piece.has_expected = true;
            piece.expected = f->second.fast;
            piece.parent_ref = r->second;
          }
        }
      } else {
        auto it = parent == nullptr ? PageMap::const_iterator{} : parent->find(vaddr);
        if (parent == nullptr || it == parent->end()) {
          return make_error("{}: page at {:#x} is in the parent dump, but the parent "
                            "checkpoint does not have it",
                            name, vaddr);
        }
        piece.ref = it->second;
        piece.resolved = true;
      }
      out.push_back(piece);
    }
  }
  add_generic_pieces(offset, size, k_trailer_group, out);
  return out;
}

const FileRecord* find_file(const Manifest& m, const std::string& name) {
  for (const auto& f : m.files) {
    if (f.name == name) {
      return &f;
    }
  }
  return nullptr;
}

// vaddr -> chunk of every page the parent checkpoint has for one pagemap.
Result<PageMap> parent_pages(const BlobIndex& index, const Manifest& parent,
                             const std::string& pagemap_name) {
  const FileRecord* pm_file = find_file(parent, pagemap_name);
  if (pm_file == nullptr) {
    return make_error("parent checkpoint {} has no {}", parent.id, pagemap_name);
  }
  auto text = STASIS_TRY(read_stored_file(index, *pm_file));
  auto pm = STASIS_TRY(
      parse_pagemap({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}));
  PageMap out;
  const FileRecord* pages = find_file(parent, pm.pages_file());
  if (pages == nullptr) {
    return pm.present_pages() == 0
               ? Result<PageMap>(std::move(out))
               : make_error("parent checkpoint {} has no {}", parent.id, pm.pages_file());
  }
  auto refs = STASIS_TRY(file_chunks(index, *pages));
  std::size_t i = 0;
  for (const auto& e : pm.entries) {
    if (!e.present()) {
      continue;
    }
    for (std::uint64_t k = 0; k < e.nr_pages; ++k, ++i) {
      if (i >= refs.size() || refs[i].size != k_page_size) {
        return make_error("parent checkpoint {}: {} does not match its pagemap",
                          parent.id, pm.pages_file());
      }
      out[e.vaddr + k * k_page_size] = refs[i];
    }
  }
  return out;
}

struct ImageFile {
  std::string name;
  std::uint32_t mode = 0;
  std::uint64_t size = 0;
  dev_t device = 0;
  ino_t inode = 0;
};

// What an entry that ingest refuses is.
std::string refused_kind(const struct stat& st) {
  switch (st.st_mode & S_IFMT) {
  case S_IFLNK:
    return "a symbolic link";
  case S_IFIFO:
    return "a FIFO";
  case S_IFDIR:
    return "a directory";
  case S_IFSOCK:
    return "a socket";
  case S_IFCHR:
  case S_IFBLK:
    return "a device";
  case S_IFREG:
    return fmt::format("a file with {} hard links", st.st_nlink);
  default:
    return "not a regular file";
  }
}

// The regular files of the images dir open at dir_fd, by name.
Result<std::vector<ImageFile>> list_images(int dir_fd, const fs::path& dir,
                                           const StoreLimits& limits) {
  int copy = ::dup(dir_fd);
  DIR* stream = copy < 0 ? nullptr : ::fdopendir(copy);
  if (stream == nullptr) {
    if (copy >= 0) {
      ::close(copy);
    }
    return make_error("cannot read images dir {}: {}", dir.string(), errno_text());
  }
  std::unique_ptr<DIR, int (*)(DIR*)> closer(stream, ::closedir);
  std::vector<ImageFile> out;
  std::vector<std::string> refused;
  std::uint64_t total = 0;
  std::size_t entries = 0;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(stream);
    if (entry == nullptr) {
      break;
    }
    std::string name = entry->d_name;
    if (name == "." || name == "..") {
      continue;
    }
    if (++entries > k_max_image_files) {
      return make_error("images dir {} has more than {} entries", dir.string(),
                        k_max_image_files);
    }
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return make_error("cannot inspect {}: {}", (dir / name).string(), errno_text());
    }
    if (S_ISLNK(st.st_mode) && name == "parent") {
      continue; // CRIU's link to the parent dump's dir: never followed
    }
    if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || !valid_file_name(name)) {
      refused.push_back(fmt::format("{} ({})", name, refused_kind(st)));
      continue;
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size > limits.max_logical_bytes - total) {
      return make_error("images dir {} holds more than the {} bytes a checkpoint may "
                        "have",
                        dir.string(), limits.max_logical_bytes);
    }
    total += size;
    out.push_back({name, static_cast<std::uint32_t>(st.st_mode & 0777), size, st.st_dev,
                   st.st_ino});
  }
  if (errno != 0) {
    return make_error("cannot read images dir {}: {}", dir.string(), errno_text());
  }
  if (!refused.empty()) {
    std::sort(refused.begin(), refused.end());
    return make_error("images dir {} holds what a CRIU dump never writes, refusing it: "
                      "{}",
                      dir.string(), fmt::join(refused, ", "));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

// Opens a listed image file: the same regular file, still with one link,
// never through a symlink, never blocking.
Result<util::UniqueFd> open_image(int dir_fd, const fs::path& dir, const ImageFile& f) {
  const auto path = dir / f.name;
  util::UniqueFd fd{::openat(dir_fd, f.name.c_str(),
                             O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)};
  if (!fd) {
    return make_error("cannot open {}: {}", path.string(), errno_text());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return make_error("cannot inspect {}: {}", path.string(), errno_text());
  }
  if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_dev != f.device ||
      st.st_ino != f.inode || static_cast<std::uint64_t>(st.st_size) != f.size) {
    return make_error("{} changed while it was being stored (now {}, {} bytes)",
                      path.string(), refused_kind(st), st.st_size);
  }
  return fd;
}

// Reads a small image (a pagemap) whole.
Result<std::string> read_small_image(int dir_fd, const fs::path& dir,
                                     const ImageFile& f) {
  if (f.size > k_max_pagemap_bytes) {
    return make_error("{} has {} bytes; a pagemap has at most {}",
                      (dir / f.name).string(), f.size, k_max_pagemap_bytes);
  }
  auto fd = STASIS_TRY(open_image(dir_fd, dir, f));
  std::string data(f.size, '\0');
  STASIS_TRY(pread_exact(fd.get(),
                         {reinterpret_cast<std::uint8_t*>(data.data()), data.size()}, 0,
                         dir / f.name));
  return data;
}

} // namespace

Result<Manifest> build_checkpoint(BlobSink& sink, const BlobIndex& index,
                                  const std::string& job, std::uint64_t id,
                                  const fs::path& images_dir, const IngestInfo& info,
                                  const Manifest* parent, const FastTable* parent_fast,
                                  FastTable* fast_out) {
  util::UniqueFd dir_fd{
      ::open(images_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (!dir_fd) {
    struct stat st {};
    if (errno == ENOTDIR && ::lstat(images_dir.c_str(), &st) == 0 &&
        S_ISLNK(st.st_mode)) {
      return make_error("images dir {} is a symbolic link; refusing to follow it",
                        images_dir.string());
    }
    return make_error("cannot open images dir {}: {}", images_dir.string(), errno_text());
  }
  auto images = STASIS_TRY(list_images(dir_fd.get(), images_dir, info.limits));
  if (std::none_of(images.begin(), images.end(),
                   [](const auto& f) { return f.name == "inventory.img"; })) {
    return make_error("{} has no inventory.img: not a CRIU images dir",
                      images_dir.string());
  }
  // pages image name -> its pagemap, and pagemap name -> decoded pagemap.
  std::map<std::string, std::string> pages_owner;
  std::map<std::string, Pagemap> pagemaps;
  std::set<std::string> present;
  for (const auto& f : images) {
    present.insert(f.name);
    if (is_pagemap_name(f.name)) {
      auto text = STASIS_TRY(read_small_image(dir_fd.get(), images_dir, f));
      auto pm = parse_pagemap(
          {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
      if (!pm) {
        return make_error("{}: {}", (images_dir / f.name).string(), pm.error().message);
      }
      pages_owner[pm->pages_file()] = f.name;
      pagemaps.emplace(f.name, std::move(*pm));
    }
  }

  Manifest m;
  m.job = job;
  m.id = id;
  m.previous = parent ? std::optional(parent->id) : std::nullopt;
  m.created = info.created.value_or(std::chrono::time_point_cast<std::chrono::seconds>(
      std::chrono::system_clock::now()));
  m.policy_fingerprint = info.policy_fingerprint;
  m.criu_version = info.criu_version;
  m.kernel = info.kernel;
  m.cpu = info.cpu;
  m.target = info.target;
  m.stats = info.stats;

  std::uint64_t images_bytes = 0;
  for (const auto& f : images) {
    images_bytes += f.size; // list_images kept it within the limits
  }
  ProgressMeter progress(info.progress, images_bytes);
  std::uint64_t files_done = 0; // bytes of the files stored so far
  std::map<std::string, PageMap> parent_maps;
  for (const auto& f : images) {
    FileRecord rec{f.name, f.mode, f.size, {}};
    Source source;
    source.path = images_dir / f.name;
    auto fd = STASIS_TRY(open_image(dir_fd.get(), images_dir, f));
    source.fd = fd.get();
    std::uint64_t size = f.size;
    std::vector<Piece> pieces;
    std::size_t per_list = k_file_chunks_per_list;
    std::string rewritten;
    if (auto pm = pagemaps.find(f.name);
        pm != pagemaps.end() && pm->second.has_parent_entries()) {
      // A CRIU incremental dump: store it as a self-contained one.
      Pagemap full = pm->second;
      for (auto& e : full.entries) {
        if (e.in_parent()) {
          e.flags = (e.flags & ~k_pe_parent) | k_pe_present;
        }
      }
      rewritten = encode_pagemap(full);
      source.fd = -1;
      source.memory = {reinterpret_cast<const std::uint8_t*>(rewritten.data()),
                       rewritten.size()};
      size = rec.size = rewritten.size();
    }
    if (auto owner = pages_owner.find(f.name); owner != pages_owner.end()) {
      const Pagemap& pm = pagemaps.at(owner->second);
      const PageMap* from_parent = nullptr;
      if (pm.has_parent_entries()) {
        if (parent == nullptr) {
          return make_error(
              "{} refers to a parent dump (PE_PARENT pages) but job {} has no "
              "checkpoint to take them from",
              (images_dir / owner->second).string(), job);
        }
        if (!parent_maps.contains(owner->second)) {
          parent_maps.emplace(owner->second,
                              STASIS_TRY(parent_pages(index, *parent, owner->second)));
        }
        from_parent = &parent_maps.at(owner->second);
      }
      FastParent fast_parent;
      const FastPages* parent_fps = nullptr;
      if (parent != nullptr && parent_fast != nullptr) {
        if (auto it = parent_fast->find(owner->second); it != parent_fast->end()) {
          parent_fps = &it->second;
        }
      }
      if (parent_fps != nullptr && !parent_maps.contains(owner->second)) {
        // The parent's pages are only a shortcut here: when they cannot be
        // read, every page takes the full path.
        if (auto refs = parent_pages(index, *parent, owner->second)) {
          parent_maps.emplace(owner->second, std::move(*refs));
        } else {
          parent_fps = nullptr;
        }
      }
      if (parent_fps != nullptr) {
        fast_parent = {&parent_maps.at(owner->second), parent_fps};
      }
      pieces = STASIS_TRY(page_pieces(pm, size, from_parent, f.name, fast_parent));
      per_list = k_pages_per_list;
      rec.size = 0;
      for (const auto& p : pieces) {
        rec.size += p.size;
      }
    } else {
      add_generic_pieces(0, size, 0, pieces);
    }
    rec.lists = STASIS_TRY(store_pieces(sink, pieces, per_list, source, &progress));
    files_done += f.size;
    if (progress.done() < files_done) {
      progress.advance(files_done - progress.done()); // pages taken from the parent
    }
    if (auto owner = pages_owner.find(f.name);
        fast_out != nullptr && owner != pages_owner.end()) {
      auto& fps = (*fast_out)[owner->second];
      for (const auto& p : pieces) {
        if (p.fingerprinted) {
          fps[p.vaddr] = {p.fast, ref_tag_of(p.ref.hash)};
        }
      }
    }
    if (rec.size > info.limits.max_logical_bytes - m.logical_bytes) {
      return make_error("checkpoint {}/{} is larger than the {} bytes it may have", job,
                        id, info.limits.max_logical_bytes);
    }
    m.logical_bytes += rec.size;
    m.files.push_back(std::move(rec));
  }
  for (const auto& [pages_name, pm_name] : pages_owner) {
    if (!present.contains(pages_name) && pagemaps.at(pm_name).present_pages() > 0) {
      return make_error("{} is missing (named by {})", (images_dir / pages_name).string(),
                        pm_name);
    }
  }
  progress.finish();
  m.stored_bytes = sink.stored_bytes();
  log::get("store")->debug("checkpoint {}/{}: {} files, {} logical bytes, {} new bytes",
                           job, id, m.files.size(), m.logical_bytes, m.stored_bytes);
  return m;
}

} // namespace stasis::store
