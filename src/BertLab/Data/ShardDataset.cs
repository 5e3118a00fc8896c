using System.IO.MemoryMappedFiles;
using BertLab.Text;

namespace BertLab.Data;

/// <summary>
/// The sequences of one split (train or validation) of a prepared directory, memory-mapped: nothing is read into
/// memory up front, and any sequence is one pointer offset away. Opening verifies every shard's length and
/// (unless disabled) SHA-256 against the manifest, so a corrupt or partial shard is reported, not trained on.
/// </summary>
public sealed unsafe class ShardDataset : IDisposable
{
    readonly List<(MemoryMappedFile File, MemoryMappedViewAccessor View, nint Pointer, long Sequences)> _shards = [];
    readonly long[] _firstSequence;
    readonly int _bytesPerToken;

    public ShardManifest Manifest { get; }
    public string Directory { get; }
    public string Split { get; }
    public long Count { get; }
    public int SequenceLength => Manifest.SequenceLength;
    public PackingMode Mode => Manifest.Mode;

    ShardDataset(string directory, ShardManifest manifest, string split)
    {
        Directory = directory; Manifest = manifest; Split = split;
        _bytesPerToken = manifest.BytesPerToken;
        var shards = manifest.Shards.Where(s => s.Split == split).ToList();
        _firstSequence = new long[shards.Count + 1];
        try
        {
            for (int i = 0; i < shards.Count; i++)
            {
                var path = Path.Combine(directory, shards[i].File);
                var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
                var view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
                byte* pointer = null;
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
                pointer += view.PointerOffset;
                _shards.Add((file, view, (nint)pointer, shards[i].Sequences));
                _firstSequence[i + 1] = _firstSequence[i] + shards[i].Sequences;
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        Count = _firstSequence[^1];
    }

    /// <summary>
    /// Opens a split ("train" or "validation"). Throws <see cref="BertLabException"/> for a missing/invalid manifest,
    /// a missing, truncated or altered shard, or (when given) a vocabulary other than the one the shards were made with.
    /// </summary>
    public static ShardDataset Open(string directory, string split = "train", Vocabulary? vocabulary = null, bool verifyChecksums = true)
    {
        if (split is not ("train" or "validation")) throw new BertLabException($"unknown split '{split}' (train, validation)");
        var manifest = ShardManifest.Load(directory);
        if (vocabulary is not null && vocabulary.Sha256 != manifest.VocabularySha256)
            throw new BertLabException($"{directory} was prepared with another vocabulary ({manifest.VocabularySize} tokens, sha256 {manifest.VocabularySha256[..12]}…) than the one given ({vocabulary.Count} tokens, {vocabulary.Sha256[..12]}…); prepare again with this vocabulary");
        manifest.Verify(directory, verifyChecksums);
        return new ShardDataset(directory, manifest, split);
    }

    /// <summary>Copies sequence <paramref name="index"/> (0 ≤ index &lt; Count) into <paramref name="ids"/> (length SequenceLength).</summary>
    public void Read(long index, Span<long> ids)
    {
        if ((ulong)index >= (ulong)Count) throw new ArgumentOutOfRangeException(nameof(index), $"sequence {index} of {Count}");
        if (ids.Length != SequenceLength) throw new ArgumentException($"buffer of {ids.Length}, sequences have {SequenceLength}");
        int shard = Array.BinarySearch(_firstSequence, index);
        if (shard < 0) shard = ~shard - 1;
        while (shard + 1 < _firstSequence.Length && _firstSequence[shard + 1] <= index) shard++;
        long offset = (index - _firstSequence[shard]) * SequenceLength * _bytesPerToken;
        byte* p = (byte*)_shards[shard].Pointer + offset;
        if (_bytesPerToken == 2)
        {
            var src = new ReadOnlySpan<ushort>(p, SequenceLength);
            for (int i = 0; i < src.Length; i++) ids[i] = src[i];
        }
        else
        {
            var src = new ReadOnlySpan<int>(p, SequenceLength);
            for (int i = 0; i < src.Length; i++) ids[i] = src[i];
        }
    }

    public int[] this[long index]
    {
        get
        {
            Span<long> buffer = stackalloc long[SequenceLength];
            Read(index, buffer);
            var result = new int[SequenceLength];
            for (int i = 0; i < result.Length; i++) result[i] = (int)buffer[i];
            return result;
        }
    }

    public void Dispose()
    {
        foreach (var s in _shards)
        {
            s.View.SafeMemoryMappedViewHandle.ReleasePointer();
            s.View.Dispose();
            s.File.Dispose();
        }
        _shards.Clear();
    }
}
