using System.Diagnostics;
using Xunit;

namespace BertLab.Tests.Model;

/// <summary>
/// Debian's python3-torch (PyTorch 1.13, installed by .ci/python-setup.sh) for tests that check BertLab against
/// PyTorch itself. Missing: a test failure when CI=true, else the test is skipped saying how to install it.
/// </summary>
public static class PythonTorch
{
    static readonly Lazy<string?> _python = new(() =>
        new[] { "/usr/bin/python3", "python3" }.FirstOrDefault(p => TryRun(p, ["-c", "import torch"], null, out _, out _) == 0));

    /// <summary>A python that imports torch, or null.</summary>
    public static string? Python => _python.Value;

    public static string? Missing => Python is null ? "no python3 with torch (apt-get install python3-torch libopenblas0-pthread, or bash .ci/python-setup.sh)" : null;

    /// <summary>tests/python of the source tree.</summary>
    public static string Folder
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            {
                var candidate = Path.Combine(d.FullName, "tests", "python");
                if (File.Exists(Path.Combine(candidate, "safetensors_io.py"))) return candidate;
            }
            throw new DirectoryNotFoundException("tests/python not found above the test binaries");
        }
    }

    /// <summary>Runs python SCRIPT ARGS (script relative to tests/python, or an absolute path) with tests/python and
    /// <paramref name="extraPath"/> on PYTHONPATH; a non-zero exit fails with its stderr. Returns stdout.</summary>
    public static string Run(string script, string[] args, string? extraPath = null)
    {
        Assert.True(Python is not null, Missing);
        var path = string.Join(Path.PathSeparator, new[] { Folder, extraPath }.Where(p => p is not null));
        int rc = TryRun(Python!, new[] { Path.Combine(Folder, script) }.Concat(args).ToArray(), path, out var stdout, out var stderr);
        Assert.True(rc == 0, $"python {script} failed ({rc}): {stderr}");
        return stdout;
    }

    static int TryRun(string exe, string[] args, string? pythonPath, out string stdout, out string stderr)
    {
        stdout = stderr = "";
        try
        {
            var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            if (pythonPath is not null) psi.Environment["PYTHONPATH"] = pythonPath;
            psi.Environment["OMP_NUM_THREADS"] = "1";
            psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";   // no __pycache__ in tests/python or in model folders
            using var p = Process.Start(psi)!;
            var o = p.StandardOutput.ReadToEndAsync();
            var e = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(300_000)) { p.Kill(true); stderr = "timed out after 300 s"; return -1; }
            stdout = o.Result; stderr = e.Result;
            return p.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception e) { stderr = e.Message; return -1; }
    }
}

/// <summary>A test that needs python3-torch: skipped locally when it is missing, run (and failing) under CI=true.</summary>
public sealed class PythonTorchFactAttribute : FactAttribute
{
    public PythonTorchFactAttribute()
    {
        if (!JsClients.InCi && PythonTorch.Missing is string why) Skip = why;
    }
}
