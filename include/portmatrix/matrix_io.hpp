// Reading and writing matrices: the native YAML format (docs/matrix-format.md),
// JSON (docs/json.md), and the bundled matrices compiled into the binary.
#pragma once
#include <string>
#include <string_view>

#include "portmatrix/diag.hpp"
#include "portmatrix/model.hpp"

namespace portmatrix {

struct MatrixReadOptions {
  // Value problems that lint reports as findings (ports outside 0-65535, reversed
  // ranges, unknown protocol names) become warnings and the value is left out,
  // instead of errors. Structural problems stay errors.
  bool lenient_values = false;
};

// Parses the native YAML format. Every problem is reported with file:line:column.
Parsed<Matrix> read_matrix_yaml(std::string_view text, std::string_view file,
                                const MatrixReadOptions& options = {});
// Writes the native YAML format; the output is deterministic and reads back equal.
std::string write_matrix_yaml(const Matrix& m);
// The JSON shape documented in docs/json.md.
std::string write_matrix_json(const Matrix& m);

// Checks references between parts of a matrix (systems named by rows exist,
// flow ids unique and well formed) and adds diagnostics.
void check_matrix(const Matrix& m, Diagnostics& diags);
// Whether id is a valid flow id: [a-z0-9][a-z0-9._-]* (check_matrix's rule).
bool is_valid_flow_id(std::string_view id);

// The names of the bundled matrices ("cms-r20", ...).
std::vector<std::string> bundled_matrix_names();
// Loads a bundled matrix by name, or a YAML file by path (a name wins only when
// no such file exists and it contains no '/').
Parsed<Matrix> load_matrix(std::string_view name_or_path, const MatrixReadOptions& options = {});

}  // namespace portmatrix
