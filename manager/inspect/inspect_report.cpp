// inspect_report(), inspect_stored() and inspect_export_file().
#include "manager/inspect/report_text.hpp"
#include "manager/inspect/reports.hpp"
#include "util/unique_fd.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/stat.h>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace stasis::manager::inspect {

using nlohmann::json;

namespace {

// A time as the JSON of stasisctl has it: RFC 3339 UTC.
std::string rfc3339(std::chrono::sys_seconds time) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(static_cast<std::time_t>(
                                                  time.time_since_epoch().count())));
}

// Pages of runs (vaddr, count) that fall in [start, end).
std::uint64_t
pages_within(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& runs,
             std::uint64_t start, std::uint64_t end) {
  std::uint64_t pages = 0;
  for (const auto& [vaddr, count] : runs) {
    const std::uint64_t run_end = vaddr + count * store::k_page_size;
    const std::uint64_t lo = std::max(vaddr, start);
    const std::uint64_t hi = std::min(run_end, end);
    if (lo < hi) {
      pages += (hi - lo) / store::k_page_size;
    }
  }
  return pages;
}

json process_json(const engine::ProcessInfo& p, const CheckpointView& view) {
  static const std::vector<std::pair<std::uint64_t, std::uint64_t>> none;
  const auto runs = view.dumped_runs.find(p.pid);
  const auto& dumped = runs == view.dumped_runs.end() ? none : runs->second;
  json mappings = json::array();
  std::uint64_t total_pages = 0;
  for (const auto& m : p.mappings) {
    json j = mapping_json(m);
    const auto pages = pages_within(dumped, m.start, m.end);
    j["dumped_pages"] = pages;
    total_pages += pages;
    mappings.push_back(std::move(j));
  }
  json descriptors = json::array();
  for (const auto& d : p.descriptors) {
    descriptors.push_back({{"fd", d.fd}, {"type", d.type}, {"target", d.target}});
  }
  return {{"pid", p.pid},
          {"ppid", p.ppid},
          {"pgid", p.pgid},
          {"sid", p.sid},
          {"threads", p.threads},
          {"comm", p.comm},
          {"state", p.state},
          {"uid", p.uid},
          {"gid", p.gid},
          {"exe", p.exe},
          {"dumped_pages", total_pages},
          {"dumped_bytes", total_pages * store::k_page_size},
          {"mappings", std::move(mappings)},
          {"descriptors", std::move(descriptors)}};
}

} // namespace

json inspect_report(const CheckpointView& view) {
  const auto& m = view.manifest;
  const auto& c = view.contents;
  json processes = json::array();
  for (const auto& p : c.processes) {
    processes.push_back(process_json(p, view));
  }
  json files = json::array();
  for (const auto& f : c.files) {
    files.push_back({{"id", f.id},
                     {"path", f.path},
                     {"size", f.size},
                     {"pos", f.pos},
                     {"flags", f.flags},
                     {"mode", f.mode},
                     {"remapped", f.remapped}});
  }
  json sockets = json::array();
  for (const auto& s : c.sockets) {
    sockets.push_back({{"id", s.id},
                       {"kind", s.kind},
                       {"state", s.state},
                       {"local", s.local},
                       {"remote", s.remote}});
  }
  json cpu_image = nullptr;
  if (c.cpu) {
    cpu_image = {{"vendor", c.cpu->vendor},
                 {"family", c.cpu->family},
                 {"model", c.cpu->model},
                 {"stepping", c.cpu->stepping},
                 {"model_id", c.cpu->model_id},
                 {"capability_words", c.cpu->capability_words},
                 {"xfeatures_mask", c.cpu->xfeatures_mask}};
  }
  return {{"job", m.job},
          {"id", std::to_string(m.id)},
          {"previous", m.previous ? json(std::to_string(*m.previous)) : json(nullptr)},
          {"created", rfc3339(m.created)},
          {"target", m.target},
          {"imported_from", m.imported_from},
          {"criu_version", m.criu_version},
          {"kernel", m.kernel},
          {"cpu", m.cpu},
          {"logical_bytes", m.logical_bytes},
          {"image_files", m.files.size()},
          {"image_version", c.image_version},
          {"arch", c.arch},
          {"tcp_close", c.tcp_close},
          {"cpu_image", std::move(cpu_image)},
          {"processes", std::move(processes)},
          {"files", std::move(files)},
          {"sockets", std::move(sockets)}};
}

Result<json> inspect_stored(const store::Store& store, const std::string& job,
                            std::uint64_t id) {
  return inspect_report(STASIS_TRY(read_view(store, job, id, false)));
}

Result<json> inspect_export_file(int fd, const std::string& name,
                                 const std::filesystem::path& scratch_dir) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error("{} is not a regular file", name);
  }
  if (static_cast<std::uint64_t>(st.st_size) > k_max_inspected_export_bytes) {
    return make_error("{} has {} bytes, more than the {} an export file may have", name,
                      st.st_size, k_max_inspected_export_bytes);
  }
  std::string tmpl = (scratch_dir / "stasis-inspect-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return make_error("cannot make a scratch dir in {}: {}", scratch_dir.string(),
                      std::strerror(errno));
  }
  const std::filesystem::path tmp(tmpl);
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{tmp};
  auto store = STASIS_TRY(store::Store::open(tmp / "state"));
  store::StoreLimits limits;
  auto imported = store.import_checkpoint(fd, name, "inspect", limits);
  if (!imported) {
    return make_error("{}", imported.error().message);
  }
  auto view = STASIS_TRY(read_view(store, "inspect", imported->id, false));
  // The exporter's job and id, as the file names them.
  const auto origin = view.manifest.imported_from;
  json report = inspect_report(view);
  report["job"] = nullptr;
  report["id"] = nullptr;
  report["previous"] = nullptr;
  report["imported_from"] = origin;
  report["file"] = name;
  return report;
}

} // namespace stasis::manager::inspect
