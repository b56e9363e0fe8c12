// Pushing a container runtime's checkpoint image (see container_image.hpp):
// the archive is compressed with zstd into an unnamed file while both its
// digests are taken (the layer's and the uncompressed diff_id), then the
// layer, the image config and the manifests go up in that order.
#include "remote/container_image.hpp"

#include "remote/format.hpp"
#include "remote/registry_client.hpp"
#include "store/hash.hpp"
#include "util/log.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <zstd.h>

namespace stasis::remote {
namespace {

using json = nlohmann::json;

constexpr std::string_view k_config_type = "application/vnd.oci.image.config.v1+json";
constexpr std::string_view k_layer_type = "application/vnd.oci.image.layer.v1.tar+zstd";
constexpr std::string_view k_suffix = ".podman";
constexpr int k_zstd_level = 3;

class Fd {
public:
  explicit Fd(int fd = -1) : m_fd(fd) {}
  Fd(Fd&& o) noexcept : m_fd(std::exchange(o.m_fd, -1)) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd& operator=(Fd&& o) noexcept {
    std::swap(m_fd, o.m_fd);
    return *this;
  }
  ~Fd() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  int get() const { return m_fd; }

private:
  int m_fd;
};

// The OCI (Go) name of this machine's architecture.
std::string oci_architecture() {
  struct utsname u {};
  ::uname(&u);
  const std::string machine = u.machine;
  if (machine == "x86_64") {
    return "amd64";
  }
  if (machine == "aarch64") {
    return "arm64";
  }
  if (machine.starts_with("armv")) {
    return "arm";
  }
  if (machine == "i686" || machine == "i386") {
    return "386";
  }
  return machine; // ppc64le, s390x, riscv64 have the same names
}

Result<void> write_all(int fd, const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return make_error("cannot write the compressed layer: {}", std::strerror(errno));
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return ok();
}

struct Layer {
  Fd file;
  std::uint64_t size = 0;
  std::string digest;  // of the compressed bytes
  std::string diff_id; // of the archive
};

// Compresses archive into an unnamed file in dir, taking both digests.
Result<Layer> compress_layer(const fs::path& archive, const fs::path& dir,
                             const std::function<bool()>& cancelled) {
  Fd in(::open(archive.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (in.get() < 0) {
    return make_error("cannot open {}: {}", archive.string(), std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error("{} is not a regular file", archive.string());
  }
  if (static_cast<std::uint64_t>(st.st_size) > k_max_container_archive_bytes) {
    return make_error("the checkpoint archive has {} bytes; at most {} are pushed as a "
                      "container image",
                      st.st_size, k_max_container_archive_bytes);
  }
  Layer layer;
  layer.file = Fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (layer.file.get() < 0) {
    return make_error("cannot make a scratch file in {}: {}", dir.string(),
                      std::strerror(errno));
  }
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(),
                                                            &ZSTD_freeCCtx);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, k_zstd_level);
  // Both cores when libzstd has threads; a plain stream otherwise.
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_nbWorkers, 2);
  store::Sha256Stream raw_hash;
  store::Sha256Stream packed_hash;
  std::vector<char> input(ZSTD_CStreamInSize() * 8);
  std::vector<char> output(ZSTD_CStreamOutSize() * 8);
  auto drain = [&](ZSTD_inBuffer& source, ZSTD_EndDirective mode) -> Result<void> {
    for (;;) {
      ZSTD_outBuffer sink{output.data(), output.size(), 0};
      const std::size_t left = ZSTD_compressStream2(cctx.get(), &sink, &source, mode);
      if (ZSTD_isError(left)) {
        return make_error("zstd: {}", ZSTD_getErrorName(left));
      }
      packed_hash.update(
          {reinterpret_cast<const std::uint8_t*>(output.data()), sink.pos});
      STASIS_TRY(write_all(layer.file.get(), output.data(), sink.pos));
      layer.size += sink.pos;
      if (mode == ZSTD_e_end ? left == 0 : source.pos == source.size) {
        return ok();
      }
    }
  };
  for (;;) {
    if (cancelled && cancelled()) {
      return make_error("cancelled");
    }
    const ssize_t n = ::read(in.get(), input.data(), input.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return make_error("cannot read {}: {}", archive.string(), std::strerror(errno));
    }
    if (n == 0) {
      break;
    }
    raw_hash.update({reinterpret_cast<const std::uint8_t*>(input.data()),
                     static_cast<std::size_t>(n)});
    ZSTD_inBuffer source{input.data(), static_cast<std::size_t>(n), 0};
    STASIS_TRY(drain(source, ZSTD_e_continue));
  }
  ZSTD_inBuffer none{nullptr, 0, 0};
  STASIS_TRY(drain(none, ZSTD_e_end));
  layer.digest = "sha256:" + store::to_hex(packed_hash.finish());
  layer.diff_id = "sha256:" + store::to_hex(raw_hash.finish());
  return layer;
}

// Uploads the blob unless the repository has it already.
Result<void> upload(RegistryClient& client, const std::string& digest,
                    std::span<const std::uint8_t> data, PushReport& report) {
  if (auto size = STASIS_TRY(client.blob_size(digest)); size && *size == data.size()) {
    ++report.blobs_present;
    report.bytes_present += data.size();
    return ok();
  }
  STASIS_TRY(client.upload_blob(digest, data));
  ++report.blobs_uploaded;
  report.bytes_uploaded += data.size();
  return ok();
}

// The layer file mapped for the upload.
class Mapping {
public:
  Mapping(int fd, std::size_t size) : m_size(size) {
    if (size > 0) {
      m_data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    }
  }
  ~Mapping() {
    if (m_data != MAP_FAILED && m_data != nullptr) {
      ::munmap(m_data, m_size);
    }
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  bool ok() const { return m_data != MAP_FAILED; }
  std::span<const std::uint8_t> bytes() const {
    return {static_cast<const std::uint8_t*>(m_data), m_size};
  }

private:
  void* m_data = nullptr;
  std::size_t m_size;
};

} // namespace

std::string container_image_tag(const std::string& tag) {
  return tag + std::string(k_suffix);
}

Result<PushReport> push_container_image(const Reference& ref,
                                        const ClientOptions& options,
                                        const ContainerImage& image,
                                        const std::vector<std::string>& tags,
                                        const fs::path& scratch_dir) {
  for (const auto& tag : tags) {
    if (!valid_tag(tag)) {
      return make_error("'{}' is not a valid OCI tag", tag);
    }
  }
  auto layer = STASIS_TRY(compress_layer(image.archive, scratch_dir, options.cancelled));
  RegistryClient client(ref, options);
  STASIS_TRY(client.ping());
  PushReport report;
  {
    Mapping mapped(layer.file.get(), layer.size);
    if (!mapped.ok()) {
      return make_error("cannot map the compressed layer: {}", std::strerror(errno));
    }
    STASIS_TRY(upload(client, layer.digest, mapped.bytes(), report));
  }
  json config{{"created", image.created},
              {"architecture", oci_architecture()},
              {"os", "linux"},
              {"config", json::object()},
              {"rootfs", {{"type", "layers"}, {"diff_ids", {layer.diff_id}}}},
              {"history", {{{"created", image.created}, {"created_by", "stasis"}}}}};
  const std::string config_text = config.dump();
  const std::string config_digest = digest_of(config_text);
  STASIS_TRY(upload(
      client, config_digest,
      {reinterpret_cast<const std::uint8_t*>(config_text.data()), config_text.size()},
      report));
  json manifest{
      {"schemaVersion", 2},
      {"mediaType", k_oci_manifest_type},
      {"config",
       {{"mediaType", k_config_type},
        {"digest", config_digest},
        {"size", config_text.size()}}},
      {"layers",
       {{{"mediaType", k_layer_type}, {"digest", layer.digest}, {"size", layer.size}}}},
      {"annotations", image.annotations}};
  const std::string body = manifest.dump();
  for (const auto& tag : tags) {
    auto digest = STASIS_TRY(client.put_manifest(tag, body));
    if (report.manifest_digest.empty()) {
      report.manifest_digest = digest;
      report.bytes_uploaded += body.size();
    }
    report.tags.push_back(tag);
  }
  log::get("remote")->info("pushed the container image {}:{} ({} bytes uploaded)",
                           client.where(), tags.empty() ? "" : tags.front(),
                           report.bytes_uploaded);
  return report;
}

Result<void> delete_container_image(const Reference& ref, const std::string& tag,
                                    const ClientOptions& options) {
  const std::string image_tag = container_image_tag(tag);
  if (!valid_tag(image_tag)) {
    return ok(); // a tag this long never had an image
  }
  RegistryClient client(ref, options);
  auto fetched = STASIS_TRY(client.get_manifest(image_tag));
  if (!fetched) {
    return ok();
  }
  return client.delete_manifest(fetched->digest);
}

} // namespace stasis::remote
