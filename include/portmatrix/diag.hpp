// Diagnostics for user input, a small error type for library failures, and an
// internal assertion macro. Parsers collect every diagnostic before failing.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace portmatrix {

// A position in an input file. Lines and columns are 1-based; 0 means unknown.
struct SourceLoc {
  std::string file;
  int line = 0;
  int column = 0;
  friend bool operator==(const SourceLoc&, const SourceLoc&) = default;
};

enum class Severity { error, warning, note };
std::string_view to_string(Severity s);

struct Diagnostic {
  Severity severity = Severity::error;
  SourceLoc loc;
  std::string message;
  std::string code;  // optional machine-readable kind, e.g. "port-range" (used by lint)
  // "FILE:LINE:COL: error: message" (parts that are unknown are left out).
  std::string format() const;
};

// An ordered collection of diagnostics.
class Diagnostics {
 public:
  void error(SourceLoc loc, std::string message);
  void warning(SourceLoc loc, std::string message);
  void note(SourceLoc loc, std::string message);
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
  void append(const Diagnostics& other);
  bool has_errors() const;
  std::size_t error_count() const;
  bool empty() const { return items_.empty(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  // Turns every warning into an error (for --strict).
  void promote_warnings();

 private:
  std::vector<Diagnostic> items_;
};

// The result of parsing user input: a value when there were no errors, plus all diagnostics.
template <class T>
struct Parsed {
  std::optional<T> value;
  Diagnostics diags;
  explicit operator bool() const { return value.has_value(); }
};

// A library failure that is not about the user's input text.
struct Error {
  enum class Kind {
    io,           // reading or writing a file or socket failed
    input,        // the user's input is invalid (see the message)
    kernel,       // the kernel refused an operation (netlink, nftables)
    permission,   // the operation needs privileges the process lacks
    unsupported,  // the operation cannot be done on this system or target
    state,        // the operation does not fit the current state
    internal,     // a bug in portmatrix
  };
  Kind kind = Kind::internal;
  std::string message;
};

// A value or an Error.
template <class T>
class Expected {
 public:
  Expected(T v) : v_(std::move(v)) {}
  Expected(Error e) : v_(std::move(e)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Success or an Error.
using Status = std::optional<Error>;

[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const char* msg);

}  // namespace portmatrix

// Checks an internal invariant in every build type; a failure is a portmatrix bug.
#define PM_ASSERT(expr, msg) \
  ((expr) ? (void)0 : ::portmatrix::assert_fail(#expr, __FILE__, __LINE__, (msg)))
