// Push and Pull runs (checkpoints to and from an OCI registry, remote/) and
// the replication a job's `replicate:` asks for after each checkpoint.
#include "manager/adhoc.hpp"
#include "manager/manager.hpp"
#include "manager/remote_options.hpp"
#include "remote/remote.hpp"
#include "util/log.hpp"
#include "util/small_file.hpp"

#include <unistd.h>

#include <fmt/format.h>

namespace stasis::manager {

namespace fs = std::filesystem;

namespace {

// The largest credentials or CA file a policy may name.
constexpr std::uintmax_t k_max_policy_file_bytes = 1 << 20;

Result<std::string> read_small_file(const std::string& path, const char* what) {
  return util::read_small_file(path, k_max_policy_file_bytes, what);
}

} // namespace

MResult<void> check_remote_options(const RemoteOptions& options) {
  if (options.username.size() > k_max_credential_chars ||
      options.password.size() > k_max_credential_chars) {
    return fail(ErrorCode::InvalidArgument,
                "the credentials are longer than {} characters", k_max_credential_chars);
  }
  if (options.ca_pem.size() > k_max_ca_pem_bytes) {
    return fail(ErrorCode::InvalidArgument,
                "the CA certificates are larger than {} bytes", k_max_ca_pem_bytes);
  }
  if (options.origin.size() > 32) {
    return fail(ErrorCode::InvalidArgument, "the origin is longer than 32 characters");
  }
  return {};
}

MResult<remote::Reference> parse_caller_reference(const std::string& text) {
  if (text.size() > k_max_reference_chars) {
    return fail(ErrorCode::InvalidArgument,
                "the registry reference is longer than {} "
                "characters",
                k_max_reference_chars);
  }
  auto ref = remote::parse_reference(text);
  if (!ref) {
    return fail(ErrorCode::InvalidArgument, "{}", ref.error().message);
  }
  return *ref;
}

remote::ClientOptions client_options(const RemoteOptions& options) {
  remote::ClientOptions client;
  if (!options.username.empty() || !options.password.empty()) {
    client.credentials = remote::Credentials{options.username, options.password};
  }
  client.ca_pem = options.ca_pem;
  client.plain_http = options.plain_http;
  return client;
}

MResult<std::string> Manager::push(const Caller& caller, const std::string& job,
                                   const std::string& checkpoint,
                                   const std::string& reference,
                                   const RemoteOptions& options) {
  STASIS_TRY(check_remote_options(options));
  auto ref = STASIS_TRY(parse_caller_reference(reference));
  // A checkpoint's images hold its tree's memory: only who root's policy
  // lets export them may send them to a registry (a user's own ad-hoc job
  // is hers).
  auto entry = STASIS_TRY(authorized_job(caller, job, Action::Export));
  const auto id = STASIS_TRY(existing_checkpoint(job, checkpoint));
  const std::string origin =
      options.origin.empty() ? remote_origin_of_this_host() : options.origin;
  return submit_push(entry, id, ref, client_options(options), origin, caller.uid,
                     std::nullopt);
}

MResult<std::string> Manager::pull(const Caller& caller, const std::string& reference,
                                   const std::string& job, const RemoteOptions& options) {
  STASIS_TRY(check_remote_options(options));
  auto ref = STASIS_TRY(parse_caller_reference(reference));
  if (ref.tag.empty()) {
    return fail(
        ErrorCode::InvalidArgument,
        "name the checkpoint to pull with a tag: {}:JOB-latest or {}:JOB-ORIGIN-ID "
        "(stasisctl remote-checkpoints {} lists them)",
        ref.to_string(), ref.to_string(), ref.to_string());
  }
  auto entry = STASIS_TRY(incoming_job(caller, job));
  RunRequest request;
  request.job = job;
  request.kind = RunKind::Pull;
  request.caller = caller.uid;
  request.work = [this, entry, ref, client = client_options(options),
                  caller](RunContext& context) {
    RunOutcome outcome;
    context.progress("pulling", 0, 0);
    // The quota's room when the pull runs, not when it was asked for: runs
    // queued behind each other must not each see the same room.
    const auto limits = incoming_limits(caller, entry.job->name);
    auto cancellable = client;
    cancellable.cancelled = [&context] { return context.stop_requested(); };
    cancellable.progress = [&context](std::uint64_t done, std::uint64_t total) {
      context.progress("pulling", done, total);
    };
    auto pulled =
        remote::pull_checkpoint(m_store, ref, entry.job->name, cancellable, limits);
    if (!pulled) {
      outcome.state = RunState::Failed;
      outcome.error = pulled.error().message;
      outcome.remote = ref.to_string();
      log::get("manager")->error("run {}: pull of {} failed: {}", context.run_id(),
                                 ref.to_string(), outcome.error);
      return outcome;
    }
    outcome.checkpoint = std::to_string(pulled->checkpoint.id);
    outcome.logical_bytes = pulled->checkpoint.logical_bytes;
    outcome.stored_bytes = pulled->bytes_downloaded;
    outcome.remote = ref.to_string();
    if (entry.adhoc) {
      {
        std::lock_guard lock(m_mutex);
        m_jobs.try_emplace(entry.job->name, entry);
      }
      // A user's job keeps at most max-checkpoints-per-user, pulls too.
      apply_retention(entry, context.run_id());
    }
    log::get("manager")->info("run {}: pulled {} into job {} as checkpoint {} ({} bytes "
                              "downloaded)",
                              context.run_id(), ref.to_string(), entry.job->name,
                              pulled->checkpoint.id, pulled->bytes_downloaded);
    emit(CheckpointsChangedEvent{entry.job->name});
    context.progress("done", 0, 0);
    return outcome;
  };
  return submit_incoming(std::move(request), entry);
}

MResult<std::string> Manager::submit_incoming(RunRequest request, const JobEntry& entry) {
  auto run = STASIS_TRY(m_queue->submit(std::move(request)));
  if (entry.adhoc) {
    std::lock_guard lock(m_mutex);
    m_jobs.try_emplace(entry.job->name, entry);
  }
  return run;
}

MResult<Manager::JobEntry> Manager::incoming_job(const Caller& caller,
                                                 const std::string& job) {
  const std::string own = fmt::format("{}{}", k_adhoc_job_prefix, caller.uid);
  if (!caller.is_root()) {
    // A checkpoint from elsewhere is restored with the rights its tree claims:
    // a user may bring one only into her own job, whose restores run as her.
    if (job != own) {
      return fail(ErrorCode::AccessDenied,
                  "uid {} may bring checkpoints only into her own job '{}', not '{}'",
                  caller.uid, own, quoted_name(job));
    }
  }
  if (auto uid = adhoc_uid(job)) {
    if (auto found = find_job(job); found && !found->adhoc) {
      return fail(ErrorCode::InvalidArgument, "'{}' is a policy job's name",
                  quoted_name(job));
    }
    return find_job(job).value_or(adhoc_job(*uid, {}));
  }
  return authorized_job(caller, job, Action::Checkpoint);
}

store::StoreLimits Manager::incoming_limits(const Caller& caller,
                                            const std::string& job) const {
  store::StoreLimits limits;
  if (!caller.is_root() && m_config.max_stored_bytes_per_user > 0) {
    auto usage = m_store.job_usage(job);
    const std::uint64_t stored = usage ? usage->stored_bytes : 0;
    const std::uint64_t quota = m_config.max_stored_bytes_per_user;
    limits.max_new_bytes = stored >= quota ? 0 : quota - stored;
  }
  return limits;
}

MResult<std::string> Manager::submit_push(const JobEntry& entry, std::uint64_t id,
                                          const remote::Reference& ref,
                                          const remote::ClientOptions& client,
                                          const std::string& origin, uid_t caller,
                                          std::optional<unsigned> attempt) {
  RunRequest request;
  request.job = entry.job->name;
  request.kind = RunKind::Push;
  request.caller = caller;
  request.work = [this, entry, id, ref, client, origin, attempt](RunContext& context) {
    return run_push(context, entry, id, ref, client, origin, attempt);
  };
  return m_queue->submit(std::move(request));
}

RunOutcome Manager::run_push(RunContext& context, const JobEntry& entry, std::uint64_t id,
                             const remote::Reference& ref,
                             const remote::ClientOptions& client,
                             const std::string& origin, std::optional<unsigned> attempt) {
  auto logger = log::get("manager");
  const auto& job = *entry.job;
  RunOutcome outcome;
  outcome.checkpoint = std::to_string(id);
  context.progress("pushing", 0, 0);
  auto cancellable = client;
  cancellable.cancelled = [&context] { return context.stop_requested(); };
  cancellable.progress = [&context](std::uint64_t done, std::uint64_t total) {
    context.progress("pushing", done, total);
  };
  auto pushed = remote::push_checkpoint(m_store, job.name, id, ref, cancellable, origin);
  if (pushed && pushes_container_image(job)) {
    context.progress("pushing podman's image", 0, 1);
    auto image = push_container_image(context, job, id, ref, cancellable, pushed->tags);
    if (image) {
      pushed->bytes_uploaded += image->bytes_uploaded;
      pushed->blobs_uploaded += image->blobs_uploaded;
    } else {
      pushed =
          make_error("the checkpoint is pushed, podman's checkpoint image is not: {}",
                     image.error().message);
    }
  }
  if (!pushed) {
    outcome.state = RunState::Failed;
    outcome.error = pushed.error().message;
    outcome.remote = ref.to_string();
    const auto& settings = job.replicate;
    if (attempt && *attempt < settings.retry_attempts && !context.stop_requested()) {
      const auto delay = settings.retry_delay * (1LL << std::min(*attempt, 20U));
      outcome.error +=
          fmt::format(" (retry {} of {} in {} s)", *attempt + 1, settings.retry_attempts,
                      std::chrono::duration_cast<std::chrono::seconds>(delay).count());
      m_retries.post(std::chrono::duration_cast<std::chrono::milliseconds>(delay),
                     [this, name = job.name, id, next = *attempt + 1] {
                       retry_replication(name, id, next);
                     });
    }
    logger->error("run {}: push of {} {} to {} failed: {}", context.run_id(), job.name,
                  id, ref.to_string(), outcome.error);
    return outcome;
  }
  if (auto summary = m_store.summary(job.name, id)) {
    outcome.logical_bytes = summary->logical_bytes;
  }
  outcome.stored_bytes = pushed->bytes_uploaded;
  outcome.remote = fmt::format("{}:{}@{}", ref.to_string(),
                               pushed->tags.empty() ? "" : pushed->tags.front(),
                               pushed->manifest_digest);
  logger->info("run {}: pushed {} {} to {} ({} blobs, {} bytes uploaded; {} blobs, {} "
               "bytes already there)",
               context.run_id(), job.name, id, outcome.remote, pushed->blobs_uploaded,
               pushed->bytes_uploaded, pushed->blobs_present, pushed->bytes_present);
  if (attempt) {
    apply_remote_retention(entry, ref, cancellable, origin, context.run_id());
  }
  context.progress("done", 0, 0);
  return outcome;
}

Result<remote::ClientOptions>
Manager::replication_client(const policy::Job& job, const remote::Reference& ref) const {
  const auto& settings = job.replicate;
  remote::ClientOptions client;
  client.plain_http = settings.plain_http;
  if (!settings.credentials.empty()) {
    auto text = STASIS_TRY(read_small_file(settings.credentials, "credentials file"));
    auto credentials = STASIS_TRY(remote::credentials_from_auth_json(text, ref.registry));
    if (!credentials) {
      return make_error("the credentials file {} has no entry for {}",
                        settings.credentials, ref.registry);
    }
    client.credentials = *credentials;
  }
  if (!settings.ca_file.empty()) {
    client.ca_pem = STASIS_TRY(read_small_file(settings.ca_file, "CA file"));
  }
  return client;
}

void Manager::replicate_after_checkpoint(const JobEntry& entry, std::uint64_t id,
                                         bool scheduled) {
  const auto& settings = entry.job->replicate;
  if (!settings.enabled() || (!scheduled && !settings.on_demand) ||
      id % settings.every != 0) {
    return;
  }
  retry_replication(entry.job->name, id, 0);
}

void Manager::retry_replication(const std::string& job, std::uint64_t id,
                                unsigned attempt) {
  auto logger = log::get("manager");
  // The job as the policy says now: a reload may have changed or removed it.
  auto entry = find_job(job);
  if (!entry || !entry->job->replicate.enabled()) {
    logger->info("push of {} {} dropped: the job no longer replicates", job, id);
    return;
  }
  auto ref = remote::parse_reference(entry->job->replicate.to);
  if (!ref) {
    logger->error("push of {} {}: {}", job, id, ref.error().message);
    return;
  }
  auto client = replication_client(*entry->job, *ref);
  if (!client) {
    // Recorded as a failed run, so that status and the history show it.
    RunRequest request;
    request.job = job;
    request.kind = RunKind::Push;
    request.work = [error = client.error().message, id,
                    to = ref->to_string()](RunContext&) {
      RunOutcome outcome{RunState::Failed, std::to_string(id), 0, error};
      outcome.remote = to;
      return outcome;
    };
    (void)m_queue->submit(std::move(request));
    return;
  }
  const auto& origin = entry->job->replicate.origin;
  auto run =
      submit_push(*entry, id, *ref, *client,
                  origin.empty() ? remote_origin_of_this_host() : origin, 0, attempt);
  if (!run) {
    logger->error("push of {} {} not queued: {}", job, id, run.error().message);
  }
}

void Manager::apply_remote_retention(const JobEntry& entry, const remote::Reference& ref,
                                     const remote::ClientOptions& client,
                                     const std::string& origin,
                                     const std::string& run_id) {
  auto logger = log::get("manager");
  const auto& job = *entry.job;
  if (job.replicate.retention.empty()) {
    return;
  }
  auto listed = remote::list_checkpoints(ref, client);
  if (!listed) {
    logger->error("run {}: remote retention of {}: {}", run_id, job.name,
                  listed.error().message);
    return;
  }
  std::vector<policy::RetentionItem> items;
  for (const auto& checkpoint : *listed) {
    if (checkpoint.job == job.name && checkpoint.origin == origin) {
      items.push_back(policy::RetentionItem{checkpoint.tag, checkpoint.created,
                                            checkpoint.logical_bytes, false, true});
    }
  }
  for (const auto& decision : policy::apply_retention(job.replicate.retention, items)) {
    if (decision.keep) {
      continue;
    }
    if (auto deleted = remote::delete_checkpoint(ref, decision.id, client); !deleted) {
      logger->error("run {}: remote retention could not delete {}:{}: {}", run_id,
                    ref.to_string(), decision.id, deleted.error().message);
    } else {
      logger->info("run {}: remote retention ({}) deleted {}:{}", run_id,
                   policy::describe(job.replicate.retention), ref.to_string(),
                   decision.id);
    }
  }
}

std::string remote_origin_of_this_host() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) {
    return "host";
  }
  std::string origin;
  for (const char* c = name; *c != '\0' && origin.size() < 32; ++c) {
    const bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                    (*c >= '0' && *c <= '9') || *c == '_' || *c == '.';
    origin += ok ? *c : '_';
  }
  return origin.empty() ? "host" : origin;
}

} // namespace stasis::manager
