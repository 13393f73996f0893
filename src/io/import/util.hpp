// Small text helpers shared by the importer's layouts and cell interpreter.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace portmatrix::importer {

// Spaces, tabs, CR and LF.
bool is_space(char c);
std::string_view trim(std::string_view s);
// ASCII lower case (bytes >= 0x80 are left alone).
std::string lower(std::string_view s);
// Runs of whitespace (including line breaks) become one space; ends trimmed.
std::string collapse_spaces(std::string_view s);
// Equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b);
// Lower-case words of ASCII letters and digits; everything else separates words.
std::vector<std::string> words(std::string_view s);
// Splits at every occurrence of sep (no trimming).
std::vector<std::string_view> split(std::string_view s, char sep);
// Lower-case, ASCII letters and digits kept, every other run becomes one '-'.
std::string slug(std::string_view s);

}  // namespace portmatrix::importer
