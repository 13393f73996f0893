// What counts as text in portmatrix's inputs, and how text that is not gets
// shown. Matrix and site files, imported tables and names are UTF-8 without
// control characters and without the invisible characters that make text
// display other than it reads (bidirectional controls, zero-width characters):
// a system name that looks like "CM" must be "CM". The readers refuse anything
// else with a located error; the writers that print input text anyway (error
// messages, terminal tables) show it through visible().
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace portmatrix::text {

// The length of the valid UTF-8 sequence at s[i] (1-4), storing its code point
// in cp; 0 when the bytes there are not one (overlong forms, surrogates and code
// points above U+10FFFF are not). i must be < s.size().
std::size_t utf8_char(std::string_view s, std::size_t i, char32_t& cp);

// C0 controls, DEL and C1 controls.
bool is_control(char32_t cp);
// Characters that are not shown but change how text around them is shown or
// read: bidirectional controls (U+061C, U+200E-F, U+202A-E, U+2066-9),
// zero-width and invisible characters (U+200B-D, U+2060-4, U+FEFF, U+00AD).
bool is_hidden(char32_t cp);

enum class Kind {
  line,   // a name or value: one line, no tabs
  prose,  // a description or note: line breaks and tabs allowed
};

// Why s is not acceptable text of the given kind ("contains U+202E, a
// bidirectional control"), or nullopt when it is.
std::optional<std::string> problem(std::string_view s, Kind kind);

// s with everything problem() would refuse made visible and inert: \n, \t, \r,
// \xHH for other controls and invalid bytes, \u{XXXX} for hidden characters.
// Backslashes are kept as they are.
std::string visible(std::string_view s);

}  // namespace portmatrix::text
