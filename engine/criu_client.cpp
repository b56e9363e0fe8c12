#include "engine/criu_client.hpp"

#include "engine/config_file.hpp"
#include "engine/criu_rpc.pb.h"
#include "engine/network_lock.hpp"
#include "engine/options_wire.hpp"
#include "engine/rpc_session.hpp"
#include "engine/swrk_transport.hpp"
#include "engine/target.hpp"
#include "util/log.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <system_error>

#include <fmt/format.h>

namespace stasis::engine {
namespace {

namespace fs = std::filesystem;

Result<util::UniqueFd, EngineError> open_dir(const fs::path& dir,
                                             const std::string& what) {
  util::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    return Unexpected(EngineError(
        ErrorKind::System, what,
        fmt::format("cannot open directory {}: {}", dir.string(), std::strerror(errno))));
  }
  return fd;
}

Result<void, EngineError> make_dir(const fs::path& dir, const std::string& what) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return Unexpected(EngineError(
        ErrorKind::System, what,
        fmt::format("cannot create directory {}: {}", dir.string(), ec.message())));
  }
  return {};
}

// Adds the log file and its last error lines to a CRIU failure.
EngineError with_log(EngineError error, const fs::path& log_file) {
  error.log_file = log_file;
  error.log_errors = read_log_errors(log_file);
  if (error.reason.empty()) {
    error.reason = hint_for(error.log_errors);
  }
  return error;
}

// Stats live in the images dir; fall back to the work dir.
template <typename Reader>
auto read_stats(Reader reader, const fs::path& images_dir, const fs::path& work_dir) {
  auto stats = reader(images_dir);
  if (!stats && work_dir != images_dir) {
    if (auto other = reader(work_dir)) {
      return other;
    }
  }
  if (!stats) {
    stasis::log::get("engine")->warn("no CRIU statistics: {}", stats.error().message);
  }
  return stats;
}

std::string reason_mem_track() {
  return "the kernel does not track soft-dirty pages (CONFIG_MEM_SOFT_DIRTY is off), so "
         "pre-dumps and incremental dumps with track_mem are unavailable";
}

std::string reason_lazy_pages() {
  return "the kernel's userfaultfd lacks what lazy restore needs (CONFIG_USERFAULTFD "
         "with "
         "non-cooperative events)";
}

} // namespace

CriuClient::CriuClient(fs::path criu_binary)
    : CriuClient(criu_binary,
                 [criu_binary](
                     const WorkerSpec& spec) -> Result<std::unique_ptr<CriuTransport>> {
                   auto transport = STASIS_TRY(SwrkTransport::spawn(criu_binary, spec));
                   return std::unique_ptr<CriuTransport>(std::move(transport));
                 }) {}

CriuClient::CriuClient(fs::path criu_binary, TransportFactory factory)
    : m_binary(std::move(criu_binary)), m_factory(std::move(factory)) {}

Result<std::unique_ptr<CriuTransport>, EngineError>
CriuClient::start_worker(const WorkerSpec& spec, const std::string& what) {
  auto transport = m_factory(spec);
  if (!transport) {
    return Unexpected(EngineError(ErrorKind::System, what, transport.error().message));
  }
  return std::move(transport).value();
}

Result<std::string, EngineError> CriuClient::version() {
  const std::string what = "CRIU version query failed";
  auto worker = STASIS_TRY(start_worker({.inherited_fds = {}, .quiet = true}, what));
  wire::Request request;
  request.set_type(wire::REQ_VERSION);
  auto reply = STASIS_TRY(exchange(*worker, request, {}, {}, what));
  if (!reply.has_version()) {
    return Unexpected(
        EngineError(ErrorKind::Protocol, what, "the reply holds no version"));
  }
  const auto& v = reply.version();
  std::string text = fmt::format("{}.{}", v.major_number(), v.minor_number());
  if (v.has_sublevel()) {
    text += fmt::format(".{}", v.sublevel());
  }
  return text;
}

Result<void, EngineError> CriuClient::check() {
  const std::string what = "CRIU check failed";
  char pattern[] = "/tmp/stasis-criu-check-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    return Unexpected(EngineError(
        ErrorKind::System, what,
        fmt::format("cannot create a temporary directory: {}", std::strerror(errno))));
  }
  const fs::path dir = pattern;
  auto dir_fd = STASIS_TRY(open_dir(dir, what));
  auto worker = STASIS_TRY(start_worker({.inherited_fds = {}, .quiet = true}, what));
  wire::Request request;
  request.set_type(wire::REQ_CHECK);
  auto* opts = request.mutable_opts();
  opts->set_images_dir_fd(dir_fd.get());
  opts->set_log_file("check.log");
  opts->set_log_level(2);
  auto reply = exchange(*worker, request, {}, {}, what);
  worker.reset();
  if (!reply) {
    return Unexpected(with_log(std::move(reply).error(), dir / "check.log"));
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return {};
}

Result<Features, EngineError> CriuClient::features() {
  const std::string what = "CRIU feature check failed";
  auto worker = STASIS_TRY(start_worker({.inherited_fds = {}, .quiet = true}, what));
  wire::Request request;
  request.set_type(wire::REQ_FEATURE_CHECK);
  request.mutable_features()->set_mem_track(true);
  request.mutable_features()->set_lazy_pages(true);
  auto reply = STASIS_TRY(exchange(*worker, request, {}, {}, what));
  Features features;
  features.mem_track = reply.features().mem_track();
  features.lazy_pages = reply.features().lazy_pages();
  if (!features.mem_track) {
    features.mem_track_reason = reason_mem_track();
  }
  if (!features.lazy_pages) {
    features.lazy_pages_reason = reason_lazy_pages();
  }
  return features;
}

Result<DumpResult, EngineError> CriuClient::dump(const DumpOptions& options,
                                                 const NotifyHandler& notify,
                                                 const RunControl& control) {
  return run_dump(false, options, notify, control);
}

Result<DumpResult, EngineError> CriuClient::pre_dump(const DumpOptions& options,
                                                     const NotifyHandler& notify,
                                                     const RunControl& control) {
  return run_dump(true, options, notify, control);
}

Result<DumpResult, EngineError> CriuClient::run_dump(bool pre, const DumpOptions& options,
                                                     const NotifyHandler& notify,
                                                     const RunControl& control) {
  const std::string what =
      fmt::format("{} of pid {} failed", pre ? "pre-dump" : "dump", options.pid);
  if (auto valid = validate(options); !valid) {
    return Unexpected(
        EngineError(ErrorKind::InvalidOptions, what, valid.error().message));
  }
  if (!process_exists(options.pid)) {
    return Unexpected(EngineError(ErrorKind::InvalidOptions, what,
                                  fmt::format("no process has pid {}", options.pid)));
  }
  if (pre || options.track_mem) {
    auto features = STASIS_TRY(this->features());
    if (!features.mem_track) {
      return Unexpected(EngineError(
          ErrorKind::Unsupported, what,
          fmt::format("{} needs memory tracking, which CRIU reports unavailable: {}",
                      pre ? "a pre-dump" : "track_mem", features.mem_track_reason)));
    }
  }
  const fs::path work_dir =
      options.work_dir.empty() ? options.images_dir : options.work_dir;
  STASIS_TRY(make_dir(options.images_dir, what));
  STASIS_TRY(make_dir(work_dir, what));
  auto images_fd = STASIS_TRY(open_dir(options.images_dir, what));
  auto work_fd = STASIS_TRY(open_dir(work_dir, what));

  wire::Request request;
  request.set_type(pre ? wire::REQ_PRE_DUMP : wire::REQ_DUMP);
  auto* opts = request.mutable_opts();
  to_wire(options, pre ? "pre-dump.log" : "dump.log", *opts);
  if (!dump_needs_network_lock(options)) {
    opts->set_network_lock(wire::NETLOCK_SKIP);
  }
  opts->set_images_dir_fd(images_fd.get());
  opts->set_work_dir_fd(work_fd.get());
  if (auto config = attach_config(work_fd.get(), config_lines(options), *opts); !config) {
    return Unexpected(EngineError(ErrorKind::System, what, config.error().message));
  }
  // Always: the notifications are the safe points where a cancelled or timed
  // out dump is stopped without harming the tree (rpc_session.hpp).
  opts->set_notify_scripts(true);
  if (pre) {
    opts->set_track_mem(true);
  }
  const fs::path log_file = work_dir / opts->log_file();

  WorkerSpec spec;
  spec.request_dir_fds = {images_fd.get(), work_fd.get()};
  if (options.page_server && options.page_server->fd >= 0) {
    spec.inherited_fds.push_back(options.page_server->fd);
  }
  auto worker = STASIS_TRY(start_worker(spec, what));
  auto reply = exchange(*worker, request, notify, control, what);
  worker.reset(); // reap the worker before looking at the target
  if (!reply) {
    auto error = std::move(reply).error();
    if (error.kind == ErrorKind::TimedOut || error.kind == ErrorKind::Cancelled ||
        error.kind == ErrorKind::WorkerDied) {
      if (auto resumed = ensure_running(options.pid); !resumed.empty()) {
        error.reason += "; " + resumed;
      }
      if (opts->network_lock() != wire::NETLOCK_SKIP) {
        error.reason += fmt::format("; its network may still be locked by CRIU ({} rules "
                                    "named CRIU-*): remove them if it cannot communicate",
                                    to_string(options.network_lock));
      }
    }
    return Unexpected(with_log(std::move(error), log_file));
  }
  DumpResult result;
  result.log_file = log_file;
  if (auto stats = read_stats(read_dump_stats, options.images_dir, work_dir)) {
    result.stats = *stats;
  }
  stasis::log::get("engine")->info(
      "{} of pid {} done: frozen {} ms (memdump {} ms, memwrite {} ms), {} pages written",
      pre ? "pre-dump" : "dump", options.pid, result.stats.frozen_time.count() / 1000,
      result.stats.memdump_time.count() / 1000, result.stats.memwrite_time.count() / 1000,
      result.stats.pages_written);
  return result;
}

Result<RestoreResult, EngineError> CriuClient::restore(const RestoreOptions& options,
                                                       const NotifyHandler& notify,
                                                       const RunControl& control) {
  const std::string what =
      fmt::format("restore from {} failed", options.images_dir.string());
  if (auto valid = validate(options); !valid) {
    return Unexpected(
        EngineError(ErrorKind::InvalidOptions, what, valid.error().message));
  }
  const fs::path work_dir =
      options.work_dir.empty() ? options.images_dir : options.work_dir;
  STASIS_TRY(make_dir(work_dir, what));
  auto images_fd = STASIS_TRY(open_dir(options.images_dir, what));
  auto work_fd = STASIS_TRY(open_dir(work_dir, what));

  wire::Request request;
  request.set_type(wire::REQ_RESTORE);
  auto* opts = request.mutable_opts();
  to_wire(options, "restore.log", *opts);
  if (!restore_needs_network_lock(options)) {
    opts->set_network_lock(wire::NETLOCK_SKIP);
  }
  opts->set_images_dir_fd(images_fd.get());
  opts->set_work_dir_fd(work_fd.get());
  if (notify) {
    opts->set_notify_scripts(true);
  }
  const fs::path log_file = work_dir / opts->log_file();

  WorkerSpec spec;
  spec.own_process_group = !options.shell_job;
  spec.stdin_fd = options.terminal_fd;
  spec.request_dir_fds = {images_fd.get(), work_fd.get()};
  for (const auto& inherit : options.inherit_fds) {
    spec.inherited_fds.push_back(inherit.fd);
  }
  auto worker = STASIS_TRY(start_worker(spec, what));
  auto reply = exchange(*worker, request, notify, control, what);
  worker.reset();
  if (!reply) {
    return Unexpected(with_log(std::move(reply).error(), log_file));
  }
  if (!reply->has_restore() || reply->restore().pid() <= 0) {
    return Unexpected(with_log(
        EngineError(ErrorKind::Protocol, what, "the RESTORE reply names no restored pid"),
        log_file));
  }
  RestoreResult result;
  result.pid = reply->restore().pid();
  result.log_file = log_file;
  if (auto stats = read_stats(read_restore_stats, options.images_dir, work_dir)) {
    result.stats = *stats;
  }
  stasis::log::get("engine")->info("restored {} as pid {} in {} ms",
                                   options.images_dir.string(), result.pid,
                                   result.stats.restore_time.count() / 1000);
  return result;
}

} // namespace stasis::engine
