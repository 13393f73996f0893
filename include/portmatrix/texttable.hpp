// Plain-text tables for terminals, and CSV / Markdown cell escaping.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace portmatrix {

// Columns padded to their widest cell (counted in UTF-8 code points).
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::size_t size() const { return rows_.size(); }
  std::string render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// The items joined with a separator: join({"a", "b"}) == "a, b".
std::string join(const std::vector<std::string>& items, std::string_view sep = ", ");
// An RFC 4180 CSV field: quoted when it holds a comma, quote, CR or LF. A field a
// spreadsheet would run as a formula (starting with = + - @ tab or CR, other than
// a lone "-") is quoted with a ' in front, as OWASP recommends.
std::string csv_field(std::string_view s);
// A CSV line (fields joined by commas, ending in CRLF as RFC 4180 says).
std::string csv_line(const std::vector<std::string>& fields);
// Text for one line of Markdown (a table cell, a heading, a list item) that shows
// as written: \ ` * _ [ ] ! ~ | escaped with a backslash, < > & as entities, line
// breaks as <br>, leading blanks dropped, and what would start a block escaped at
// the start (# + - = and the . or ) after leading digits) and a heading's closing #s.
std::string markdown_cell(std::string_view s);
// A Markdown table: the header, the separator line and one line per row, every cell escaped.
std::string markdown_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
// Replaces control characters (other than tab), invisible characters (text::is_hidden) and
// invalid UTF-8 with U+FFFD, so terminal output cannot be steered or disguised.
std::string printable(std::string_view s);

}  // namespace portmatrix
