// The Markdown layout: pipe tables ("| a | b |" rows, a "|---|---|" separator
// under the header row); every other line is prose. Cells are unescaped as
// markdown_cell() escapes them: "\|" is a pipe, "<br>" a line break; code span
// backticks and "**" bold markers are dropped.
#include "io/import/document.hpp"
#include "io/import/util.hpp"

namespace portmatrix::importer {

namespace {

bool is_ascii_punct(char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

// The character references markdown_cell() writes, and the few others tables
// use ("R&amp;D", "&lt;-&gt;"), decoded in one pass so "&amp;lt;" stays "&lt;".
std::string decode_entities(std::string_view t) {
  static constexpr std::pair<std::string_view, std::string_view> kEntities[] = {
      {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&apos;", "'"}, {"&nbsp;", " "}};
  std::string out;
  for (std::size_t i = 0; i < t.size();) {
    bool replaced = false;
    if (t[i] == '&')
      for (auto [name, value] : kEntities)
        if (t.substr(i, name.size()) == name) {
          out += value;
          i += name.size();
          replaced = true;
          break;
        }
    if (!replaced) out += t[i++];
  }
  return out;
}

// Splits a pipe row into cells; offsets are of each cell's content in the line.
std::vector<std::pair<std::string, std::size_t>> pipe_cells(std::string_view l, std::size_t first_pipe) {
  std::vector<std::pair<std::string, std::size_t>> out;
  std::string cur;
  std::size_t cur_start = std::string_view::npos;
  auto flush = [&](std::size_t at) {
    std::string t(trim(cur));
    out.emplace_back(t, cur_start == std::string_view::npos ? at : cur_start);
    cur.clear();
    cur_start = std::string_view::npos;
  };
  for (std::size_t i = first_pipe + 1; i < l.size(); ++i) {
    char c = l[i];
    if (c == '\\' && i + 1 < l.size() && is_ascii_punct(l[i + 1])) {
      if (cur_start == std::string_view::npos) cur_start = i;
      cur += l[++i];
      continue;
    }
    if (c == '|') {
      flush(i);
      continue;
    }
    // Formatting, not content: a code span's backticks ("`443`") and bold
    // markers ("**CMS**") would otherwise become part of a port or a name.
    if (c == '`') continue;
    if (c == '*' && i + 1 < l.size() && l[i + 1] == '*') {
      ++i;
      continue;
    }
    if (cur_start == std::string_view::npos && c != ' ' && c != '\t') cur_start = i;
    cur += c;
  }
  // Text after the last pipe is a cell too (the closing pipe is optional).
  if (!trim(cur).empty()) flush(l.size());
  for (auto& [t, off] : out) {
    for (std::string_view br : {"<br />", "<br/>", "<br>"}) {
      std::size_t at = 0;
      while ((at = t.find(br, at)) != std::string::npos) t.replace(at, br.size(), "\n");
    }
    t = decode_entities(t);
  }
  return out;
}

// "|---|:---:|" (GFM: each cell only hyphens, with optional colons at the ends).
bool is_separator(const std::vector<std::pair<std::string, std::size_t>>& cells) {
  if (cells.empty()) return false;
  for (const auto& [t, off] : cells) {
    std::string_view s = t;
    if (!s.empty() && s.front() == ':') s.remove_prefix(1);
    if (!s.empty() && s.back() == ':') s.remove_suffix(1);
    if (s.empty() || s.find_first_not_of('-') != std::string_view::npos) return false;
  }
  return true;
}

}  // namespace

Document read_markdown_layout(std::string_view text, std::string_view file, Diagnostics& diags) {
  Document doc;
  int line = 0;
  std::size_t pos = 0;
  bool in_table = false;  // inside a block of pipe rows
  std::size_t block_first = 0;
  bool block_has_separator = false;
  auto end_block = [&] {
    if (in_table && !block_has_separator)
      diags.warning(doc.records[block_first].loc,
                    "a Markdown table needs a separator row ('|---|---|') under its header row");
    in_table = false;
  };
  while (pos < text.size()) {
    ++line;
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(pos, end - pos);
    pos = end + 1;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    std::size_t first = l.find_first_not_of(" \t");
    Record r;
    r.loc = {std::string(file), line, 1};
    if (first == std::string_view::npos || l[first] != '|') {
      end_block();
      r.kind = Record::Kind::text;
      r.text = std::string(l);
      doc.records.push_back(std::move(r));
      continue;
    }
    auto cells = pipe_cells(l, first);
    if (is_separator(cells)) {
      if (!in_table || doc.records.size() != block_first + 1)
        diags.warning(r.loc, "a separator row belongs right under a table's header row");
      block_has_separator = true;
      continue;
    }
    if (!in_table) {
      in_table = true;
      block_first = doc.records.size();
      block_has_separator = false;
    }
    r.kind = Record::Kind::row;
    for (auto& [t, off] : cells) r.cells.push_back({std::move(t), {std::string(file), line, int(off) + 1}});
    doc.records.push_back(std::move(r));
  }
  end_block();
  return doc;
}

}  // namespace portmatrix::importer
