// Public entry point of the importer: layout detection and dispatch.
#include "portmatrix/import.hpp"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

#include "io/import/document.hpp"
#include "io/import/util.hpp"
#include "portmatrix/matrix_io.hpp"
#include "portmatrix/text.hpp"

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

// Input must be plain text (text::problem's rules, with tabs and line ends, so
// a table's layout): invalid UTF-8, control characters and invisible characters
// would not survive into the YAML matrix unchanged, or would make a name read as
// another, so they are errors, reported at the first one on each line.
void check_text(std::string_view s, const std::string& file, Diagnostics& diags) {
  constexpr int kMaxReports = 20;
  int line = 1, col = 1, reported_line = 0, reports = 0;
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    std::size_t n = text::utf8_char(s, i, cp);
    std::string why;
    if (n == 0 || (cp != '\t' && cp != '\n' && cp != '\r' && text::is_control(cp))) {
      why = fmt::format("byte 0x{:02X} is not UTF-8 text (a control character or an invalid UTF-8 sequence)",
                        static_cast<unsigned char>(s[i]));
      n = std::max<std::size_t>(n, 1);
    } else if (text::is_hidden(cp)) {
      why = fmt::format("U+{:04X} is an invisible character that changes how the text around it shows",
                        static_cast<std::uint32_t>(cp));
    }
    if (!why.empty()) {
      if (reported_line != line && reports++ < kMaxReports) diags.error({file, line, col}, std::move(why));
      reported_line = line;
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
    std::size_t tabs = 0, commas = 0, semicolons = 0;
    for (char c : l) tabs += c == '\t', commas += c == ',', semicolons += c == ';';
    tab_rows += tabs >= 2;
    comma_rows += commas >= 2 || semicolons >= 2;
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
  // The options become names in the matrix too: the same rules as the matrix reader's.
  auto option = [&](std::string_view what, const std::string& value) {
    if (auto p = text::problem(value, text::Kind::line)) out.diags.error({}, fmt::format("{} {}", what, *p));
  };
  option("the matrix name", options.name);
  option("the title", options.title);
  for (const auto& a : options.aliases) {
    option(fmt::format("alias '{}'", text::visible(a.alias)), a.alias);
    option(fmt::format("the system of alias '{}'", text::visible(a.alias)), a.canonical);
  }
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
