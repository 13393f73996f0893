// Import of vendor port-matrix tables (docs/import.md): the text layout of a
// vendor document (tab-separated rows, page footers, repeated headers, a NOTES
// list), CSV as a spreadsheet exports it, and Markdown tables.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "portmatrix/diag.hpp"
#include "portmatrix/model.hpp"

namespace portmatrix {

// The layout of an input file; automatic looks at the content (and the file name).
enum class ImportFormat { automatic, text, csv, markdown };
std::string_view to_string(ImportFormat f);                            // "auto", "text", "csv", "markdown"
std::optional<ImportFormat> parse_import_format(std::string_view s);  // the inverse of to_string
// Guesses the layout of text (never returns automatic); nullopt when nothing fits.
std::optional<ImportFormat> detect_import_format(std::string_view text, std::string_view file);

// One entry of the system-name normalisation table: a name as vendors write it
// and the system it stands for (matched case-insensitively, whitespace folded).
struct SystemAlias {
  std::string alias;      // e.g. "SNMP SAL Gateway"
  std::string canonical;  // e.g. "SAL Gateway"
};
// The built-in table (docs/import.md lists it); canonical names are known systems too.
const std::vector<SystemAlias>& builtin_system_aliases();

struct ImportOptions {
  std::string name;                  // matrix name; default: derived from the file name
  std::string title;                 // matrix title; default: the document's first title heading
  std::vector<SystemAlias> aliases;  // added to (and taking precedence over) the built-in table
  bool strict = false;               // warnings become errors, so no matrix is returned
};

// Reads a vendor table into a Matrix. Every imported flow keeps its source line
// in Flow::origin; a cell that cannot be understood is a diagnostic with
// file:line:column. The value is set only when there are no errors, and then it
// passes check_matrix.
Parsed<Matrix> import_table(std::string_view text, std::string_view file, ImportFormat format = ImportFormat::automatic,
                            const ImportOptions& options = {});

}  // namespace portmatrix
