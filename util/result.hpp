// Expected-style results for fallible operations in library code.
//
// Library code returns Result<T> (or Result<T, E> with a richer error type)
// instead of throwing; exceptions are reserved for the D-Bus boundary and
// main(). STASIS_TRY unwraps a result or returns its error from the caller.
#pragma once

#include <cassert>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace stasis {

// The default error: a sentence a user can act on.
struct Error {
  std::string message;
};

// Wraps an error value so that it converts into any Result<T, E>.
template <typename E>
class Unexpected {
public:
  explicit Unexpected(E error) : m_error(std::move(error)) {}
  E& value() & { return m_error; }
  E&& value() && { return std::move(m_error); }

private:
  E m_error;
};

// Builds an Unexpected<Error> from a format string.
template <typename... Args>
Unexpected<Error> make_error(fmt::format_string<Args...> format, Args&&... args) {
  return Unexpected<Error>(Error{fmt::format(format, std::forward<Args>(args)...)});
}

// Either a value of T or an error of E.
template <typename T, typename E = Error>
class [[nodiscard]] Result {
public:
  using value_type = T;
  using error_type = E;

  Result(T value) : m_data(std::in_place_index<0>, std::move(value)) {}
  template <typename G, typename = std::enable_if_t<std::is_convertible_v<G, E>>>
  Result(Unexpected<G> error) : m_data(std::in_place_index<1>, std::move(error).value()) {}

  bool has_value() const { return m_data.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(m_data); }
  const T& value() const& { assert(has_value()); return std::get<0>(m_data); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(m_data)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  E& error() & { assert(!has_value()); return std::get<1>(m_data); }
  const E& error() const& { assert(!has_value()); return std::get<1>(m_data); }
  E&& error() && { assert(!has_value()); return std::get<1>(std::move(m_data)); }

  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

private:
  std::variant<T, E> m_data;
};

// A result with no value: success or an error.
template <typename E>
class [[nodiscard]] Result<void, E> {
public:
  using value_type = void;
  using error_type = E;

  Result() = default;
  template <typename G, typename = std::enable_if_t<std::is_convertible_v<G, E>>>
  Result(Unexpected<G> error) : m_error(std::move(error).value()), m_failed(true) {}

  bool has_value() const { return !m_failed; }
  explicit operator bool() const { return has_value(); }
  void value() const { assert(has_value()); }

  E& error() & { assert(m_failed); return m_error; }
  const E& error() const& { assert(m_failed); return m_error; }
  E&& error() && { assert(m_failed); return std::move(m_error); }

private:
  E m_error{};
  bool m_failed = false;
};

// Success value for Result<void, E>.
inline Result<void> ok() { return {}; }

} // namespace stasis

// Evaluates a Result expression; on error returns the error from the enclosing
// function, otherwise yields the value (GNU statement expression).
#define STASIS_TRY(expr)                                                       \
  ({                                                                           \
    auto&& stasis_try_result_ = (expr);                                        \
    if (!stasis_try_result_) {                                                 \
      return ::stasis::Unexpected(std::move(stasis_try_result_).error());      \
    }                                                                          \
    std::move(stasis_try_result_).value();                                     \
  })
