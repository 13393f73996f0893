#include "portmatrix/text.hpp"

#include <gtest/gtest.h>

#include "portmatrix/diag.hpp"

using namespace portmatrix;

TEST(Text, Utf8CharAgreesWithTheStandard) {
  char32_t cp = 0;
  EXPECT_EQ(text::utf8_char("a", 0, cp), 1u);
  EXPECT_EQ(cp, U'a');
  EXPECT_EQ(text::utf8_char("\xC3\xA9", 0, cp), 2u);
  EXPECT_EQ(cp, U'\u00E9');
  EXPECT_EQ(text::utf8_char("\xE2\x80\xAE", 0, cp), 3u);
  EXPECT_EQ(cp, U'\u202E');
  EXPECT_EQ(text::utf8_char("\xF0\x9F\x98\x80", 0, cp), 4u);
  EXPECT_EQ(cp, U'\U0001F600');
  for (std::string_view bad : {"\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\x80", "\xE2\x80", "\xFF"})
    EXPECT_EQ(text::utf8_char(bad, 0, cp), 0u) << bad.size();
}

TEST(Text, ProblemsAreNamed) {
  EXPECT_EQ(text::problem("Admin terminal", text::Kind::line), std::nullopt);
  EXPECT_EQ(text::problem("Caf\xC3\xA9 \xE2\x80\x93 ok", text::Kind::line), std::nullopt);
  EXPECT_EQ(text::problem("two\nlines\tand tab", text::Kind::prose), std::nullopt);
  EXPECT_NE(text::problem("two\nlines", text::Kind::line), std::nullopt);
  EXPECT_EQ(*text::problem("a\x1b[2K", text::Kind::prose), "contains the control character U+001B");
  EXPECT_EQ(*text::problem("a\x7f", text::Kind::prose), "contains the control character U+007F");
  EXPECT_EQ(*text::problem("a\xC2\x9B", text::Kind::prose), "contains the control character U+009B");
  EXPECT_NE(text::problem("CM\xE2\x80\x8B", text::Kind::prose)->find("U+200B"), std::string::npos);
  EXPECT_NE(text::problem("\xEF\xBB\xBFx", text::Kind::prose)->find("U+FEFF"), std::string::npos);
  EXPECT_EQ(*text::problem("ab\xFF", text::Kind::prose), "is not UTF-8 text (byte 0xFF at byte 3)");
}

TEST(Text, VisibleShowsWhatProblemRefuses) {
  EXPECT_EQ(text::visible("plain \xC3\xA9 \\ text"), "plain \xC3\xA9 \\ text");
  EXPECT_EQ(text::visible("a\nb\tc\rd\x1b[8m\xFF"), "a\\nb\\tc\\rd\\x1b[8m\\xff");
  EXPECT_EQ(text::visible("x\xE2\x80\xAEy\xC2\x9B"), "x\\u{202e}y\\u{009b}");
}

TEST(Text, ADiagnosticIsOneVisibleLine) {
  Diagnostic d{Severity::error, {"site\n.yaml", 3, 4}, "unknown system 'CM\x1b[2K\r\nportmatrix: note: all good\x1b[8m'", {}};
  EXPECT_EQ(d.format(), "site\\n.yaml:3:4: error: unknown system 'CM\\x1b[2K\\r\\nportmatrix: note: all good\\x1b[8m'");
}
