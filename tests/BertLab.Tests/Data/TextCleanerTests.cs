using BertLab.Data;
using Xunit;

namespace BertLab.Tests.Data;

public class TextCleanerTests
{
    static readonly TextCleaner Cleaner = new(new CleaningOptions());

    [Theory]
    [InlineData("Cafe\u0301 au lait.", "Café au lait.")]                 // NFC composes
    [InlineData("zero\u200Bwidth\u200D and\uFEFF soft\u00ADhyphen", "zerowidth and softhyphen")]
    [InlineData("bell\u0007 and\ttab\r\nnewline", "bell and tab newline")]
    [InlineData("  lots   of\u00A0\u2003 space\n\n", "lots of space")]
    [InlineData("One.<br /><br />Two! <b>bold</b> <a href=\"x\">link</a>", "One. Two! bold link")]
    [InlineData("a &amp; b &quot;q&quot; &lt;3 and 1 < 2 > 0", "a & b \"q\" <3 and 1 < 2 > 0")]
    [InlineData("Punctuation, kept: yes; (all) of it — \"quotes\" too?!", "Punctuation, kept: yes; (all) of it — \"quotes\" too?!")]
    [InlineData("Keep Case ﬁ ½", "Keep Case ﬁ ½")]                       // NFC leaves compatibility characters alone
    public void Cleans(string input, string expected) => Assert.Equal(expected, Cleaner.Clean(input));

    [Fact]
    public void DuplicateHashesAreEqualOnlyForEqualText()
    {
        Assert.Equal(TextCleaner.Hash("same text"), TextCleaner.Hash(Cleaner.Clean("same   text\n")));
        Assert.NotEqual(TextCleaner.Hash("same text"), TextCleaner.Hash("same text."));
    }

    [Fact]
    public void ShortDocumentsAreDroppedButContinuationPiecesAreNot()
    {
        var p = new DocumentProcessor(Cleaner, DataTestSupport.Tokenizer);
        Assert.True(p.Process(new RawDocument("CHAPTER I", false)).TooShort);
        Assert.False(p.Process(new RawDocument("end.", true)).TooShort);
        Assert.True(p.Process(new RawDocument(" \u200B ", false)).Empty);
        var d = p.Process(new RawDocument("The quick brown fox jumps.", false));
        Assert.Equal(DataTestSupport.Tokenizer.EncodeIds("The quick brown fox jumps."), d.Ids);
    }
}
