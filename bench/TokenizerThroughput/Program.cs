// Tokenizer throughput on the embedded corpus (data/corpus/austen-novels.txt.gz), paragraphs as texts.
// Usage: dotnet run -c Release --project bench/TokenizerThroughput [corpus.txt.gz] [repeats]
using System.Diagnostics;
using System.IO.Compression;
using BertLab;
using BertLab.Text;

var path = args.Length > 0 && args[0].Length > 0 ? args[0] : DataPaths.Find("corpus/austen-novels.txt.gz");
int repeats = args.Length > 1 ? int.Parse(args[1]) : 3;
string text;
using (var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress))
using (var reader = new StreamReader(gz)) text = reader.ReadToEnd();
var paragraphs = text.Replace("\r\n", "\n").Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
long chars = paragraphs.Sum(p => (long)p.Length);
Console.WriteLine($"{Path.GetFileName(path)}: {paragraphs.Length:N0} paragraphs, {chars / 1e6:F1} M chars, {Environment.ProcessorCount} cores");

var vocab = Vocabulary.Load();
Run("1 thread, cold word cache", new WordPieceTokenizer(vocab), 1);
var warm = new WordPieceTokenizer(vocab);
for (int r = 0; r < repeats; r++) Run("1 thread, warm", warm, 1);
for (int r = 0; r < repeats; r++) Run($"{Environment.ProcessorCount} threads, warm", warm, Environment.ProcessorCount);
Run($"{Environment.ProcessorCount} threads, cold word cache", new WordPieceTokenizer(vocab), Environment.ProcessorCount);

void Run(string what, WordPieceTokenizer tokenizer, int threads)
{
    long tokens = 0;
    var sw = Stopwatch.StartNew();
    Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, paragraphs.Length, 256),
        new ParallelOptions { MaxDegreeOfParallelism = threads },
        () => (Ids: new List<int>(1024), Count: 0L),
        (range, _, local) =>
        {
            for (int i = range.Item1; i < range.Item2; i++)
            {
                local.Ids.Clear();
                tokenizer.AppendIds(paragraphs[i], local.Ids);
                local.Count += local.Ids.Count;
            }
            return local;
        },
        local => Interlocked.Add(ref tokens, local.Count));
    double s = sw.Elapsed.TotalSeconds;
    Console.WriteLine($"{what,-32} {tokens:N0} tokens in {s:F3} s = {tokens / s / 1e6:F2} M tokens/s ({chars / s / 1e6:F1} M chars/s)");
}
