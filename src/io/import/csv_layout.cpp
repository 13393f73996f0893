// The CSV layout, read as RFC 4180 says and spreadsheets write it: comma
// separated (or semicolon separated, as csv_separator() tells); a quoted cell
// may hold separators, line breaks and doubled quotes; lines end in CRLF, LF or
// CR. Every record becomes a row; the interpreter reads a row with only its
// first cell filled as a line of prose.
//
// Written here rather than taken from Debian's libcsv or fast-cpp-csv-parser:
// diagnostics need the line and column of every cell, which neither reports.
#include <fmt/format.h>

#include "io/import/document.hpp"

namespace portmatrix::importer {

char csv_separator(std::string_view text) {
  // Each line outside quoted cells votes for the character it holds more of.
  // Spreadsheets in locales whose decimal mark is a comma write ';' between
  // cells, with commas left unquoted inside the text.
  int comma_lines = 0, semicolon_lines = 0, commas = 0, semicolons = 0;
  bool quoted = false;
  auto vote = [&] {
    comma_lines += commas > semicolons;
    semicolon_lines += semicolons > commas;
    commas = semicolons = 0;
  };
  for (char c : text) {
    if (c == '"') quoted = !quoted;
    else if (quoted) continue;
    else if (c == ',') ++commas;
    else if (c == ';') ++semicolons;
    else if (c == '\n' || c == '\r') vote();
  }
  vote();
  return semicolon_lines > comma_lines ? ';' : ',';
}

Document read_csv_layout(std::string_view text, std::string_view file, Diagnostics& diags) {
  Document doc;
  const char sep = csv_separator(text);
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
        if (i < text.size() && text[i] != sep && !at_line_end()) {
          diags.error({f, line, col}, fmt::format("unexpected '{}' after a quoted cell (expected '{}' or the end of "
                                                  "the line)",
                                                  text[i], sep));
          while (i < text.size() && text[i] != sep && !at_line_end()) advance();
        }
      } else {
        cell.loc = {f, line, col};
        bool warned = false;
        while (i < text.size() && text[i] != sep && !at_line_end()) {
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
      if (i < text.size() && text[i] == sep) {
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
