using BertLab.Data;
using Xunit;

namespace BertLab.Tests.Data;

public class SequencePackerTests
{
    const int Cls = 101, Sep = 102, Pad = 0;

    static List<int[]> Pack(int length, PackingMode mode, params (int[] Ids, bool Continues, int[]? Starts)[] docs)
    {
        var output = new List<int[]>();
        var packer = new SequencePacker(DataTestSupport.Vocab, length, mode, 7, output.Add);
        foreach (var d in docs) packer.Add(d.Ids, d.Continues, d.Starts);
        packer.Flush();
        return output;
    }

    [Fact]
    public void PacksDocumentsBackToBackSeparatedBySep()
    {
        var seqs = Pack(8, PackingMode.Packed,
            ([1010, 1011, 1012], false, null),
            ([1020, 1021, 1022, 1023, 1024], false, null),
            ([1025], true, null),                       // a piece continuing the previous document: no [SEP]
            ([1030], false, null),
            ([1040], false, null));
        Assert.Equal(
        [
            [Cls, 1010, 1011, 1012, Sep, 1020, 1021, Sep],
            [Cls, 1022, 1023, 1024, 1025, Sep, 1030, Sep],
            [Cls, 1040, Sep, Pad, Pad, Pad, Pad, Pad],
        ], seqs);
    }

    [Fact]
    public void NoSeparatorWhenNothingOfTheNextDocumentWouldFit()
    {
        var seqs = Pack(8, PackingMode.Packed, ([1, 2, 3, 4, 5], false, null), ([9], false, null));
        Assert.Equal([[Cls, 1, 2, 3, 4, 5, Sep, Pad], [Cls, 9, Sep, Pad, Pad, Pad, Pad, Pad]], seqs);
    }

    [Fact]
    public void SentencePairsSplitAtASentenceBoundaryWithTokenTypes()
    {
        // three sentences (3 + 4 + 2 tokens) of one document, then a second document
        var seqs = Pack(16, PackingMode.SentencePairs,
            ([1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009], false, [0, 3, 7]),
            ([2001, 2002, 2003, 2004], false, [0]));
        Assert.Equal(2, seqs.Count);
        var first = seqs[0];
        Assert.Equal(Cls, first[0]);
        int sep1 = Array.IndexOf(first, Sep), sep2 = Array.IndexOf(first, Sep, sep1 + 1);
        Assert.Contains(sep1 - 1, new[] { 3, 7 });        // A ends at a sentence boundary
        Assert.Equal(11, sep2);                            // 1 + 9 tokens + 1 separator
        Assert.Equal(Enumerable.Range(1001, 9), first.Where(t => t > 1000));
        Assert.All(first[(sep2 + 1)..], t => Assert.Equal(Pad, t));
        var types = new long[16];
        SequencePacker.TokenTypes(first.Select(i => (long)i).ToArray(), types, PackingMode.SentencePairs, Sep, Pad);
        for (int i = 0; i < 16; i++) Assert.Equal(i <= sep1 ? 0 : i <= sep2 ? 1 : 0, types[i]);
        // a one-sentence document is split in the middle
        Assert.Equal([Cls, 2001, 2002, Sep, 2003, 2004, Sep, Pad, Pad, Pad, Pad, Pad, Pad, Pad, Pad, Pad], seqs[1]);
    }

    [Fact]
    public void LongPairsAreTruncatedToTheLength()
    {
        var ids = Enumerable.Range(1000, 40).ToArray();
        var seqs = Pack(16, PackingMode.SentencePairs, (ids, false, [0, 20]));
        Assert.All(seqs, s => Assert.Equal(16, s.Length));
        Assert.All(seqs, s => Assert.Equal(3, s.Count(t => t is Cls or Sep)));
    }
}
