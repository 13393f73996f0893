// Escaping of input text for HTML and for Graphviz DOT.
#include <string>
#include <string_view>

#include "portmatrix/report.hpp"
#include "portmatrix/text.hpp"

namespace portmatrix::report {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Walks s as UTF-8 and appends each character to out, through map for ASCII
// (map returns false to keep the byte as is); invalid bytes become U+FFFD.
template <class Map>
std::string transform(std::string_view s, Map map) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    std::size_t n = text::utf8_char(s, i, cp);
    if (n == 0) {
      out += kReplacement;
      ++i;
    } else if (n == 1) {
      if (!map(s[i], out)) out += s[i];
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

bool is_control(char c) { return (static_cast<unsigned char>(c) < 0x20) || c == 0x7F; }

// For DOT, which has no use for layout characters in a label: tab and line
// breaks become a space, other control characters U+FFFD.
bool flatten_control(char c, std::string& out) {
  if (c == '\t' || c == '\n' || c == '\r') {
    out += ' ';
    return true;
  }
  if (!is_control(c)) return false;
  out += kReplacement;
  return true;
}

}  // namespace

std::string html_escape(std::string_view s) {
  return transform(s, [](char c, std::string& out) {
    switch (c) {
      case '&': out += "&amp;"; return true;
      case '<': out += "&lt;"; return true;
      case '>': out += "&gt;"; return true;
      case '"': out += "&quot;"; return true;
      case '\'': out += "&#39;"; return true;
      case '\t':
      case '\n': return false;
      default:
        if (!is_control(c)) return false;
        out += kReplacement;
        return true;
    }
  });
}

std::string dot_quoted(std::string_view s) {
  std::string body = transform(s, [](char c, std::string& out) {
    switch (c) {
      case '"': out += "\\\""; return true;
      // Graphviz reads "\N", "\G", "\l" ... in labels as substitutions and line breaks; "\\" is one backslash.
      case '\\': out += "\\\\"; return true;
      // Graphviz decodes entities in labels; "&amp;" keeps "&lt;" in a name from showing as "<".
      case '&': out += "&amp;"; return true;
      default: return flatten_control(c, out);
    }
  });
  return "\"" + body + "\"";
}

std::string dot_html_text(std::string_view s) {
  return transform(s, [](char c, std::string& out) {
    switch (c) {
      // Graphviz substitutes "\N", "\G" ... in HTML-like label text too; "\\" shows one backslash.
      case '\\': out += "\\\\"; return true;
      case '&': out += "&amp;"; return true;
      case '<': out += "&lt;"; return true;
      case '>': out += "&gt;"; return true;
      case '"': out += "&quot;"; return true;
      default: return flatten_control(c, out);
    }
  });
}

}  // namespace portmatrix::report
