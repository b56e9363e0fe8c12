// What a thread is logging about (a job, a run, a checkpoint): the journald
// sink adds it to every entry as STASIS_JOB, STASIS_RUN and STASIS_CHECKPOINT
// fields, so that `journalctl STASIS_JOB=web` shows one job's story.
#pragma once

#include <string>

namespace stasis::log {

// The fields of the current thread's context; empty = not set.
struct Context {
  std::string job;
  std::string run;
  std::string checkpoint;
};

// The calling thread's context.
const Context& current_context();

// Sets the calling thread's context for its lifetime and puts the previous
// one back at the end (a run's worker thread holds one while the run runs).
class ContextScope {
public:
  ContextScope(std::string job, std::string run, std::string checkpoint = "");
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

private:
  Context m_previous;
};

// Sets the checkpoint of the calling thread's context (known once a run has
// stored its checkpoint, or when a restore starts).
void set_context_checkpoint(std::string checkpoint);

} // namespace stasis::log
