#include "portmatrix/text.hpp"

#include <fmt/format.h>

namespace portmatrix::text {

std::size_t utf8_char(std::string_view s, std::size_t i, char32_t& cp) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned c = byte(0);
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  const std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || c > 0xF4 || i + n > s.size()) return 0;
  char32_t v = c & (0xFFu >> (n + 1));
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(k) & 0xC0) != 0x80) return 0;
    v = (v << 6) | (byte(k) & 0x3F);
  }
  const bool overlong = (n == 3 && v < 0x800) || (n == 4 && v < 0x10000);
  const bool surrogate = v >= 0xD800 && v <= 0xDFFF;
  if (overlong || surrogate || v > 0x10FFFF) return 0;
  cp = v;
  return n;
}

bool is_control(char32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

bool is_hidden(char32_t cp) {
  return cp == 0x00AD || cp == 0x061C || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

std::optional<std::string> problem(std::string_view s, Kind kind) {
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = utf8_char(s, i, cp);
    if (n == 0)
      return fmt::format("is not UTF-8 text (byte 0x{:02X} at byte {})", static_cast<unsigned char>(s[i]), i + 1);
    if (cp == '\n' || cp == '\t' || cp == '\r') {
      if (kind == Kind::line)
        return fmt::format("contains a {} (only descriptions and notes may)", cp == '\t' ? "tab" : "line break");
    } else if (is_control(cp)) {
      return fmt::format("contains the control character U+{:04X}", static_cast<std::uint32_t>(cp));
    } else if (is_hidden(cp)) {
      return fmt::format("contains U+{:04X}, an invisible character that changes how the text around it shows",
                         static_cast<std::uint32_t>(cp));
    }
    i += n;
  }
  return std::nullopt;
}

std::string visible(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = utf8_char(s, i, cp);
    if (n == 0) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[i]));
      ++i;
      continue;
    }
    if (cp == '\n') out += "\\n";
    else if (cp == '\t') out += "\\t";
    else if (cp == '\r') out += "\\r";
    else if (cp < 0x80 && is_control(cp)) out += fmt::format("\\x{:02x}", static_cast<std::uint32_t>(cp));
    else if (is_control(cp) || is_hidden(cp)) out += fmt::format("\\u{{{:04x}}}", static_cast<std::uint32_t>(cp));
    else out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace portmatrix::text
