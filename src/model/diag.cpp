#include "portmatrix/diag.hpp"

#include <fmt/format.h>

#include "portmatrix/text.hpp"

namespace portmatrix {

std::string_view to_string(Severity s) {
  switch (s) {
    case Severity::error: return "error";
    case Severity::warning: return "warning";
    case Severity::note: return "note";
  }
  return "error";
}

// File names and messages can quote input text: it is shown through
// text::visible, so a line break or a terminal control in it can neither forge
// a diagnostic line nor hide one.
std::string Diagnostic::format() const {
  std::string out;
  if (!loc.file.empty()) {
    out += text::visible(loc.file);
    if (loc.line > 0) {
      out += fmt::format(":{}", loc.line);
      if (loc.column > 0) out += fmt::format(":{}", loc.column);
    }
    out += ": ";
  }
  out += fmt::format("{}: {}", to_string(severity), text::visible(message));
  return out;
}

void Diagnostics::error(SourceLoc loc, std::string message) {
  items_.push_back({Severity::error, std::move(loc), std::move(message), {}});
}
void Diagnostics::warning(SourceLoc loc, std::string message) {
  items_.push_back({Severity::warning, std::move(loc), std::move(message), {}});
}
void Diagnostics::note(SourceLoc loc, std::string message) {
  items_.push_back({Severity::note, std::move(loc), std::move(message), {}});
}
void Diagnostics::append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}
bool Diagnostics::has_errors() const { return error_count() > 0; }
std::size_t Diagnostics::error_count() const {
  std::size_t n = 0;
  for (const auto& d : items_) n += d.severity == Severity::error;
  return n;
}
void Diagnostics::promote_warnings() {
  for (auto& d : items_)
    if (d.severity == Severity::warning) d.severity = Severity::error;
}

void assert_fail(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "portmatrix: internal error at %s:%d: %s (%s)\n", file, line, msg, expr);
  std::abort();
}

}  // namespace portmatrix
