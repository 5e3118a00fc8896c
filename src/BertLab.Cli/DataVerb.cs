using System.CommandLine;
using System.Diagnostics;
using BertLab.Data;
using BertLab.Text;
using Spectre.Console;
using BertLab.IO;

namespace BertLab.Cli;

/// <summary><c>bertlab data inspect|prepare</c>: corpus quality report; tokenised, packed, checksummed training shards.</summary>
public sealed class DataVerb : IVerb
{
    public int Order => 20;

    // options shared by both subcommands
    readonly Argument<string[]> _corpus = new("corpus")
    {
        Description = "Corpus files (.txt, .jsonl, gzip of either), directories or globs ('texts/**/*.txt.gz'). None: the embedded default corpus (data/corpus).",
        Arity = ArgumentArity.ZeroOrMore,
    };
    readonly Option<string?> _vocab = Verb.Opt<string?>("--vocab", "WordPiece vocabulary (vocab.txt or a folder holding one). Default: the embedded bert-base-uncased vocabulary.");
    readonly Option<bool> _cased = Verb.Opt<bool>("--cased", "Do not lower-case before WordPiece (automatic when the vocabulary is cased, i.e. holds capitalised words).");
    readonly Option<bool> _lineDocs = Verb.Opt<bool>("--line-docs", "Plain-text files hold one document per line (default: auto, blank-line separated when the file has blank lines).");
    readonly Option<bool> _blankLineDocs = Verb.Opt<bool>("--blank-line-docs", "Plain-text files hold documents separated by blank lines, whatever the file looks like.");
    readonly Option<string> _textField = Verb.Opt("--text-field", "The JSON field holding the text in .jsonl files.", () => "text");
    readonly Option<int> _minChars = Verb.Opt("--min-chars", "Drop documents shorter than this many characters after cleaning.", () => 20);
    readonly Option<bool> _keepDuplicates = Verb.Opt<bool>("--keep-duplicates", "Keep exact duplicate documents (default: removed).");
    readonly Option<bool> _noNormalize = Verb.Opt<bool>("--no-normalize", "Skip Unicode NFC normalisation.");
    readonly Option<int> _workers = Verb.Opt("--workers", "Threads for cleaning and tokenisation (0 = all cores).", () => 0);

    public Command Build()
    {
        var data = new Command("data", "Corpus quality report and preparation of masked-LM training shards.");
        data.Subcommands.Add(BuildInspect());
        data.Subcommands.Add(BuildPrepare());
        return data;
    }

    void AddShared(Command cmd)
    {
        cmd.Arguments.Add(_corpus);
        foreach (var o in new Option[] { _vocab, _cased, _lineDocs, _blankLineDocs, _textField, _minChars, _keepDuplicates, _noNormalize, _workers })
            cmd.Options.Add(o);
    }

    Command BuildInspect()
    {
        var cmd = new Command("inspect", "Report documents, characters, tokens, punctuation, sentence ends, [UNK] rate, duplicates, length histogram, " +
                                         "non-ASCII and upper-case shares of a corpus, with warnings for anomalies (punctuation stripped, case folded, high [UNK], heavy duplication).");
        AddShared(cmd);
        var json = Verb.Opt<string?>("--json", "Also write the report as JSON to this file.");
        var strict = Verb.Opt<bool>("--strict", "Exit with code 1 when there is any warning.");
        cmd.Options.Add(json);
        cmd.Options.Add(strict);
        cmd.SetAction(r =>
        {
            var files = CorpusFile.Resolve(r.GetValue(_corpus));
            var tokenizer = CreateTokenizer(r);
            var progress = new ProgressLine("inspect");
            var report = new CorpusInspector(tokenizer, Cleaning(r), Reading(r)) { Workers = r.GetValue(_workers), Progress = progress.Report }.Inspect(files);
            progress.Done(report.DocumentsRead, report.Tokens);
            Print(report);
            if (r.GetValue(json) is { } path)
            {
                var json = report.ToJson();
                AtomicFile.Write(path, tmp => File.WriteAllText(tmp, json));
                AnsiConsole.MarkupLine($"report written to [blue]{Markup.Escape(path)}[/]");
            }
            return r.GetValue(strict) && report.Warnings.Count > 0 ? 1 : 0;
        });
        return cmd;
    }

    Command BuildPrepare()
    {
        var cmd = new Command("prepare", "Clean, de-duplicate and tokenise a corpus on all cores, pack it into fixed-length [CLS] … [SEP] sequences and write " +
                                         "memory-mapped shards (uint16 ids when the vocabulary allows) with a manifest of hashes and counts. Does nothing when the output is up to date.");
        AddShared(cmd);
        var output = new Option<string>("--out") { Description = "Output folder for the shards and manifest.json.", Required = true };
        var seqLen = Verb.Opt("--seq-len", "Tokens per sequence, [CLS] and [SEP] included.", () => 128);
        var pairs = Verb.Opt<bool>("--sentence-pairs", "Sentence-pair mode: [CLS] A [SEP] B [SEP] from consecutive sentences, token types 0/1 (default: documents packed back to back).");
        var documents = Verb.Opt<bool>("--documents", "Document mode: one whole document per sequence ([CLS] doc [SEP]), truncated to the sequence length.");
        var validation = Verb.Opt("--validation", "Share of documents held out for validation (chosen by document hash: deterministic).", () => PrepareOptions.DefaultValidationFraction);
        var seed = Verb.Opt("--seed", "Seed of the train/validation split and of the sentence-pair split points.", () => 0UL);
        var shardTokens = Verb.Opt("--shard-tokens", "Tokens per shard file.", () => 1L << 24);
        var force = Verb.Opt<bool>("--force", "Prepare again even when the output is up to date.");
        foreach (var o in new Option[] { output, seqLen, pairs, documents, validation, seed, shardTokens, force }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            if (r.GetValue(shardTokens) < 1) throw new BertLabException($"--shard-tokens must be at least 1, not {r.GetValue(shardTokens)}");
            var files = CorpusFile.Resolve(r.GetValue(_corpus));
            var tokenizer = CreateTokenizer(r);
            var options = new PrepareOptions
            {
                SequenceLength = r.GetValue(seqLen), Mode = r.GetValue(pairs) && r.GetValue(documents) ? throw new BertLabException("--sentence-pairs and --documents exclude each other")
                    : r.GetValue(pairs) ? PackingMode.SentencePairs : r.GetValue(documents) ? PackingMode.Documents : PackingMode.Packed,
                ValidationFraction = r.GetValue(validation), Seed = r.GetValue(seed), TokensPerShard = r.GetValue(shardTokens),
                Cleaning = Cleaning(r), Reading = Reading(r), Workers = r.GetValue(_workers), Force = r.GetValue(force),
            };
            var progress = new ProgressLine("prepare");
            var result = new DataPreparer(tokenizer, options) { Progress = progress.Report }.Prepare(files, r.GetValue(output)!);
            var c = result.Manifest.Counts;
            if (result.UpToDate)
            {
                AnsiConsole.MarkupLine($"[green]{Markup.Escape(result.Reason)}[/] — nothing to do ({c.TrainSequences:N0} train / {c.ValidationSequences:N0} validation sequences in {Markup.Escape(r.GetValue(output)!)})");
                return 0;
            }
            progress.Done(c.DocumentsRead, c.Tokens);
            AnsiConsole.MarkupLine($"prepared because: {Markup.Escape(result.Reason)}");
            var t = new Table().AddColumns("", "value");
            t.AddRow("documents read", $"{c.DocumentsRead:N0}");
            t.AddRow("too short / duplicates", $"{c.DocumentsTooShort:N0} / {c.DuplicateDocuments:N0}");
            t.AddRow("train / validation documents", $"{c.TrainDocuments:N0} / {c.ValidationDocuments:N0}");
            t.AddRow("tokens", $"{c.Tokens:N0}");
            t.AddRow($"sequences of {options.SequenceLength}", $"{c.TrainSequences:N0} train / {c.ValidationSequences:N0} validation");
            t.AddRow("shards", $"{result.Manifest.Shards.Count} ({result.Manifest.TokenType})");
            t.AddRow("time", $"{result.Elapsed.TotalSeconds:0.0} s, {result.TokensPerSecond:N0} tokens/s");
            AnsiConsole.Write(t);
            return 0;
        });
        return cmd;
    }

    CleaningOptions Cleaning(ParseResult r) => new()
    {
        MinChars = r.GetValue(_minChars), Deduplicate = !r.GetValue(_keepDuplicates),
        Normalization = r.GetValue(_noNormalize) ? UnicodeNormalization.None : UnicodeNormalization.Nfc,
    };

    CorpusReaderOptions Reading(ParseResult r)
    {
        if (r.GetValue(_lineDocs) && r.GetValue(_blankLineDocs)) throw new BertLabException("--line-docs and --blank-line-docs exclude each other");
        return new CorpusReaderOptions
        {
            Split = r.GetValue(_lineDocs) ? DocumentSplit.Lines : r.GetValue(_blankLineDocs) ? DocumentSplit.BlankLines : DocumentSplit.Auto,
            TextField = r.GetValue(_textField)!,
        };
    }

    ITokenizer CreateTokenizer(ParseResult r)
    {
        var vocab = Vocabulary.Load(r.GetValue(_vocab));
        var casing = TextCasing.ForVocabulary(vocab, r.GetValue(_cased) ? false : null);
        if (!casing.LowerCase && !r.GetValue(_cased)) Console.Error.WriteLine("the vocabulary is cased: not lower-casing (as with --cased)");
        return casing.Tokenizer(vocab);
    }

    static void Print(CorpusReport r)
    {
        var t = new Table().AddColumns("measure", "value");
        void Row(string name, string value) => t.AddRow(Markup.Escape(name), Markup.Escape(value));
        Row("files", string.Join(", ", r.Files.Select(Path.GetFileName)));
        Row("documents (kept / read)", $"{r.Documents:N0} / {r.DocumentsRead:N0}");
        Row("too short", $"{r.DocumentsTooShort:N0}");
        Row("duplicates", $"{r.DuplicateDocuments:N0} ({r.DuplicateRate:P2})");
        Row("characters", $"{r.Characters:N0}");
        Row("tokens", $"{r.Tokens:N0} ({r.MeanDocumentTokens:0.0} per document)");
        Row("punctuation per 1000 chars", $"{r.PunctuationPer1000Chars:0.0}");
        Row("documents ending in . ! ?", $"{r.SentenceEndShare:P1}");
        Row("[UNK] rate", $"{r.UnknownRate:P3}");
        Row("non-ASCII characters", $"{r.NonAsciiShare:P3}");
        Row("upper-case letters", $"{r.UpperCaseShare:P2}");
        if (r.UndecodableCharacters > 0) Row("invalid UTF-8 characters", $"{r.UndecodableCharacters:N0}");
        AnsiConsole.Write(t);
        var h = new Table().AddColumns("tokens per document", "documents");
        foreach (var b in r.LengthHistogram) h.AddRow(b.MaxTokens == long.MaxValue ? $"≥ {b.MinTokens}" : $"{b.MinTokens}–{b.MaxTokens}", $"{b.Documents:N0}");
        AnsiConsole.Write(h);
        if (r.Warnings.Count == 0) AnsiConsole.MarkupLine("[green]no warnings[/]");
        foreach (var w in r.Warnings) AnsiConsole.MarkupLine($"[yellow]warning:[/] {Markup.Escape(w)}");
    }

    /// <summary>A progress line on stderr every 2 seconds: documents, tokens, tokens/s.</summary>
    sealed class ProgressLine(string what)
    {
        readonly Stopwatch _clock = Stopwatch.StartNew();
        double _last;

        public void Report(long documents, long tokens)
        {
            double now = _clock.Elapsed.TotalSeconds;
            if (now - _last < 2) return;
            _last = now;
            Console.Error.WriteLine($"{what}: {documents:N0} documents, {tokens:N0} tokens, {tokens / now:N0} tokens/s");
        }

        public void Done(long documents, long tokens)
        {
            double s = _clock.Elapsed.TotalSeconds;
            Console.Error.WriteLine($"{what}: {documents:N0} documents, {tokens:N0} tokens in {s:0.0} s ({tokens / Math.Max(s, 1e-9):N0} tokens/s)");
        }
    }
}
