#include "engine/rpc_session.hpp"

#include "util/log.hpp"

#include <exception>

#include <fmt/format.h>

namespace stasis::engine {
namespace {

Deadline deadline_of(const RunControl& control) {
  if (control.timeout.count() <= 0) {
    return Deadline::max();
  }
  return std::chrono::steady_clock::now() + control.timeout;
}

EngineError from_transport(const TransportError& error, const RunControl& control,
                           std::string what) {
  switch (error.kind) {
  case TransportError::Kind::TimedOut:
    return {ErrorKind::TimedOut, std::move(what),
            fmt::format("timed out after {} ms; the CRIU worker was killed",
                        control.timeout.count())};
  case TransportError::Kind::Cancelled:
    return {ErrorKind::Cancelled, std::move(what),
            "cancelled; the CRIU worker was killed"};
  case TransportError::Kind::WorkerGone:
    return {ErrorKind::WorkerDied, std::move(what), error.message};
  case TransportError::Kind::System:
    break;
  }
  return {ErrorKind::System, std::move(what), error.message};
}

NotifyAnswer ask(const NotifyHandler& notify, const NotifyEvent& event) {
  if (!notify) {
    return NotifyAnswer::ok();
  }
  try {
    return notify(event);
  } catch (const std::exception& e) {
    return NotifyAnswer::fail(fmt::format("the callback threw: {}", e.what()));
  } catch (...) {
    return NotifyAnswer::fail("the callback threw");
  }
}

} // namespace

std::string request_type_name(int type) {
  if (wire::RequestType_IsValid(type)) {
    auto name = wire::RequestType_Name(static_cast<wire::RequestType>(type));
    return name.starts_with("REQ_") ? name.substr(4) : name;
  }
  return fmt::format("unknown type {}", type);
}

Result<wire::Response, EngineError>
exchange(CriuTransport& transport, const wire::Request& request,
         const NotifyHandler& notify, const RunControl& control, std::string what) {
  auto log = stasis::log::get("engine");
  const Deadline deadline = deadline_of(control);
  const std::string expected = request_type_name(request.type());
  // Failures after the request went out kill the worker: it may still hold
  // the target frozen, and nobody else will read from it.
  auto fail = [&](EngineError error) -> Result<wire::Response, EngineError> {
    transport.kill_worker();
    return Unexpected(std::move(error));
  };

  log->debug("-> {} request to CRIU worker {}", expected, transport.worker_pid());
  if (auto sent = transport.send(request.SerializeAsString()); !sent) {
    return fail(from_transport(sent.error(), control, what));
  }
  std::string refusal; // set once our callback refused a notification
  for (;;) {
    auto message = transport.receive(deadline, control.stop);
    if (!message) {
      return fail(from_transport(message.error(), control, what));
    }
    wire::Response response;
    if (!response.ParseFromString(message->bytes)) {
      return fail({ErrorKind::Protocol, what,
                   fmt::format("the CRIU worker sent an unreadable message ({} bytes)",
                               message->bytes.size())});
    }
    log->debug("<- {} reply (success={})", request_type_name(response.type()),
               response.success());
    if (response.type() == wire::REQ_NOTIFY) {
      NotifyEvent event{response.notify().script(), response.notify().pid(),
                        message->fd ? message->fd.get() : -1};
      const NotifyAnswer answer = ask(notify, event);
      // The deadline and cancellation also cover the time our callback took:
      // do not let CRIU go on (and, after post-dump, kill the tree) when the
      // caller has given up meanwhile.
      if (control.stop.stop_requested()) {
        return fail(from_transport({TransportError::Kind::Cancelled, "cancelled"},
                                   control, what));
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return fail(
            from_transport({TransportError::Kind::TimedOut, "timed out"}, control, what));
      }
      log->debug("notify {} (pid {}) answered {}", event.script, event.pid,
                 answer.success ? "success" : "failure: " + answer.reason);
      if (!answer.success && refusal.empty()) {
        refusal = fmt::format("the {} callback refused{}{}", event.script,
                              answer.reason.empty() ? "" : ": ", answer.reason);
      }
      wire::Request ack;
      ack.set_type(wire::REQ_NOTIFY);
      ack.set_notify_success(answer.success);
      log->debug("-> NOTIFY acknowledgement (success={})", answer.success);
      if (auto sent = transport.send(ack.SerializeAsString()); !sent) {
        return fail(from_transport(sent.error(), control, what));
      }
      continue;
    }
    if (response.type() != request.type()) {
      return fail({ErrorKind::Protocol, what,
                   fmt::format("the CRIU worker answered a {} request with a {} reply",
                               expected, request_type_name(response.type()))});
    }
    if (!response.success()) {
      EngineError error(refusal.empty() ? ErrorKind::Criu : ErrorKind::NotifyRefused,
                        what, refusal);
      error.cr_errno = response.cr_errno();
      error.cr_errmsg = response.cr_errmsg();
      return Unexpected(std::move(error));
    }
    if (!refusal.empty()) {
      log->warn("{}, but CRIU completed the {} anyway", refusal, expected);
    }
    return response;
  }
}

} // namespace stasis::engine
