// Result<T> and Error: how every MigsbyU component reports an expected failure.
//
// An expected failure (not found, a conflict, invalid input, a lost connection, corrupt bytes) is a
// value, never an exception. Each layer translates the errors it receives once: the portal maps
// ErrorCode to an HTTP status in one place. Exceptions are reserved for broken invariants.
//
// An Error's message says what failed and with which input (table, LSN, field), so that a log
// line is enough to act on. Validation failures also carry one FieldError per offending field.
//
// Thread-safety: plain values; safe to move between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace migsbyu {

enum class ErrorCode {
  kInvalidArgument,   // malformed input (bad JSON, wrong type): HTTP 400
  kNotFound,          // HTTP 404
  kAlreadyExists,     // duplicate key: HTTP 409
  kConflict,          // the request contradicts the current state (a referenced row): HTTP 409
  kValidation,        // well-formed input that breaks a rule; see Error::fields(): HTTP 422
  kTooLarge,          // HTTP 413
  kUnauthenticated,   // no valid credentials: HTTP 401
  kPermissionDenied,  // valid credentials without the right: HTTP 403
  kTooManyRequests,   // a rate or concurrency limit: HTTP 429
  kUnavailable,       // a peer (PostgreSQL, Kafka) cannot be reached now; retrying may work: 503
  kCorruption,        // bytes that do not parse (a WAL message, a lake file)
  kCancelled,         // shutdown was requested
  kInternal,          // anything else
};

std::string_view ErrorCodeName(ErrorCode code);

struct FieldError {
  std::string field;
  std::string message;
  bool operator==(const FieldError&) const = default;
};

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  Error(ErrorCode code, std::string message, std::vector<FieldError> fields)
      : code_(code), message_(std::move(message)), fields_(std::move(fields)) {}

  static Error InvalidArgument(std::string m) {
    return {ErrorCode::kInvalidArgument, std::move(m)};
  }
  static Error NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
  static Error AlreadyExists(std::string m) { return {ErrorCode::kAlreadyExists, std::move(m)}; }
  static Error Conflict(std::string m) { return {ErrorCode::kConflict, std::move(m)}; }
  static Error Unauthenticated(std::string m) {
    return {ErrorCode::kUnauthenticated, std::move(m)};
  }
  static Error PermissionDenied(std::string m) {
    return {ErrorCode::kPermissionDenied, std::move(m)};
  }
  static Error TooManyRequests(std::string m) {
    return {ErrorCode::kTooManyRequests, std::move(m)};
  }
  static Error Unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
  static Error Corruption(std::string m) { return {ErrorCode::kCorruption, std::move(m)}; }
  static Error Cancelled(std::string m) { return {ErrorCode::kCancelled, std::move(m)}; }
  static Error Internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }
  static Error Validation(std::vector<FieldError> fields) {
    return {ErrorCode::kValidation, "validation failed", std::move(fields)};
  }

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::vector<FieldError>& fields() const { return fields_; }

  // "not_found: student 'X' not found": for logs.
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Error WithContext(std::string_view context) const;

 private:
  ErrorCode code_;
  std::string message_;
  std::vector<FieldError> fields_;
};

// Either a T or an Error. Access to the wrong alternative is a broken invariant (asserts).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    assert(!ok());
    return std::get<1>(v_);
  }
  Error&& error() && {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

// Status: a Result with no value.
struct Ok {};
using Status = Result<Ok>;
inline Status OkStatus() { return Ok{}; }

}  // namespace migsbyu

// Propagates an error from an expression yielding Result/Status: MIGSBYU_TRY(stream.Send(x));
#define MIGSBYU_TRY(expr)                                           \
  do {                                                              \
    auto migsbyu_try_ = (expr);                                     \
    if (!migsbyu_try_.ok()) return std::move(migsbyu_try_).error(); \
  } while (0)

#define MIGSBYU_CONCAT_INNER(a, b) a##b
#define MIGSBYU_CONCAT(a, b) MIGSBYU_CONCAT_INNER(a, b)
// Declares `lhs` from a Result's value or returns its error: MIGSBYU_ASSIGN(auto conn,
// Connect(url));
#define MIGSBYU_ASSIGN(lhs, expr) \
  MIGSBYU_ASSIGN_IMPL(MIGSBYU_CONCAT(migsbyu_result_, __LINE__), lhs, expr)
#define MIGSBYU_ASSIGN_IMPL(tmp, lhs, expr)     \
  auto tmp = (expr);                            \
  if (!tmp.ok()) return std::move(tmp).error(); \
  lhs = std::move(tmp).value()
