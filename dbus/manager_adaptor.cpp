#include "dbus/manager_adaptor.hpp"

#include "dbus/errors.hpp"
#include "dbus/names.hpp"
#include "util/log.hpp"

#include <type_traits>

namespace stasis::dbus {

Result<std::unique_ptr<ManagerAdaptor>>
ManagerAdaptor::create(sdbus::IConnection& connection, manager::ManagerApi& manager) {
  auto events = STASIS_TRY(EventQueue::create());
  try {
    return std::unique_ptr<ManagerAdaptor>(
        new ManagerAdaptor(connection, manager, std::move(events)));
  } catch (const sdbus::Error& error) {
    return make_error("cannot export {} on the bus: {}", k_object_path,
                      error.getMessage());
  }
}

ManagerAdaptor::ManagerAdaptor(sdbus::IConnection& connection,
                               manager::ManagerApi& manager,
                               std::shared_ptr<EventQueue> events)
    : AdaptorInterfaces(connection, k_object_path), m_manager(manager),
      m_events(std::move(events)) {
  registerAdaptor();
  // The sink holds the queue, not the adaptor: a late event from a worker
  // thread after the adaptor is gone lands in a queue nobody reads.
  m_manager.set_event_sink(
      [queue = m_events](const manager::Event& event) { queue->push(event); });
}

ManagerAdaptor::~ManagerAdaptor() {
  m_manager.set_event_sink({});
  unregisterAdaptor();
}

manager::Caller ManagerAdaptor::caller() const {
  const sdbus::Message* message = getObject().getCurrentlyProcessedMessage();
  if (message == nullptr) {
    throw_error(manager::ErrorCode::AccessDenied, "cannot tell who is calling");
  }
  manager::Caller who;
  // The uid decides every right: without it the call is refused, never run
  // as some default user. sd-bus asks the bus daemon (not /proc) for it.
  try {
    who.uid = message->getCredsUid();
  } catch (const sdbus::Error& error) {
    throw_error(manager::ErrorCode::AccessDenied,
                "cannot determine the caller's uid from the bus: " + error.getMessage());
  }
  // pid and gid only inform (logs, ownership of ad-hoc checkpoints).
  try {
    who.pid = message->getCredsPid();
    who.gid = message->getCredsGid();
  } catch (const sdbus::Error& error) {
    log::get("dbus")->debug("caller uid {}: no pid/gid from the bus: {}", who.uid,
                            error.getMessage());
  }
  return who;
}

void ManagerAdaptor::emit_pending() {
  for (const auto& event : m_events->take_all()) {
    try {
      emit(event);
    } catch (const sdbus::Error& error) {
      log::get("dbus")->warn("cannot emit a signal: {}", error.getMessage());
    }
  }
}

void ManagerAdaptor::emit(const manager::Event& event) {
  std::visit(
      [this](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, manager::RunStartedEvent>) {
          emitRunStarted(e.run, e.job, manager::to_string(e.kind));
        } else if constexpr (std::is_same_v<E, manager::RunProgressEvent>) {
          emitRunProgress(e.run, e.phase, e.done, e.total);
        } else if constexpr (std::is_same_v<E, manager::RunFinishedEvent>) {
          emitRunFinished(e.run, e.job, manager::to_string(e.kind),
                          manager::to_string(e.result), e.checkpoint, e.error);
        } else if constexpr (std::is_same_v<E, manager::CheckpointsChangedEvent>) {
          emitCheckpointsChanged(e.job);
        } else {
          static_assert(std::is_same_v<E, manager::JobsChangedEvent>);
          emitJobsChanged();
        }
      },
      event);
}

} // namespace stasis::dbus
