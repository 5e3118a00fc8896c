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
    string? _tmpPath;
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
            _tmpPath = Path.Combine(_directory, ShardName(_shards.Count) + ".tmp");
            try { _file = new FileStream(_tmpPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20); }
            catch (Exception e) when (FileFailure.IsFileFailure(e)) { throw FileFailure.Wrap(e, Path.Combine(_directory, ShardName(_shards.Count))); }
            _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        }
        if (_bytesPerToken == 2)
            for (int i = 0; i < sequence.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(2 * i), (ushort)sequence[i]);
        else
            for (int i = 0; i < sequence.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(4 * i), sequence[i]);
        try { _file.Write(_buffer); }
        catch (Exception e) when (FileFailure.IsFileFailure(e)) { throw Failed(e); }
        _hash!.AppendData(_buffer);
        _inShard++;
        Sequences++;
        if (_inShard == _sequencesPerShard) CloseShard();
    }

    /// <summary>The shard being written could not be: its temporary goes, and the message names the shard and the cause.</summary>
    BertLabException Failed(Exception e)
    {
        var name = Path.Combine(_directory, ShardName(_shards.Count));
        Dispose();
        return FileFailure.Wrap(e, name);
    }

    void CloseShard()
    {
        if (_file is null) return;
        var name = ShardName(_shards.Count);
        long bytes = _file.Length;
        try
        {
            _file.Flush(flushToDisk: true);
            _file.Dispose();
            File.Move(Path.Combine(_directory, name + ".tmp"), Path.Combine(_directory, name), overwrite: true);
        }
        catch (Exception e) when (FileFailure.IsFileFailure(e)) { throw Failed(e); }
        _shards.Add(new ShardInfo(name, _split, _inShard, bytes, Convert.ToHexString(_hash!.GetHashAndReset()).ToLowerInvariant()));
        _hash.Dispose();
        _file = null; _hash = null; _inShard = 0;
    }

    /// <summary>Closes the last shard.</summary>
    public void Complete() => CloseShard();

    public void Dispose()
    {
        if (_file is null) return;
        var tmp = _tmpPath!;
        try { _file.Dispose(); }
        catch (Exception e) when (FileFailure.IsFileFailure(e)) { }   // the disk is full: the data left in the buffer cannot be written
        _hash?.Dispose();
        FileFailure.TryDelete(tmp);
        _file = null;
    }
}
