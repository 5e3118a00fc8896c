using BertLab.Text;
using Xunit;

namespace BertLab.Tests.Text;

public class UnicodeNfdTests
{
    [Theory]
    [InlineData("\u00e9", "e\u0301")]                 // é
    [InlineData("\u00c5", "A\u030a")]                 // Å
    [InlineData("\u1e69", "s\u0323\u0307")]           // ṩ: recursive decomposition
    [InlineData("a\u0301\u0323", "a\u0323\u0301")]    // canonical ordering: below (220) before above (230)
    [InlineData("\u2260", "=\u0338")]                 // ≠
    [InlineData("\ud55c", "\u1112\u1161\u11ab")]      // 한: Hangul LVT
    [InlineData("\uac00", "\u1100\u1161")]            // 가: Hangul LV
    [InlineData("\ufb01", "\ufb01")]                  // ﬁ: compatibility only, not canonical
    [InlineData("plain ascii", "plain ascii")]
    public void DecomposesCanonically(string input, string expected) => Assert.Equal(expected, UnicodeNfd.Normalize(input));
}
