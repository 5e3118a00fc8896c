using System.CommandLine;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using BertLab.Text;
using BertLab.IO;

namespace BertLab.Cli;

/// <summary><c>bertlab vocab train &lt;corpus&gt; --size N --out vocab.txt</c></summary>
public sealed class VocabVerb : IVerb
{
    public int Order => 25;

    public Command Build()
    {
        var vocab = new Command("vocab", "WordPiece vocabularies.");
        var train = new Command("train",
            "Learn a WordPiece vocabulary from a corpus: [PAD] [UNK] [CLS] [SEP] [MASK] first, then every character (c and ##c), " +
            "then merged pieces until the size is reached. Words come from BERT's basic tokenization (lower case unless --cased).");
        var corpus = new Argument<string>("corpus") { Description = "a .txt or .txt.gz file, or a folder of them (documents separated by blank lines)" };
        var size = new Option<int>("--size") { Description = "vocabulary size, special tokens and alphabet included", DefaultValueFactory = _ => 8000 };
        var output = new Option<string>("--out") { Description = "vocab.txt to write (one token per line)", Required = true };
        var rule = new Option<string>("--rule") { Description = "merge rule: frequency (BPE, the most frequent pair) or likelihood (WordPiece score count(ab)/(count(a)·count(b)))", DefaultValueFactory = _ => "frequency" };
        rule.AcceptOnlyFromAmong("frequency", "likelihood");
        var minPair = new Option<int>("--min-pair-frequency") { Description = "never merge a pair seen fewer times than this", DefaultValueFactory = _ => 2 };
        var limitAlphabet = new Option<int>("--limit-alphabet") { Description = "keep at most this many distinct characters (the most frequent)", DefaultValueFactory = _ => 1000 };
        var cased = new Option<bool>("--cased") { Description = "keep case and accents (for a cased tokenizer)" };
        train.Arguments.Add(corpus);
        foreach (var o in new Option[] { size, output, rule, minPair, limitAlphabet, cased }) train.Options.Add(o);
        train.SetAction(r =>
        {
            if (r.GetValue(limitAlphabet) < 1) throw new BertLabException($"--limit-alphabet must be at least 1, not {r.GetValue(limitAlphabet)}");
            if (r.GetValue(minPair) < 1) throw new BertLabException($"--min-pair-frequency must be at least 1, not {r.GetValue(minPair)}");
            var options = new WordPieceTrainerOptions
            {
                VocabSize = r.GetValue(size),
                Rule = r.GetValue(rule) == "likelihood" ? MergeRule.Likelihood : MergeRule.Frequency,
                MinPairFrequency = r.GetValue(minPair),
                LimitAlphabet = r.GetValue(limitAlphabet),
                LowerCase = !r.GetValue(cased),
            };
            var sw = Stopwatch.StartNew();
            var trainer = new WordPieceTrainer(options);
            foreach (var document in CorpusDocuments(r.GetValue(corpus)!)) trainer.AddText(document);
            double counted = sw.Elapsed.TotalSeconds;
            var learnt = trainer.Build();
            var path = r.GetValue(output)!;
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir is not null) Directory.CreateDirectory(dir);
            AtomicFile.Write(path, learnt.Save);
            Console.WriteLine($"{trainer.TotalWords:N0} words ({trainer.DistinctWords:N0} distinct) counted in {counted:F1} s; " +
                              $"{learnt.Count:N0} tokens learnt in {sw.Elapsed.TotalSeconds - counted:F1} s → {path}");
            if (learnt.Count < options.VocabSize)
                Console.WriteLine($"note: only {learnt.Count:N0} of {options.VocabSize:N0} entries: no pair seen at least {options.MinPairFrequency} times is left");
            return 0;
        });
        vocab.Subcommands.Add(train);
        return vocab;
    }

    /// <summary>
    /// Minimal corpus reading (the Data layer's corpus reader will replace it): a .txt or .txt.gz file, or every such file
    /// in a folder (recursively, ordinal order), split into documents at blank lines.
    /// </summary>
    static IEnumerable<string> CorpusDocuments(string path)
    {
        static bool IsText(string f) => f.EndsWith(".txt", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".txt.gz", StringComparison.OrdinalIgnoreCase);
        string[] files;
        if (Directory.Exists(path))
        {
            files = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Where(IsText).Order(StringComparer.Ordinal).ToArray();
            if (files.Length == 0) throw new BertLabException($"corpus folder {path} has no .txt or .txt.gz files");
        }
        else if (File.Exists(path))
        {
            if (!IsText(path)) throw new BertLabException($"corpus file {path} must be .txt or .txt.gz");
            files = new[] { path };
        }
        else throw new BertLabException($"corpus not found: {path}");

        foreach (var file in files)
        {
            using var stream = File.OpenRead(file);
            using var reader = new StreamReader(file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
                ? new GZipStream(stream, CompressionMode.Decompress) : stream, Encoding.UTF8);
            var document = new StringBuilder();
            while (true)
            {
                string? line;
                try { line = reader.ReadLine(); }
                catch (InvalidDataException e) { throw new BertLabException($"corpus file {file} is not valid gzip: {e.Message}", e); }
                if (line is null || line.Trim().Length == 0)
                {
                    if (document.Length > 0) { yield return document.ToString(); document.Clear(); }
                    if (line is null) break;
                }
                else document.Append(line).Append('\n');
            }
        }
    }
}
