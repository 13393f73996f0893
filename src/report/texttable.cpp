#include "portmatrix/texttable.hpp"

#include <algorithm>

#include "portmatrix/text.hpp"

namespace portmatrix {

namespace {
std::size_t width(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}
}  // namespace

std::string TextTable::render() const {
  std::vector<std::size_t> w(header_.size(), 0);
  for (std::size_t i = 0; i < header_.size(); ++i) w[i] = width(header_[i]);
  for (const auto& r : rows_)
    for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], width(printable(r[i])));
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (std::size_t i = 0; i < w.size(); ++i) {
      std::string c = i < cells.size() ? printable(cells[i]) : "";
      l += c;
      if (i + 1 < w.size()) l += std::string(w[i] - width(c) + 2, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(header_);
  std::vector<std::string> rule;
  for (auto x : w) rule.push_back(std::string(x, '-'));
  line(rule);
  for (const auto& r : rows_) line(r);
  return out;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string s;
  for (const auto& x : items) {
    if (!s.empty()) s += sep;
    s += x;
  }
  return s;
}

std::string csv_field(std::string_view s) {
  // A spreadsheet takes a cell starting with one of these as a formula (OWASP's
  // CSV injection); a leading quote makes it text. A lone "-" is no formula.
  const bool formula = !s.empty() && s != "-" && std::string_view("=+-@\t\r").find(s.front()) != std::string_view::npos;
  if (!formula && s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = formula ? "\"'" : "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    out += csv_field(fields[i]);
  }
  return out + "\r\n";
}

std::string markdown_cell(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  // Leading blanks mean nothing in a cell, a heading or a list item, except to
  // make an indented code block of a list item.
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  // What would start a block at the start of a line: a heading, a list item, a
  // setext underline, an ordered list item ("1." or "1)").
  std::size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  const std::size_t list_dot = digits > 0 && digits < s.size() && (s[digits] == '.' || s[digits] == ')') ? digits : s.size();
  // A heading's closing sequence: a last run of '#' (blanks after it allowed) after a blank.
  std::size_t closing = s.size();
  while (closing > 0 && blank(s[closing - 1])) --closing;
  const std::size_t last = closing;
  while (closing > 0 && s[closing - 1] == '#') --closing;
  if (closing == last || (closing > 0 && !blank(s[closing - 1]))) closing = s.size();
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    const bool block_start = i == 0 && (c == '#' || c == '+' || c == '-' || c == '=');
    if (std::string_view("\\`*_[]!~|").find(c) != std::string_view::npos || block_start || i == list_dot || i == closing) {
      out += '\\';
      out += c;
    } else if (c == '\r') {
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
      out += "<br>";
    } else if (c == '\n') {
      out += "<br>";
    } else if (c == '&') {
      out += "&amp;";  // else "&lt;" in the text would show as "<"
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

std::string markdown_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::string out = "|";
  for (const auto& h : header) out += " " + markdown_cell(h) + " |";
  out += "\n|";
  for (std::size_t i = 0; i < header.size(); ++i) out += "---|";
  out += "\n";
  for (const auto& row : rows) {
    out += "|";
    for (const auto& c : row) out += " " + markdown_cell(c) + " |";
    out += "\n";
  }
  return out;
}

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    std::size_t n = text::utf8_char(s, i, cp);
    if (n == 0 || (cp != '\t' && text::is_control(cp)) || text::is_hidden(cp)) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      i += n ? n : 1;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace portmatrix
