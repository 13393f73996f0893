// The importer's internal shape of an input file. Each layout reader (text, CSV,
// Markdown) turns its bytes into a Document of records, and one shared
// interpreter (tables.cpp) finds the tables and notes in it, so the three
// layouts cannot drift apart in what they understand.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "portmatrix/diag.hpp"
#include "portmatrix/import.hpp"
#include "portmatrix/model.hpp"

namespace portmatrix::importer {

// One cell, its text unescaped; loc points at the first byte of the content.
struct Cell {
  std::string text;
  SourceLoc loc;
};

// A line of prose (kind text) or a row of cells (kind row).
struct Record {
  enum class Kind { text, row };
  Kind kind = Kind::text;
  std::string text;         // text records: the line, without its line ending
  std::vector<Cell> cells;  // row records
  SourceLoc loc;            // where the record starts (column 1)
  // A row whose only non-empty cell is the first is a line of prose (CSV: a
  // spreadsheet holds text that way). Text and Markdown rows are always rows.
  bool prose_if_single = false;
};

struct Document {
  std::vector<Record> records;
};

// Layout readers. Syntax problems (an unterminated CSV quote, ...) go to diags.
Document read_text_layout(std::string_view text, std::string_view file, Diagnostics& diags);
Document read_csv_layout(std::string_view text, std::string_view file, Diagnostics& diags);
// The CSV cell separator: ';' when more lines hold more semicolons than commas
// (outside quoted cells), as spreadsheets in comma-decimal locales write; else ','.
char csv_separator(std::string_view text);
Document read_markdown_layout(std::string_view text, std::string_view file, Diagnostics& diags);

// Finds the port table(s), the components table and the notes in a document and
// builds the matrix. Returns nullopt when no port table was found.
std::optional<Matrix> interpret(const Document& doc, std::string_view file, const ImportOptions& options,
                                Diagnostics& diags);

// The location of byte offset within a cell's text (line breaks inside a cell move to the next line).
SourceLoc loc_in(const Cell& cell, std::size_t offset);

}  // namespace portmatrix::importer
