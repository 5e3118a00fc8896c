using System.Diagnostics;
using System.IO.Compression;
using System.Text;

namespace BertLab.Tests.EndToEnd;

/// <summary>Runs the real `bertlab` program (BertLab.Cli.dll next to the tests) as a child process.</summary>
public static class CliProcess
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "BertLab.Cli.dll");

    /// <param name="sigintIgnored">Start the program with SIGINT ignored, as a non-interactive shell starts `command &amp;`
    /// and as nohup and many CI runners start their commands (bash's trap '' INT survives the exec).</param>
    public static Process Start(IEnumerable<string> args, string workingDirectory, bool sigintIgnored = false)
    {
        var psi = new ProcessStartInfo(sigintIgnored ? "bash" : "dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // the program runs with the GC settings a user's shell gives it, not the test host's (test.runsettings)
        psi.Environment.Remove("DOTNET_GCgen0size");
        if (sigintIgnored) foreach (var a in new[] { "-c", "trap '' INT; exec dotnet \"$@\"", "bash" }) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    /// <summary>Runs to completion; returns exit code and the combined output.</summary>
    public static (int code, string output) Run(IEnumerable<string> args, string workingDirectory, TimeSpan timeout)
    {
        using var p = Start(args, workingDirectory);
        var output = new StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.BeginOutputReadLine(); p.BeginErrorReadLine();
        if (!p.WaitForExit(timeout)) { p.Kill(true); throw new TimeoutException($"bertlab {string.Join(' ', args)} ran past {timeout}:\n{output}"); }
        p.WaitForExit();
        return (p.ExitCode, output.ToString());
    }

    /// <summary>A small corpus: the first paragraphs of the embedded Austen novels, as a plain .txt file.</summary>
    public static string SmallCorpus(string directory, int paragraphs = 1500)
    {
        var path = Path.Combine(directory, "small-corpus.txt");
        if (File.Exists(path)) return path;
        using var gz = new GZipStream(File.OpenRead(DataPaths.Find("corpus/austen-novels.txt.gz")), CompressionMode.Decompress);
        using var reader = new StreamReader(gz);
        var text = new StringBuilder();
        int count = 0;
        string? line;
        bool inParagraph = false;
        while ((line = reader.ReadLine()) is not null && count < paragraphs)
        {
            if (line.Trim().Length == 0) { if (inParagraph) count++; inParagraph = false; }
            else inParagraph = true;
            text.AppendLine(line);
        }
        File.WriteAllText(path, text.ToString());
        return path;
    }
}
