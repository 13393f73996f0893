// Escaping of input text for HTML and for Graphviz DOT.
#include <string>
#include <string_view>

#include "portmatrix/report.hpp"

namespace portmatrix::report {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The length of the valid UTF-8 sequence at s[i], or 0 when the bytes there are
// not one (overlong forms, surrogates and code points above U+10FFFF included).
std::size_t utf8_length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || c > 0xF4 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  unsigned char c1 = byte(i + 1);
  if (c == 0xE0 && c1 < 0xA0) return 0;   // overlong
  if (c == 0xED && c1 >= 0xA0) return 0;  // UTF-16 surrogates
  if (c == 0xF0 && c1 < 0x90) return 0;   // overlong
  if (c == 0xF4 && c1 >= 0x90) return 0;  // above U+10FFFF
  return n;
}

// Walks s as UTF-8 and appends each character to out, through map for ASCII
// (map returns false to keep the byte as is); invalid bytes become U+FFFD.
template <class Map>
std::string transform(std::string_view s, Map map) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = utf8_length(s, i);
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
