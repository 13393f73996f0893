// The text layout: a vendor document converted to text, where table rows are
// tab-separated lines and everything else is prose (headings, footers, notes).
#include "io/import/document.hpp"
#include "io/import/util.hpp"

namespace portmatrix::importer {

Document read_text_layout(std::string_view text, std::string_view file, Diagnostics&) {
  Document doc;
  int line = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++line;
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(pos, end - pos);
    pos = end + 1;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    Record r;
    r.loc = {std::string(file), line, 1};
    if (l.find('\t') == std::string_view::npos) {
      r.kind = Record::Kind::text;
      r.text = std::string(l);
    } else {
      r.kind = Record::Kind::row;
      std::size_t start = 0;
      for (auto cell : split(l, '\t')) {
        // Point at the content, past leading spaces.
        std::size_t lead = 0;
        while (lead < cell.size() && (cell[lead] == ' ')) ++lead;
        r.cells.push_back({std::string(trim(cell)), {std::string(file), line, int(start + lead) + 1}});
        start += cell.size() + 1;
      }
    }
    doc.records.push_back(std::move(r));
  }
  return doc;
}

}  // namespace portmatrix::importer
