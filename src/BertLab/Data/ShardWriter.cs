using System.Security.Cryptography;

namespace BertLab.Data;

/// <summary>
/// Writes the sequences of one split into shard files (&lt;split&gt;-00000.bin, …) of at most a given number of
/// sequences, hashing as it writes. Files are written under a temporary name and renamed when complete.
/// </summary>
public sealed class ShardWriter : IDisposable
{
    readonly string _directory, _split;
    readonly int _sequenceLength, _bytesPerToken;
    readonly long _sequencesPerShard;
    readonly List<ShardInfo> _shards = [];
    readonly byte[] _buffer;
    FileStream? _file;
    IncrementalHash? _hash;
    long _inShard;

    public ShardWriter(string directory, string split, int sequenceLength, int bytesPerToken, long sequencesPerShard)
    {
        _directory = directory; _split = split; _sequenceLength = sequenceLength; _bytesPerToken = bytesPerToken;
        _sequencesPerShard = Math.Max(1, sequencesPerShard);
        _buffer = new byte[sequenceLength * bytesPerToken];
    }

    public IReadOnlyList<ShardInfo> Shards => _shards;
    public long Sequences { get; private set; }

    string ShardName(int index) => $"{_split}-{index:D5}.bin";

    public void Write(ReadOnlySpan<int> sequence)
    {
        if (sequence.Length != _sequenceLength) throw new ArgumentException("wrong sequence length");
        if (_file is null)
        {
            _file = new FileStream(Path.Combine(_directory, ShardName(_shards.Count) + ".tmp"), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        }
        if (_bytesPerToken == 2)
            for (int i = 0; i < sequence.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(2 * i), (ushort)sequence[i]);
        else
            for (int i = 0; i < sequence.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(4 * i), sequence[i]);
        _file.Write(_buffer);
        _hash!.AppendData(_buffer);
        _inShard++;
        Sequences++;
        if (_inShard == _sequencesPerShard) CloseShard();
    }

    void CloseShard()
    {
        if (_file is null) return;
        var name = ShardName(_shards.Count);
        long bytes = _file.Length;
        _file.Flush(flushToDisk: true);
        _file.Dispose();
        File.Move(Path.Combine(_directory, name + ".tmp"), Path.Combine(_directory, name), overwrite: true);
        _shards.Add(new ShardInfo(name, _split, _inShard, bytes, Convert.ToHexString(_hash!.GetHashAndReset()).ToLowerInvariant()));
        _hash.Dispose();
        _file = null; _hash = null; _inShard = 0;
    }

    /// <summary>Closes the last shard.</summary>
    public void Complete() => CloseShard();

    public void Dispose()
    {
        if (_file is null) return;
        var tmp = _file.Name;
        _file.Dispose();
        _hash?.Dispose();
        File.Delete(tmp);
        _file = null;
    }
}
