#include "manager/manager.hpp"

#include "engine/locator.hpp"
#include "manager/adhoc.hpp"
#include "manager/interrupted_runs.hpp"
#include "manager/schedule_adapter.hpp"
#include "policy/loader.hpp"
#include "util/log.hpp"
#include "util/version.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <fmt/ranges.h>

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;

std::string kernel_description() {
  utsname name{};
  if (uname(&name) != 0) {
    return "unknown";
  }
  return fmt::format("{} {} {}", name.sysname, name.release, name.machine);
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto start = line.find_first_not_of(" \t", colon + 1);
        return start == std::string::npos ? "" : line.substr(start);
      }
    }
  }
  return "unknown";
}

} // namespace

MResult<std::uint64_t> parse_checkpoint_id(const std::string& text) {
  std::uint64_t id = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return fail(ErrorCode::InvalidArgument,
                "'{}' is not a checkpoint id (ids are numbers, see ListCheckpoints)",
                text);
  }
  return id;
}

Result<std::unique_ptr<Manager>> Manager::create(const DaemonConfig& config) {
  auto logger = log::get("manager");
  std::error_code ignored;
  fs::create_directories(config.state_dir, ignored);
  ::chmod(config.state_dir.c_str(), 0700);
  auto store = store::Store::open(config.state_dir);
  if (!store) {
    return make_error("cannot open the checkpoint store in {}: {}",
                      config.state_dir.string(), store.error().message);
  }
  // One daemon per state dir; nothing of ours runs yet, so every run dir
  // there was left by a daemon that died mid-run.
  auto lease = store::DaemonLease::acquire(config.state_dir);
  if (!lease) {
    return make_error("{}", lease.error().message);
  }
  auto leftovers = store::remove_leftover_runs(config.state_dir, *lease);
  if (!leftovers.runs.empty()) {
    logger->warn("removed the work and log dirs of {} run(s) the previous daemon left "
                 "behind ({} bytes): {}",
                 leftovers.runs.size(), leftovers.bytes, fmt::join(leftovers.runs, ", "));
  }
  for (const auto& problem : leftovers.problems) {
    logger->error("cannot remove a run dir the previous daemon left: {}", problem);
  }
  auto history = RunHistory::open(config.state_dir / "history.jsonl");
  if (!history) {
    return make_error("cannot open the run history: {}", history.error().message);
  }
  (*history)->limit_job_runs(k_adhoc_job_prefix, k_max_history_runs_per_adhoc_job);
  auto settled = settle_unfinished_runs(**history, std::chrono::system_clock::now(),
                                        checkpoints_stored_since(*store, **history));
  if (!settled) {
    logger->warn("cannot settle the runs the previous daemon left: {}",
                 settled.error().message);
  } else if (*settled > 0) {
    logger->warn("{} run(s) left unfinished by the previous daemon marked cancelled or "
                 "interrupted (see stasisctl history)",
                 *settled);
  }
  auto criu = engine::locate_criu(config.criu_path);
  if (!criu) {
    return make_error("{}", criu.error().message);
  }
  engine::CriuClient client(*criu);
  HostInfo host{kernel_description(), cpu_model(), "unknown"};
  if (auto version = client.version()) {
    host.criu_version = *version;
  } else {
    return make_error("CRIU at {} does not answer: {}", criu->string(),
                      version.error().message());
  }
  engine::Features features;
  if (auto found = client.features()) {
    features = *found;
  } else {
    logger->warn("cannot query CRIU's features: {}", found.error().message());
  }
  std::unique_ptr<Manager> manager(
      new Manager(config, std::move(*store), std::move(*history), *criu, host, features));
  manager->m_lease = std::move(*lease);
  // Degraded rather than not at all: the good files' jobs run, each bad file
  // is logged and reported by GetStatus.
  auto policies = manager->load_policies();
  manager->install_jobs(policies);
  manager->load_adhoc_jobs();
  manager->apply_orphan_retention();
  manager->update_schedule();
  manager->m_scheduler->start();
  manager->start_metrics_file();
  logger->info("manager ready: {} job(s) from {}, CRIU {} at {}, state in {}",
               policies.set.jobs().size(), config.policy_dir.string(), host.criu_version,
               criu->string(), config.state_dir.string());
  return manager;
}

Manager::Manager(DaemonConfig config, store::Store store,
                 std::unique_ptr<RunHistory> history, fs::path criu, HostInfo host,
                 engine::Features features)
    : m_config(std::move(config)), m_store(std::move(store)),
      m_history(std::move(history)), m_criu(std::move(criu)), m_host(std::move(host)),
      m_features(std::move(features)) {
  m_queue =
      std::make_unique<RunQueue>(QueueLimits{std::max(1U, m_config.max_concurrent_runs),
                                             m_config.max_queued_runs_per_user},
                                 m_clock, m_history.get());
  m_queue->set_event_sink([this](const Event& event) { emit(event); });
  m_scheduler = std::make_unique<Scheduler>(
      m_clock, [this](const std::string& job, TimePoint) { on_fire(job); });
}

Manager::~Manager() {
  m_scheduler->stop();
  m_queue->shutdown();
}

std::string Manager::version() const {
  return std::string(util::k_version);
}

void Manager::set_event_sink(EventSink sink) {
  std::lock_guard lock(m_sink_mutex);
  m_sink = std::move(sink);
}

void Manager::emit(const Event& event) {
  poke_metrics_file(event);
  std::lock_guard lock(m_sink_mutex);
  if (m_sink) {
    m_sink(event);
  }
}

policy::PartialPolicyLoad Manager::load_policies() const {
  auto logger = log::get("manager");
  struct stat st {};
  if (::lstat(m_config.policy_dir.c_str(), &st) != 0 && errno == ENOENT) {
    logger->warn("the policy directory {} does not exist: no policy jobs (create it and "
                 "reload)",
                 m_config.policy_dir.string());
    return {};
  }
  // Every file is opened once, through a walk that shows each entry on its way
  // to the rule; a file that is unsafe, unreadable or invalid is left out.
  auto load = policy::load_policy_dir_leniently(m_config.policy_dir, policy_path_rule());
  for (const auto& problem : load.problems) {
    logger->error("{}", problem.to_string());
  }
  if (!load.bad_files.empty()) {
    logger->error("{} policy file(s) left out, their jobs not (re)loaded: {}",
                  load.bad_files.size(), fmt::join(load.bad_files, ", "));
  }
  return load;
}

void Manager::install_jobs(const policy::PartialPolicyLoad& load) {
  JobMap jobs;
  for (const auto& job : load.set.jobs()) {
    jobs[job.name] = JobEntry{std::make_shared<const policy::Job>(job), false,
                              job.source.file, false, ""};
  }
  const std::set<std::string> left_out(load.bad_files.begin(), load.bad_files.end());
  std::vector<std::string> problems;
  for (const auto& problem : load.problems) {
    problems.push_back(problem.to_string());
  }
  std::lock_guard lock(m_mutex);
  for (const auto& [name, entry] : m_jobs) {
    // Ad-hoc jobs stay; so do the jobs of a file left out this time, as they
    // were, unless a good file now defines the name.
    if ((entry.adhoc || left_out.contains(entry.policy_file)) && !jobs.contains(name)) {
      jobs[name] = entry;
    }
  }
  // Former names: a job's name now wins over another job's former name (a
  // job kept from a file left out may still have it).
  std::map<std::string, std::string> former;
  for (const auto& [name, entry] : jobs) {
    for (const auto& old : entry.job->formerly) {
      if (!jobs.contains(old)) {
        former.emplace(old, name);
      }
    }
  }
  m_jobs = std::move(jobs);
  m_former_names = std::move(former);
  m_bad_policy_files = load.bad_files.size();
  m_policy_problems = std::move(problems);
}

void Manager::update_schedule() {
  std::vector<ScheduledJob> scheduled;
  {
    std::lock_guard lock(m_mutex);
    for (const auto& [name, entry] : m_jobs) {
      if (entry.adhoc || !entry.job->enabled) {
        continue;
      }
      if (auto job =
              to_scheduled_job(name, entry.job->fingerprint, entry.job->schedule)) {
        scheduled.push_back(std::move(*job));
      }
    }
  }
  m_scheduler->set_jobs(std::move(scheduled), m_history->last_checkpoint_times());
}

void Manager::on_fire(const std::string& job) {
  auto entry = find_job(job);
  if (!entry) {
    return;
  }
  auto run = submit_checkpoint(*entry, {}, std::nullopt, true, 0);
  if (!run) {
    log::get("manager")->error("scheduled checkpoint of {} not started: {}", job,
                               run.error().message);
  }
}

MResult<ReloadChanges> Manager::reload(const Caller& caller) {
  if (!caller.is_root()) {
    return fail(ErrorCode::AccessDenied, "only root may reload the policies");
  }
  std::lock_guard reload_lock(m_reload_mutex);
  auto load = load_policies();
  const std::set<std::string> left_out(load.bad_files.begin(), load.bad_files.end());
  ReloadChanges changes;
  {
    std::lock_guard lock(m_mutex);
    std::set<std::string> seen;
    for (const auto& job : load.set.jobs()) {
      seen.insert(job.name);
      auto old = m_jobs.find(job.name);
      if (old == m_jobs.end() || old->second.adhoc) {
        changes.added.push_back(job.name);
      } else if (old->second.job->fingerprint != job.fingerprint ||
                 old->second.job->description != job.description) {
        // The fingerprint leaves out the description (it names what a job
        // does), but users edit descriptions and expect to see that change.
        changes.changed.push_back(job.name);
      }
    }
    for (const auto& [name, entry] : m_jobs) {
      if (!entry.adhoc && !seen.contains(name) && !left_out.contains(entry.policy_file)) {
        changes.removed.push_back(name);
      }
    }
  }
  for (const auto& problem : load.problems) {
    changes.problems.push_back(problem.to_string());
  }
  install_jobs(load);
  update_schedule();
  apply_orphan_retention();
  log::get("manager")->info("policies reloaded: added [{}], removed [{}], changed [{}]",
                            fmt::join(changes.added, ", "),
                            fmt::join(changes.removed, ", "),
                            fmt::join(changes.changed, ", "));
  emit(JobsChangedEvent{});
  return changes;
}

MResult<DaemonStatus> Manager::status(const Caller& caller) {
  DaemonStatus status;
  status.version = version();
  std::lock_guard lock(m_mutex);
  status.bad_policy_files = static_cast<std::uint32_t>(m_bad_policy_files);
  // The problems quote root's policy files: for root only.
  if (caller.is_root()) {
    status.policy_problems = m_policy_problems;
  }
  return status;
}

MResult<EngineInfo> Manager::engine_info(const Caller&) {
  return EngineInfo{m_criu.string(), m_host.criu_version, m_features.mem_track,
                    m_features.lazy_pages, m_host.kernel};
}

std::optional<Manager::JobEntry> Manager::find_job(const std::string& job) const {
  std::lock_guard lock(m_mutex);
  if (auto found = m_jobs.find(job); found != m_jobs.end()) {
    return found->second;
  }
  return former_name_entry(job);
}

MResult<Manager::JobEntry> Manager::authorized_job(const Caller& caller,
                                                   const std::string& job,
                                                   Action action) const {
  auto entry = find_job(job);
  if (!entry && caller.is_root()) {
    entry = orphan_job(job); // no policy, no access list: root's alone
  }
  // A job the caller may not list does not exist for it: the answer must not
  // differ, in code or in message, from the one for a name nobody uses.
  if (!entry || !may(caller, Action::List, entry->job->access)) {
    return no_such_job(job);
  }
  if (action == Action::Checkpoint) {
    STASIS_TRY(check_new_checkpoint_allowed(*entry));
  }
  if (!may(caller, action, entry->job->access)) {
    return fail(ErrorCode::AccessDenied, "uid {} may not {} job '{}'", caller.uid,
                to_string(action), job);
  }
  return *entry;
}

Result<fs::path> Manager::make_work_dir(const std::string& run_id) const {
  const auto parent = m_config.state_dir / "work";
  std::error_code error;
  fs::create_directories(parent, error);
  // Searchable (not readable) by others: an unprivileged dump worker reaches
  // its own run directory (0700, owned by it) through this one.
  ::chmod(parent.c_str(), 0711);
  const auto dir = parent / run_id;
  (void)store::remove_tree(dir);
  if (::mkdir(dir.c_str(), 0700) != 0) {
    return make_error("cannot create the work directory {}: {}", dir.string(),
                      std::strerror(errno));
  }
  return dir;
}

std::unique_ptr<ManagerApi> make_manager(const DaemonConfig& config) {
  auto manager = Manager::create(config);
  if (!manager) {
    log::get("manager")->error("{}", manager.error().message);
    return nullptr;
  }
  return std::move(*manager);
}

} // namespace stasis::manager
