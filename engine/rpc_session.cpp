#include "engine/rpc_session.hpp"

#include "util/log.hpp"

#include <exception>
#include <optional>

#include <fmt/format.h>

namespace stasis::engine {
namespace {

// How long a cancelled or timed-out dump may take to reach its next safe
// point (a notification we can refuse) before its worker is killed anyway.
constexpr auto k_cancel_grace = std::chrono::minutes(5);

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
  // A dump is not killed while CRIU may hold the tree seized: its parasite
  // would be left inside the target, which then dies (SIGTRAP/SIGSEGV). Once
  // we answered a dump's first notification (pre-dump: CRIU seizes right
  // after it), a cancel or timeout waits for the next notification, refuses
  // it, and CRIU rolls back and resumes the tree itself.
  const bool is_dump =
      request.type() == wire::REQ_DUMP || request.type() == wire::REQ_PRE_DUMP;
  bool tree_may_be_seized = false;
  std::optional<TransportError::Kind> stopping; // why, once we stop at a safe point
  Deadline grace = Deadline::max();
  auto start_stopping = [&](TransportError::Kind kind) {
    stopping = kind;
    grace = std::chrono::steady_clock::now() + k_cancel_grace;
    log->info("{}: {}; waiting for CRIU's next notification to stop it safely", what,
              kind == TransportError::Kind::Cancelled ? "cancelled" : "timed out");
  };
  for (;;) {
    auto message = stopping ? transport.receive(grace, std::stop_token{})
                            : transport.receive(deadline, control.stop);
    if (!message) {
      const auto kind = message.error().kind;
      const bool stop = kind == TransportError::Kind::Cancelled ||
                        kind == TransportError::Kind::TimedOut;
      if (stop && !stopping && is_dump && tree_may_be_seized) {
        start_stopping(kind);
        continue;
      }
      if (stopping && kind == TransportError::Kind::TimedOut) {
        auto error = from_transport({*stopping, ""}, control, what);
        error.reason += fmt::format(
            "; CRIU reached no safe point to stop within {} s, so it was killed: the "
            "target may be left stopped or damaged",
            std::chrono::duration_cast<std::chrono::seconds>(k_cancel_grace).count());
        return fail(std::move(error));
      }
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
      NotifyAnswer answer =
          stopping ? NotifyAnswer::fail("stopping") : ask(notify, event);
      // The deadline and cancellation also cover the time our callback took:
      // do not let CRIU go on (and, after post-dump, kill the tree) when the
      // caller has given up meanwhile.
      if (!stopping) {
        std::optional<TransportError::Kind> now;
        if (control.stop.stop_requested()) {
          now = TransportError::Kind::Cancelled;
        } else if (std::chrono::steady_clock::now() >= deadline) {
          now = TransportError::Kind::TimedOut;
        }
        if (now && !is_dump) {
          return fail(from_transport({*now, ""}, control, what));
        }
        if (now) {
          start_stopping(*now);
          answer = NotifyAnswer::fail("stopping");
        }
      }
      log->debug("notify {} (pid {}) answered {}", event.script, event.pid,
                 answer.success ? "success" : "failure: " + answer.reason);
      if (!answer.success && refusal.empty() && !stopping) {
        refusal = fmt::format("the {} callback refused{}{}", event.script,
                              answer.reason.empty() ? "" : ": ", answer.reason);
      }
      tree_may_be_seized = tree_may_be_seized || (is_dump && answer.success);
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
    if (!response.success() && stopping) {
      auto error = from_transport({*stopping, ""}, control, what);
      error.reason = fmt::format(
          "{} at a safe point: CRIU rolled back and the tree runs on",
          *stopping == TransportError::Kind::Cancelled ? "cancelled" : "timed out");
      error.cr_errno = response.cr_errno();
      error.cr_errmsg = response.cr_errmsg();
      return Unexpected(std::move(error));
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
