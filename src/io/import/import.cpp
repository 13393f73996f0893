// Public entry point of the importer: layout detection and dispatch.
#include "portmatrix/import.hpp"

#include <cstdint>

#include <fmt/format.h>

#include "io/import/document.hpp"
#include "io/import/util.hpp"
#include "portmatrix/matrix_io.hpp"

namespace portmatrix {

std::string_view to_string(ImportFormat f) {
  switch (f) {
    case ImportFormat::automatic: return "auto";
    case ImportFormat::text: return "text";
    case ImportFormat::csv: return "csv";
    case ImportFormat::markdown: return "markdown";
  }
  return "?";
}

std::optional<ImportFormat> parse_import_format(std::string_view s) {
  for (auto f : {ImportFormat::automatic, ImportFormat::text, ImportFormat::csv, ImportFormat::markdown})
    if (s == to_string(f)) return f;
  return std::nullopt;
}

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && importer::iequals(s.substr(s.size() - suffix.size()), suffix);
}

// "|---|:--:|" with at least two cells.
bool is_markdown_separator(std::string_view l) {
  l = importer::trim(l);
  if (l.size() < 3 || l.front() != '|') return false;
  int cells = 0;
  for (auto c : importer::split(l.substr(1), '|')) {
    auto t = importer::trim(c);
    if (t.empty()) continue;
    if (t.front() == ':') t.remove_prefix(1);
    if (!t.empty() && t.back() == ':') t.remove_suffix(1);
    if (t.empty() || t.find_first_not_of('-') != std::string_view::npos) return false;
    ++cells;
  }
  return cells >= 2;
}

// The length of the valid UTF-8 sequence at s[i] that is not a control character, or 0.
std::size_t text_char(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned c = b(0);
  if (c == '\t' || c == '\n' || c == '\r') return 1;
  if (c < 0x20 || c == 0x7F) return 0;
  if (c < 0x80) return 1;
  std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || c > 0xF4 || i + n > s.size()) return 0;
  std::uint32_t cp = c & (0xFF >> (n + 1));
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
  bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
  bool c1_control = cp >= 0x80 && cp <= 0x9F;
  if (overlong || surrogate || c1_control || cp > 0x10FFFF) return 0;
  return n;
}

// Input must be UTF-8 text: bytes that are not (invalid sequences, control
// characters other than tab and line ends) would not survive into the YAML
// matrix unchanged, so they are errors, reported at the first one on each line.
void check_text(std::string_view s, const std::string& file, Diagnostics& diags) {
  constexpr int kMaxReports = 20;
  int line = 1, col = 1, reported_line = 0, reports = 0;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = text_char(s, i);
    if (n == 0) {
      if (reported_line != line && reports++ < kMaxReports)
        diags.error({file, line, col}, fmt::format("byte 0x{:02X} is not UTF-8 text (a control character or an "
                                                   "invalid UTF-8 sequence)",
                                                   static_cast<unsigned char>(s[i])));
      reported_line = line;
      n = 1;
    }
    if (s[i] == '\n') {
      ++line;
      col = 1;
    } else {
      col += int(n);
    }
    i += n;
  }
}

}  // namespace

std::optional<ImportFormat> detect_import_format(std::string_view text, std::string_view file) {
  if (ends_with_ci(file, ".csv")) return ImportFormat::csv;
  if (ends_with_ci(file, ".md") || ends_with_ci(file, ".markdown")) return ImportFormat::markdown;
  if (ends_with_ci(file, ".tsv")) return ImportFormat::text;
  int tab_rows = 0, comma_rows = 0;
  for (auto l : importer::split(text, '\n')) {
    if (is_markdown_separator(l)) return ImportFormat::markdown;
    std::size_t tabs = 0, commas = 0;
    for (char c : l) tabs += c == '\t', commas += c == ',';
    tab_rows += tabs >= 2;
    comma_rows += commas >= 2;
  }
  if (tab_rows >= 2) return ImportFormat::text;
  if (comma_rows >= 2) return ImportFormat::csv;
  return std::nullopt;
}

Parsed<Matrix> import_table(std::string_view text, std::string_view file, ImportFormat format,
                            const ImportOptions& options) {
  Parsed<Matrix> out;
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());
  check_text(text, std::string(file), out.diags);
  if (out.diags.has_errors()) return out;
  if (format == ImportFormat::automatic) {
    auto detected = detect_import_format(text, file);
    if (!detected) {
      out.diags.error({std::string(file), 0, 0},
                      "cannot tell the layout (no tab-separated rows, Markdown table or CSV rows found); "
                      "use --format text|csv|markdown");
      return out;
    }
    format = *detected;
  }
  importer::Document doc;
  switch (format) {
    case ImportFormat::text: doc = importer::read_text_layout(text, file, out.diags); break;
    case ImportFormat::csv: doc = importer::read_csv_layout(text, file, out.diags); break;
    case ImportFormat::markdown: doc = importer::read_markdown_layout(text, file, out.diags); break;
    case ImportFormat::automatic: PM_ASSERT(false, "layout not resolved");
  }
  auto m = importer::interpret(doc, file, options, out.diags);
  if (!m) return out;
  check_matrix(*m, out.diags);
  if (options.strict) out.diags.promote_warnings();
  if (!out.diags.has_errors()) out.value = std::move(m);
  return out;
}

}  // namespace portmatrix
