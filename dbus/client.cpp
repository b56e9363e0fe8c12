#include "dbus/client.hpp"

#include "dbus/bus.hpp"
#include "dbus/client_proxy.hpp"
#include "dbus/errors.hpp"
#include "dbus/names.hpp"
#include "dbus/variant_maps.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <string_view>

namespace stasis::dbus {
namespace {

// Bus errors that mean "nobody is serving io.stasis.Stasis1 here".
constexpr std::array<std::string_view, 7> k_unreachable_names{
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.NoServer",
    "org.freedesktop.DBus.Error.NoReply",
    "org.freedesktop.DBus.Error.Disconnected",
    "org.freedesktop.DBus.Error.Spawn.ServiceNotFound",
    "org.freedesktop.DBus.Error.UnknownObject",
};

} // namespace

ClientError to_client_error(const sdbus::Error& error) {
  ClientError result{ClientErrorKind::Failed, error.getName(), error.getMessage()};
  if (const auto code = error_code(error.getName())) {
    switch (*code) {
    case manager::ErrorCode::NoSuchJob:
    case manager::ErrorCode::NoSuchCheckpoint:
    case manager::ErrorCode::NoSuchRun:
      result.kind = ClientErrorKind::NotFound;
      break;
    case manager::ErrorCode::AccessDenied:
      result.kind = ClientErrorKind::AccessDenied;
      break;
    case manager::ErrorCode::InvalidArgument:
      result.kind = ClientErrorKind::InvalidArgument;
      break;
    case manager::ErrorCode::InvalidPolicy:
    case manager::ErrorCode::Busy:
    case manager::ErrorCode::EngineFailed:
    case manager::ErrorCode::StoreFailed:
      break;
    }
    return result;
  }
  const std::string_view name = error.getName();
  for (const auto unreachable : k_unreachable_names) {
    if (name == unreachable) {
      result.kind = ClientErrorKind::Unreachable;
      result.message = fmt::format("stasisd is not reachable on the bus ({}): {}", name,
                                   error.getMessage());
      return result;
    }
  }
  if (name == "org.freedesktop.DBus.Error.AccessDenied") {
    result.kind = ClientErrorKind::AccessDenied;
  } else if (name == "org.freedesktop.DBus.Error.InvalidArgs") {
    result.kind = ClientErrorKind::InvalidArgument;
  }
  if (result.message.empty()) {
    result.message = error.what();
  }
  return result;
}

Client::Proxy::Proxy(sdbus::IConnection& connection, const manager::EventSink& sink)
    : ProxyInterfaces(connection, k_bus_name, k_object_path), m_connection(connection),
      m_sink(sink) {
  registerProxy();
}

Client::Proxy::~Proxy() {
  unregisterProxy();
}

void Client::Proxy::subscribe() {
  if (!m_owner_watch) {
    m_owner_watch = m_connection.addMatch(
        fmt::format("type='signal',sender='org.freedesktop.DBus',"
                    "path='/org/freedesktop/DBus',interface='org.freedesktop.DBus',"
                    "member='NameOwnerChanged',arg0='{}'",
                    k_bus_name),
        [this](sdbus::Message& message) { on_owner_changed(message); });
  }
  Subscribe();
  std::string owner;
  auto bus =
      sdbus::createProxy(m_connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
  bus->callMethod("GetNameOwner")
      .onInterface("org.freedesktop.DBus")
      .withArguments(std::string(k_bus_name))
      .storeResultsTo(owner);
  m_daemon = owner;
  m_subscribed = true;
}

void Client::Proxy::unsubscribe() {
  m_subscribed = false;
  Unsubscribe();
}

void Client::Proxy::on_owner_changed(sdbus::Message& message) {
  std::string name;
  std::string old_owner;
  std::string new_owner;
  try {
    message >> name >> old_owner >> new_owner;
  } catch (const sdbus::Error&) {
    return;
  }
  if (name != k_bus_name || new_owner.empty()) {
    return;
  }
  m_daemon = new_owner;
  if (m_subscribed) {
    try {
      Subscribe(); // the new stasisd knows nothing of the old one's subscribers
    } catch (const sdbus::Error&) {
      // Without it the client still polls GetRun; watch just stays quiet.
    }
  }
}

void Client::Proxy::deliver(const manager::Event& event) {
  if (!m_daemon.empty()) {
    const sdbus::Message* message = getProxy().getCurrentlyProcessedMessage();
    if (message == nullptr || message->getSender() != m_daemon) {
      return;
    }
  }
  if (m_sink) {
    m_sink(event);
  }
}

void Client::Proxy::onRunStarted(const std::string& run_id, const std::string& job,
                                 const std::string& kind) {
  deliver(manager::RunStartedEvent{
      run_id, job, run_kind_from(kind).value_or(manager::RunKind::Checkpoint)});
}

void Client::Proxy::onRunProgress(const std::string& run_id, const std::string& phase,
                                  const uint64_t& done, const uint64_t& total) {
  deliver(manager::RunProgressEvent{run_id, phase, done, total});
}

void Client::Proxy::onRunFinished(const std::string& run_id, const std::string& job,
                                  const std::string& kind, const std::string& result,
                                  const std::string& checkpoint,
                                  const std::string& error) {
  deliver(manager::RunFinishedEvent{
      run_id, job, run_kind_from(kind).value_or(manager::RunKind::Checkpoint),
      run_state_from(result).value_or(manager::RunState::Failed), checkpoint, error});
}

void Client::Proxy::onCheckpointsChanged(const std::string& job) {
  deliver(manager::CheckpointsChangedEvent{job});
}

void Client::Proxy::onJobsChanged() {
  deliver(manager::JobsChangedEvent{});
}

CResult<std::unique_ptr<Client>> Client::connect(const std::string& bus) {
  auto connection = connect_bus(bus);
  if (!connection) {
    return Unexpected(ClientError{ClientErrorKind::Unreachable, "",
                                  std::move(connection).error().message});
  }
  try {
    return std::unique_ptr<Client>(new Client(std::move(connection).value(), bus));
  } catch (const sdbus::Error& error) {
    return Unexpected(to_client_error(error));
  }
}

Client::Client(std::unique_ptr<sdbus::IConnection> connection, std::string bus)
    : m_bus(std::move(bus)), m_connection(std::move(connection)),
      m_proxy(std::make_unique<Proxy>(*m_connection, m_sink)) {}

Client::~Client() = default;

void Client::on_event(manager::EventSink sink) {
  m_sink = std::move(sink);
}

CResult<bool> Client::wait_events(const std::function<bool()>& done,
                                  std::optional<std::chrono::milliseconds> timeout) {
  using Clock = std::chrono::steady_clock;
  const bool has_deadline = timeout.has_value();
  const auto deadline = Clock::now() + timeout.value_or(std::chrono::milliseconds(0));
  try {
    while (true) {
      while (m_connection->processPendingRequest()) {
      }
      if (done()) {
        return true;
      }
      const auto poll_data = m_connection->getEventLoopPollData();
      int wait_ms = poll_data.getPollTimeout();
      if (has_deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - Clock::now());
        if (left.count() <= 0) {
          return false;
        }
        wait_ms = wait_ms < 0 ? static_cast<int>(left.count())
                              : std::min(wait_ms, static_cast<int>(left.count()));
      }
      pollfd fd{poll_data.fd, poll_data.events, 0};
      if (::poll(&fd, 1, wait_ms) < 0 && errno != EINTR) {
        return Unexpected(ClientError{
            ClientErrorKind::Failed, "",
            fmt::format("poll() on the bus failed: {}", std::strerror(errno))});
      }
    }
  } catch (const sdbus::Error& error) {
    auto failure = to_client_error(error);
    failure.kind = ClientErrorKind::Unreachable;
    failure.message =
        fmt::format("lost the connection to the {} bus: {}", m_bus, failure.message);
    return Unexpected(std::move(failure));
  }
}

} // namespace stasis::dbus
