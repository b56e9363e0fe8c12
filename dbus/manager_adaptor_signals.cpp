// io.stasis.Stasis1.Manager: Subscribe/Unsubscribe and the signals.
//
// Signals about runs and checkpoints name jobs, and carry errors and paths:
// they are never broadcast. Each goes, addressed to one connection (a unicast
// signal, as systemd's Manager.Subscribe does), to every subscriber that the
// manager says may see it. JobsChanged names nothing and is broadcast.
#include "dbus/manager_adaptor.hpp"
#include "dbus/names.hpp"
#include "util/log.hpp"

#include <type_traits>

namespace stasis::dbus {

void ManagerAdaptor::Subscribe() {
  const auto who = caller();
  const auto name = sender();
  value_or_throw(m_subscribers.add(name, who));
  log::get("dbus")->debug("{} (uid {}) subscribed to the signals", name, who.uid);
}

void ManagerAdaptor::Unsubscribe() {
  const auto name = sender();
  if (m_subscribers.remove(name)) {
    log::get("dbus")->debug("{} unsubscribed from the signals", name);
  }
}

void ManagerAdaptor::on_name_owner_changed(sdbus::Message& message) {
  std::string name;
  std::string old_owner;
  std::string new_owner;
  try {
    message >> name >> old_owner >> new_owner;
  } catch (const sdbus::Error& error) {
    log::get("dbus")->warn("cannot read NameOwnerChanged: {}", error.getMessage());
    return;
  }
  if (new_owner.empty() && m_subscribers.remove(name)) {
    log::get("dbus")->debug("{} left the bus; its subscription ended", name);
  }
}

void ManagerAdaptor::emit(const manager::Event& event) {
  if (std::holds_alternative<manager::JobsChangedEvent>(event)) {
    emitJobsChanged();
    return;
  }
  for (const auto& [name, who] : m_subscribers.all()) {
    if (!m_manager.may_see(who, event)) {
      continue;
    }
    try {
      send_to(name, event);
    } catch (const sdbus::Error& error) {
      log::get("dbus")->warn("cannot send a signal to {}: {}", name, error.getMessage());
    }
  }
}

void ManagerAdaptor::send_to(const std::string& destination,
                             const manager::Event& event) {
  auto& object = getObject();
  auto signal = std::visit(
      [&object](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, manager::RunStartedEvent>) {
          auto message = object.createSignal(k_interface, "RunStarted");
          message << e.run << e.job << manager::to_string(e.kind);
          return message;
        } else if constexpr (std::is_same_v<E, manager::RunProgressEvent>) {
          auto message = object.createSignal(k_interface, "RunProgress");
          message << e.run << e.phase << e.done << e.total;
          return message;
        } else if constexpr (std::is_same_v<E, manager::RunFinishedEvent>) {
          auto message = object.createSignal(k_interface, "RunFinished");
          message << e.run << e.job << manager::to_string(e.kind)
                  << manager::to_string(e.result) << e.checkpoint << e.error;
          return message;
        } else if constexpr (std::is_same_v<E, manager::CheckpointsChangedEvent>) {
          auto message = object.createSignal(k_interface, "CheckpointsChanged");
          message << e.job;
          return message;
        } else {
          static_assert(std::is_same_v<E, manager::JobsChangedEvent>);
          return object.createSignal(k_interface, "JobsChanged");
        }
      },
      event);
  signal.setDestination(destination);
  object.emitSignal(signal);
}

} // namespace stasis::dbus
