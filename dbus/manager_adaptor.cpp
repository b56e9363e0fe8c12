#include "dbus/manager_adaptor.hpp"

#include "dbus/errors.hpp"
#include "dbus/names.hpp"
#include "util/log.hpp"

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
  // Watch for closed connections before anyone can subscribe: the bus sends a
  // connection's NameOwnerChanged after every message of that connection, so
  // no subscriber can leave unnoticed. Only releases (new owner "") matter.
  m_name_watch = connection.addMatch(
      "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
      "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg2=''",
      [this](sdbus::Message& message) { on_name_owner_changed(message); });
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

std::string ManagerAdaptor::sender() const {
  const sdbus::Message* message = getObject().getCurrentlyProcessedMessage();
  if (message == nullptr) {
    throw_error(manager::ErrorCode::AccessDenied, "cannot tell who is calling");
  }
  return message->getSender();
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

} // namespace stasis::dbus
