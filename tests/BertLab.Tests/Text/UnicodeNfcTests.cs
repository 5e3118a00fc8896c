using BertLab.Text;
using Xunit;

namespace BertLab.Tests.Text;

/// <summary>NFC without ICU (the project runs with InvariantGlobalization): cases from the Unicode standard's examples, and
/// Hangul composition checked as the inverse of NFD over every precomposed syllable.</summary>
public class UnicodeNfcTests
{
    [Theory]
    [InlineData("a\u0323\u0301", "\u1EA1\u0301")]         // a + dot below composes; the acute stays separate
    [InlineData("a\u0301\u0323", "\u1EA1\u0301")]         // marks in non-canonical order are reordered first
    [InlineData("e\u0302\u0301", "\u1EBF")]                // two-step composition (ế)
    [InlineData("\u1112\u1161\u11AB", "\uD55C")]           // Hangul jamo compose to 한 (L + V, then LV + T)
    [InlineData("\u1100\u1161", "\uAC00")]                 // L + V: 가
    [InlineData("\uAC00\u11A8", "\uAC01")]                 // a precomposed LV syllable + T: 각
    [InlineData("\uAC01\u11A8", "\uAC01\u11A8")]           // an LVT syllable takes no second T
    [InlineData("\u212B", "\u00C5")]                        // ANGSTROM SIGN is a singleton: becomes Å
    [InlineData("\u0958", "\u0915\u093C")]                 // composition exclusion stays decomposed
    public void NormalizesToNfcWithoutIcu(string input, string expected) => Assert.Equal(expected, UnicodeNfc.Normalize(input));

    [Fact]
    public void EveryHangulSyllable_DecomposesToJamo_AndComposesBack()
    {
        for (int cp = 0xAC00; cp <= 0xD7A3; cp++)
        {
            string syllable = char.ConvertFromUtf32(cp);
            string jamo = UnicodeNfd.Normalize(syllable);
            // L V [T]: leading consonant U+1100..1112, vowel U+1161..1175, trailing U+11A8..11C2
            Assert.InRange(jamo.Length, 2, 3);
            Assert.InRange(jamo[0], '\u1100', '\u1112');
            Assert.InRange(jamo[1], '\u1161', '\u1175');
            if (jamo.Length == 3) Assert.InRange(jamo[2], '\u11A8', '\u11C2');
            Assert.Equal(syllable, UnicodeNfc.Normalize(jamo));
        }
        Assert.Equal("\u1100\u1161", UnicodeNfd.Normalize("\uAC00"));                  // the first syllable: no trailing consonant
        Assert.Equal("\u1112\u1175\u11C2", UnicodeNfd.Normalize("\uD7A3"));          // the last: the last jamo of each kind
    }
}
