using System.Text.RegularExpressions;
using BertLab.Runtime;
using BertLab.Tests.EndToEnd;
using Xunit;

namespace BertLab.Tests.Runtime;

/// <summary>The one list of BERTLAB_* environment variables (<see cref="EnvironmentVariables"/>) against the sources that read
/// them and README.md's table.</summary>
public class EnvironmentVariablesTests
{
    static string Repository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "BertLab.slnx"))) return dir.FullName;
        throw new FileNotFoundException("no BertLab.slnx above " + AppContext.BaseDirectory);
    }

    static IEnumerable<string> Sources() =>
        Directory.EnumerateFiles(Path.Combine(Repository(), "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"));

    static bool IsTheList(string file) => file.EndsWith(Path.Combine("Runtime", "EnvironmentVariables.cs"));

    [Fact]
    public void EveryNameTheSourcesMention_IsDeclared_AndEveryDeclaredOneIsRead()
    {
        var declared = EnvironmentVariables.All.Select(v => v.Name).ToHashSet();
        Assert.Equal(declared.Count, EnvironmentVariables.All.Count);
        var mentioned = new Dictionary<string, string>();
        var reads = new HashSet<string>();
        var properties = typeof(EnvironmentVariables).GetFields().Where(f => f.FieldType == typeof(EnvironmentVariable))
            .ToDictionary(f => ((EnvironmentVariable)f.GetValue(null)!).Name, f => f.Name);
        Assert.Equal(declared, properties.Keys.ToHashSet());
        foreach (var file in Sources().Where(f => !IsTheList(f)))
        {
            var text = File.ReadAllText(file);
            foreach (Match m in Regex.Matches(text, @"BERTLAB_[A-Z0-9_]+")) mentioned.TryAdd(m.Value, file);
            // read through the list, or (code that has not moved to it yet) by the literal name
            foreach (var (name, property) in properties)
                if (text.Contains($"EnvironmentVariables.{property}") || text.Contains($"GetEnvironmentVariable(\"{name}\")")) reads.Add(name);
        }
        foreach (var (name, file) in mentioned)
            Assert.True(declared.Contains(name), $"{Path.GetRelativePath(Repository(), file)} mentions {name}, which EnvironmentVariables does not declare (add it there and to README.md, or remove it)");
        foreach (var name in declared)
            Assert.True(reads.Contains(name), $"EnvironmentVariables declares {name}, but no source reads it (a leftover: remove it)");
    }

    [Fact]
    public void ReadmeTable_IsTheGeneratedOne()
    {
        var lines = File.ReadAllLines(Path.Combine(Repository(), "README.md"));
        int begin = Array.FindIndex(lines, l => l.StartsWith("<!-- environment:begin"));
        int end = Array.FindIndex(lines, l => l.StartsWith("<!-- environment:end"));
        Assert.True(begin >= 0 && end > begin, "README.md has no <!-- environment:begin --> … <!-- environment:end --> block");
        var readme = string.Join("\n", lines[(begin + 1)..end]);
        var generated = EnvironmentVariables.MarkdownTable().TrimEnd('\n');
        Assert.True(readme == generated, "README.md's environment table differs from EnvironmentVariables; replace the lines between the " +
                                         "environment markers with the output of `./bertlab config environment`.\n" + generated);
    }

    [Fact]
    public void ANumberThatIsNotOne_IsAnErrorNamingTheVariable()
    {
        var v = new EnvironmentVariable("BERTLAB_TEST_NUMBER_" + Environment.ProcessId, "1", "test", "test");
        Assert.Equal(7.5, v.NonNegative(7.5));                      // unset: the default
        Environment.SetEnvironmentVariable(v.Name, "2.5");
        try
        {
            Assert.Equal(2.5, v.NonNegative(7.5));
            Environment.SetEnvironmentVariable(v.Name, "-1");
            var e = Assert.Throws<BertLabException>(() => v.NonNegative(7.5));
            Assert.Equal($"environment variable {v.Name}=-1: expected a non-negative number", e.Message);
        }
        finally { Environment.SetEnvironmentVariable(v.Name, null); }
    }

    [Fact]
    public void ConfigEnvironmentVerb_PrintsTheTable()
    {
        var (code, output) = CliProcess.Run(new[] { "config", "environment" }, AppContext.BaseDirectory, TimeSpan.FromMinutes(1));
        Assert.Equal(0, code);
        Assert.Equal(EnvironmentVariables.MarkdownTable(), output.Replace("\r\n", "\n"));
    }
}
