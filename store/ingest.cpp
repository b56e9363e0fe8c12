#include "store/ingest.hpp"

#include "store/pagemap.hpp"
#include "store/parallel.hpp"
#include "store/reader.hpp"
#include "util/log.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <unordered_map>

namespace stasis::store {
namespace {

constexpr std::size_t k_segment = 8192;
constexpr std::uint64_t k_trailer_group = 1ULL << 63;

// A read-only mapping of an image file.
class MappedFile {
public:
  static Result<MappedFile> open(const fs::path& path, std::uint64_t size) {
    MappedFile f;
    f.m_size = size;
    if (size == 0) {
      return f;
    }
    util::UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (!fd) {
      return make_error("cannot open {}: {}", path.string(), errno_text());
    }
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
    if (p == MAP_FAILED) {
      return make_error("cannot map {}: {}", path.string(), errno_text());
    }
    f.m_data = static_cast<const std::uint8_t*>(p);
    return f;
  }
  MappedFile() = default;
  MappedFile(MappedFile&& o) noexcept
      : m_data(std::exchange(o.m_data, nullptr)), m_size(std::exchange(o.m_size, 0)) {}
  MappedFile& operator=(MappedFile&&) = delete;
  ~MappedFile() {
    if (m_data != nullptr) {
      ::munmap(const_cast<std::uint8_t*>(m_data), m_size);
    }
  }
  std::span<const std::uint8_t> bytes() const { return {m_data, m_size}; }

private:
  const std::uint8_t* m_data = nullptr;
  std::uint64_t m_size = 0;
};

// One chunk to store: bytes to hash, or a reference resolved from the parent.
struct Piece {
  const std::uint8_t* data = nullptr;
  std::uint32_t size = 0;
  std::uint64_t group = 0;
  ChunkRef ref;
  bool resolved = false;
};

void add_generic_pieces(std::span<const std::uint8_t> data, std::uint64_t group_base,
                        std::vector<Piece>& out) {
  for (std::size_t off = 0, i = 0; off < data.size(); off += k_file_chunk_size, ++i) {
    auto size = static_cast<std::uint32_t>(std::min<std::size_t>(k_file_chunk_size, data.size() - off));
    out.push_back({data.data() + off, size, group_base | (i / k_file_chunks_per_list), {}, false});
  }
}

using PageMap = std::unordered_map<std::uint64_t, ChunkRef>;

// Pieces of a pages image in pagemap order; PE_PARENT pages come from parent.
Result<std::vector<Piece>> page_pieces(const Pagemap& pm, std::span<const std::uint8_t> data,
                                       const PageMap* parent, const std::string& name) {
  std::vector<Piece> out;
  out.reserve(data.size() / k_page_size);
  std::uint64_t offset = 0;
  for (const auto& e : pm.entries) {
    if (!e.present() && !e.in_parent()) {
      continue;
    }
    if (e.present() && e.nr_pages > (data.size() - offset) / k_page_size) {
      return make_error("{} is shorter than its pagemap says ({} bytes)", name, data.size());
    }
    for (std::uint64_t k = 0; k < e.nr_pages; ++k) {
      std::uint64_t vaddr = e.vaddr + k * k_page_size;
      Piece piece;
      piece.size = static_cast<std::uint32_t>(k_page_size);
      piece.group = vaddr >> 17;
      if (e.present()) {
        piece.data = data.data() + offset;
        offset += k_page_size;
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
  add_generic_pieces(data.subspan(offset), k_trailer_group, out);
  return out;
}

// Hashes the pieces, stores the new ones and returns the chunk list hashes.
Result<std::vector<Hash>> store_pieces(BlobSink& sink, std::vector<Piece>& pieces,
                                       std::size_t per_list) {
  std::vector<std::vector<std::uint8_t>> encoded;
  std::vector<Codec> codecs;
  for (std::size_t base = 0; base < pieces.size(); base += k_segment) {
    std::size_t n = std::min(k_segment, pieces.size() - base);
    parallel_for(n, [&](std::size_t b, std::size_t e) {
      for (std::size_t i = base + b; i < base + e; ++i) {
        Piece& p = pieces[i];
        if (p.resolved) {
          continue;
        }
        std::span<const std::uint8_t> bytes{p.data, p.size};
        p.ref = {all_zero(bytes) ? Hash{} : sha256(bytes), p.size};
        p.resolved = true;
      }
    });
    std::vector<std::size_t> todo;
    std::unordered_set<Hash, HashHasher> seen;
    for (std::size_t i = base; i < base + n; ++i) {
      const auto& p = pieces[i];
      if (p.ref.hash.is_zero() || sink.has(p.ref.hash) || !seen.insert(p.ref.hash).second) {
        continue;
      }
      if (p.data == nullptr) {
        return make_error("chunk {} of the parent checkpoint is missing from the store",
                          to_hex(p.ref.hash));
      }
      todo.push_back(i);
    }
    encoded.resize(todo.size());
    codecs.resize(todo.size());
    parallel_for(todo.size(), [&](std::size_t b, std::size_t e) {
      for (std::size_t j = b; j < e; ++j) {
        const auto& p = pieces[todo[j]];
        codecs[j] = compress({p.data, p.size}, encoded[j]);
      }
    }, 16);
    for (std::size_t j = 0; j < todo.size(); ++j) {
      const auto& p = pieces[todo[j]];
      STASIS_TRY(sink.put(p.ref.hash, codecs[j], p.size, encoded[j]));
    }
  }
  std::vector<Hash> lists;
  std::vector<ChunkRef> current;
  std::uint64_t group = 0;
  auto flush_list = [&]() -> Result<void> {
    auto blob = encode_chunk_list(current);
    lists.push_back(STASIS_TRY(sink.put_raw(blob)));
    current.clear();
    return ok();
  };
  for (const auto& p : pieces) {
    if (!current.empty() && (p.group != group || current.size() >= per_list)) {
      STASIS_TRY(flush_list());
    }
    group = p.group;
    current.push_back(p.ref);
  }
  if (!current.empty()) {
    STASIS_TRY(flush_list());
  }
  return lists;
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
  auto pm = STASIS_TRY(parse_pagemap({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}));
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
        return make_error("parent checkpoint {}: {} does not match its pagemap", parent.id,
                          pm.pages_file());
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
};

Result<std::vector<ImageFile>> list_images(const fs::path& dir) {
  std::vector<ImageFile> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      continue; // the "parent" symlink, sub-directories, sockets
    }
    out.push_back({it->path().filename().string(), static_cast<std::uint32_t>(st.st_mode & 07777),
                   static_cast<std::uint64_t>(st.st_size)});
  }
  if (ec) {
    return make_error("cannot read images dir {}: {}", dir.string(), ec.message());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

} // namespace

Result<Manifest> build_checkpoint(BlobSink& sink, const BlobIndex& index, const std::string& job,
                                  std::uint64_t id, const fs::path& images_dir,
                                  const IngestInfo& info, const Manifest* parent) {
  auto images = STASIS_TRY(list_images(images_dir));
  if (std::none_of(images.begin(), images.end(), [](const auto& f) { return f.name == "inventory.img"; })) {
    return make_error("{} has no inventory.img: not a CRIU images dir", images_dir.string());
  }
  // pages image name -> its pagemap, and pagemap name -> decoded pagemap.
  std::map<std::string, std::string> pages_owner;
  std::map<std::string, Pagemap> pagemaps;
  std::map<std::string, MappedFile> mapped;
  for (const auto& f : images) {
    auto file = STASIS_TRY(MappedFile::open(images_dir / f.name, f.size));
    if (is_pagemap_name(f.name)) {
      auto pm = parse_pagemap(file.bytes());
      if (!pm) {
        return make_error("{}: {}", (images_dir / f.name).string(), pm.error().message);
      }
      pages_owner[pm->pages_file()] = f.name;
      pagemaps.emplace(f.name, std::move(*pm));
    }
    mapped.emplace(f.name, std::move(file));
  }

  Manifest m;
  m.job = job;
  m.id = id;
  m.previous = parent ? std::optional(parent->id) : std::nullopt;
  m.created = info.created.value_or(
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()));
  m.policy_fingerprint = info.policy_fingerprint;
  m.criu_version = info.criu_version;
  m.kernel = info.kernel;
  m.cpu = info.cpu;
  m.target = info.target;
  m.stats = info.stats;

  std::map<std::string, PageMap> parent_maps;
  for (const auto& f : images) {
    FileRecord rec{f.name, f.mode, f.size, {}};
    auto data = mapped.at(f.name).bytes();
    std::vector<Piece> pieces;
    std::size_t per_list = k_file_chunks_per_list;
    std::string rewritten;
    if (auto pm = pagemaps.find(f.name); pm != pagemaps.end() && pm->second.has_parent_entries()) {
      // A CRIU incremental dump: store it as a self-contained one.
      Pagemap full = pm->second;
      for (auto& e : full.entries) {
        if (e.in_parent()) {
          e.flags = (e.flags & ~k_pe_parent) | k_pe_present;
        }
      }
      rewritten = encode_pagemap(full);
      data = {reinterpret_cast<const std::uint8_t*>(rewritten.data()), rewritten.size()};
      rec.size = rewritten.size();
    }
    if (auto owner = pages_owner.find(f.name); owner != pages_owner.end()) {
      const Pagemap& pm = pagemaps.at(owner->second);
      const PageMap* from_parent = nullptr;
      if (pm.has_parent_entries()) {
        if (parent == nullptr) {
          return make_error("{} refers to a parent dump (PE_PARENT pages) but job {} has no "
                            "checkpoint to take them from",
                            (images_dir / owner->second).string(), job);
        }
        if (!parent_maps.contains(owner->second)) {
          parent_maps.emplace(owner->second,
                              STASIS_TRY(parent_pages(index, *parent, owner->second)));
        }
        from_parent = &parent_maps.at(owner->second);
      }
      pieces = STASIS_TRY(page_pieces(pm, data, from_parent, f.name));
      per_list = k_pages_per_list;
      rec.size = 0;
      for (const auto& p : pieces) {
        rec.size += p.size;
      }
    } else {
      add_generic_pieces(data, 0, pieces);
    }
    rec.lists = STASIS_TRY(store_pieces(sink, pieces, per_list));
    m.logical_bytes += rec.size;
    m.files.push_back(std::move(rec));
  }
  for (const auto& [pages_name, pm_name] : pages_owner) {
    if (!mapped.contains(pages_name) && pagemaps.at(pm_name).present_pages() > 0) {
      return make_error("{} is missing (named by {})", (images_dir / pages_name).string(), pm_name);
    }
  }
  m.stored_bytes = sink.stored_bytes();
  log::get("store")->debug("checkpoint {}/{}: {} files, {} logical bytes, {} new bytes", job, id,
                           m.files.size(), m.logical_bytes, m.stored_bytes);
  return m;
}

} // namespace stasis::store
