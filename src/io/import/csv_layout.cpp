// The CSV layout, read as RFC 4180 says and spreadsheets write it: comma
// separated; a quoted cell may hold commas, line breaks and doubled quotes;
// lines end in CRLF, LF or CR. Every record becomes a row; the interpreter reads
// a row with only its first cell filled as a line of prose.
//
// Written here rather than taken from Debian's libcsv or fast-cpp-csv-parser:
// diagnostics need the line and column of every cell, which neither reports.
#include <fmt/format.h>

#include "io/import/document.hpp"

namespace portmatrix::importer {

Document read_csv_layout(std::string_view text, std::string_view file, Diagnostics& diags) {
  Document doc;
  const std::string f(file);
  int line = 1, col = 1;  // position of text[i]
  std::size_t i = 0;
  auto advance = [&] {  // moves past text[i], keeping line and column
    if (text[i] == '\n' || (text[i] == '\r' && (i + 1 >= text.size() || text[i + 1] != '\n'))) {
      ++line;
      col = 1;
    } else if (text[i] != '\r') {
      ++col;
    }
    ++i;
  };
  auto at_line_end = [&] { return text[i] == '\n' || text[i] == '\r'; };
  while (i < text.size()) {
    Record r;
    r.kind = Record::Kind::row;
    r.prose_if_single = true;
    r.loc = {f, line, 1};
    while (true) {  // one cell per iteration
      Cell cell;
      if (i < text.size() && text[i] == '"') {
        SourceLoc open{f, line, col};
        advance();
        cell.loc = {f, line, col};
        bool closed = false;
        while (i < text.size()) {
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              cell.text += '"';
              advance();
              advance();
              continue;
            }
            advance();
            closed = true;
            break;
          }
          // A line break inside a quoted cell is kept as one '\n'.
          if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') advance();
          cell.text += text[i] == '\r' ? '\n' : text[i];
          advance();
        }
        if (!closed) {
          diags.error(open, "unterminated quoted cell: the closing '\"' is missing");
          r.cells.push_back(std::move(cell));
          doc.records.push_back(std::move(r));
          return doc;
        }
        // Only spaces may stand between the closing quote and the next comma.
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) advance();
        if (i < text.size() && text[i] != ',' && !at_line_end()) {
          diags.error({f, line, col}, fmt::format("unexpected '{}' after a quoted cell (expected ',' or the end of "
                                                  "the line)",
                                                  text[i]));
          while (i < text.size() && text[i] != ',' && !at_line_end()) advance();
        }
      } else {
        cell.loc = {f, line, col};
        bool warned = false;
        while (i < text.size() && text[i] != ',' && !at_line_end()) {
          if (text[i] == '"' && !warned) {
            diags.warning({f, line, col}, "a '\"' inside an unquoted cell is taken literally (RFC 4180 quotes such "
                                          "cells)");
            warned = true;
          }
          cell.text += text[i];
          advance();
        }
      }
      r.cells.push_back(std::move(cell));
      if (i < text.size() && text[i] == ',') {
        advance();
        continue;
      }
      break;
    }
    if (i < text.size()) {  // the line ending
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') advance();
      advance();
    }
    doc.records.push_back(std::move(r));
  }
  return doc;
}

}  // namespace portmatrix::importer
