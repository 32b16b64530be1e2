// Tests of modelcut::quoted() and printable(): whatever bytes a name from a
// file holds, an error message stays one printable line that says exactly
// which name it means.
#include <gtest/gtest.h>

#include <string>

#include "modelcut/error.h"

namespace modelcut {
namespace {

using namespace std::string_literals;

TEST(Quoted, KeepsPrintableNamesInAnyScript) {
  EXPECT_EQ(quoted("layer3.1/conv"), "'layer3.1/conv'");
  EXPECT_EQ(quoted("Schicht_ü/畳み込み/😀"), "'Schicht_ü/畳み込み/😀'");
  EXPECT_EQ(quoted(""), "''");
}

TEST(Quoted, EscapesControlCharacters) {
  EXPECT_EQ(quoted("data\0.bin"s), "'data\\x00.bin'");
  EXPECT_EQ(quoted("a\nb\rc\td"), "'a\\nb\\rc\\td'");
  EXPECT_EQ(quoted("\x1b[31mred\x7f"), "'\\x1b[31mred\\x7f'");
  EXPECT_EQ(quoted("next\xc2\x85line"), "'next\\u0085line'");  // C1 NEL, as UTF-8
}

TEST(Quoted, EscapesSeparatorsAndBidirectionalOverrides) {
  EXPECT_EQ(quoted("a\u2028b\u2029c"), "'a\\u2028b\\u2029c'");
  EXPECT_EQ(quoted("abc\u202edcba\u2066"), "'abc\\u202edcba\\u2066'");
}

TEST(Quoted, EscapesBytesThatAreNotUtf8) {
  EXPECT_EQ(quoted("\xff"), "'\\xff'");
  EXPECT_EQ(quoted("caf\xe9"), "'caf\\xe9'");                       // Latin-1, not UTF-8
  EXPECT_EQ(quoted("\xc0\xaf"), "'\\xc0\\xaf'");                    // overlong '/'
  EXPECT_EQ(quoted("\xed\xa0\x80"), "'\\xed\\xa0\\x80'");           // a surrogate
  EXPECT_EQ(quoted("\xf4\x90\x80\x80"), "'\\xf4\\x90\\x80\\x80'");  // above U+10FFFF
  EXPECT_EQ(quoted("\xe2\x82"), "'\\xe2\\x82'");                    // cut short
  EXPECT_EQ(quoted("\xe2\x82\xac"), "'\u20ac'");                    // the euro sign is fine
}

TEST(Quoted, EscapesQuotesAndBackslashesSoNamesStayDistinct) {
  EXPECT_EQ(quoted("it's"), "'it\\'s'");
  EXPECT_EQ(quoted("a\\nb"), "'a\\\\nb'");  // a backslash and an n, not a newline
  EXPECT_NE(quoted("a\\nb"), quoted("a\nb"));
}

TEST(Fail, MakesTheWholeMessagePrintable) {
  try {
    fail("model\nfile: tensor ", quoted("x\ny"), " has ", 3, " dims");
    FAIL() << "fail() returned";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "model\\nfile: tensor 'x\\ny' has 3 dims");
  }
}

}  // namespace
}  // namespace modelcut
