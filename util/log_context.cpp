#include "util/log_context.hpp"

#include <utility>

namespace stasis::log {
namespace {

thread_local Context t_context;

} // namespace

const Context& current_context() {
  return t_context;
}

ContextScope::ContextScope(std::string job, std::string run, std::string checkpoint)
    : m_previous(std::exchange(
          t_context, Context{std::move(job), std::move(run), std::move(checkpoint)})) {}

ContextScope::~ContextScope() {
  t_context = std::move(m_previous);
}

void set_context_checkpoint(std::string checkpoint) {
  t_context.checkpoint = std::move(checkpoint);
}

} // namespace stasis::log
