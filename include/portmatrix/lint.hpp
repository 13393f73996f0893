// Lint: checks a matrix for mistakes and for things worth a second look.
#pragma once
#include <string>
#include <vector>

#include "portmatrix/diag.hpp"
#include "portmatrix/model.hpp"

namespace portmatrix {

struct LintOptions {
  std::uint32_t wide_range = 1024;  // report port sets larger than this many ports
  bool services_db = true;          // compare with the system's services database (/etc/services)
};

// One finding. code is stable for scripts: port-range, reversed-range, unknown-protocol,
// protocol-unknown, duplicate-row, overlapping-rows, missing-note, unused-note,
// well-known-source-port, wide-range, iana-protocol, iana-name.
struct LintFinding {
  std::string code;
  Severity severity = Severity::warning;
  SourceLoc loc;
  std::string row;  // flow id, empty for matrix-wide findings
  std::string message;
};

// Checks a parsed matrix.
std::vector<LintFinding> lint_matrix(const Matrix& m, const LintOptions& options = {});

struct LintResult {
  Diagnostics errors;                 // the file could not be read as a matrix at all
  std::vector<LintFinding> findings;  // value problems found while reading, then lint_matrix's
};
// Loads a matrix leniently (bundled name or path) and lints it.
LintResult lint_source(std::string_view name_or_path, const LintOptions& options = {});

std::string lint_to_json(const std::vector<LintFinding>& findings);

}  // namespace portmatrix
