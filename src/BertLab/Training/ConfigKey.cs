using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace BertLab.Training;

/// <summary>
/// One key of the run configuration ("run.steps"): its JSON type, its rule, its help and where its value lives in a
/// <see cref="RunConfig"/>. Reading, writing, validation, <c>--set</c> and the documentation of a key all go through
/// its entry in <see cref="RunConfigKeys"/>, so a key is declared once.
/// </summary>
public abstract class ConfigKey
{
    protected ConfigKey(string path, string help)
    {
        Path = path;
        Help = help;
    }

    /// <summary>"run.steps"; a whole section for the structured keys "model" and "attention".</summary>
    public string Path { get; }
    /// <summary>"run" of "run.steps" (the JSON object that holds the key); equal to <see cref="Path"/> for "model" and "attention".</summary>
    public string Section => Path.Split('.')[0];
    /// <summary>"steps" of "run.steps".</summary>
    public string Name => Path.Split('.')[^1];
    public string Help { get; }
    /// <summary>The JSON type in words: integer, number, boolean, string, list of strings, preset or object.</summary>
    public abstract string TypeName { get; }
    /// <summary>The allowed values in words ("≥ 1", "in (0, 1)", "cpu, cuda"); empty when every value of the type is.</summary>
    public abstract string Allowed { get; }

    /// <summary>The key's value in <paramref name="config"/> as JSON (as written to run_config.json).</summary>
    public abstract JsonNode? Write(RunConfig config);
    /// <summary>The key's value in <paramref name="defaults"/> as written in <see cref="RunConfig.DefaultJson"/> and the documentation.</summary>
    public virtual JsonNode? WriteDefault(RunConfig defaults) => Write(defaults);
    /// <summary>Sets the key from a JSON value that is not null; a value of the wrong type is an error naming the key.</summary>
    public abstract void Read(RunConfig config, JsonNode node);
    /// <summary>Throws a <see cref="BertLabException"/> naming the key when <paramref name="config"/>'s value breaks the rule.</summary>
    public abstract void Check(RunConfig config);
    /// <summary>A <c>--set</c> value as JSON: valid JSON is taken as such; other text is a string.</summary>
    public virtual JsonNode? ParseText(string raw) => ParseJsonOrString(raw);

    internal static JsonNode? ParseJsonOrString(string raw)
    {
        try { return JsonNode.Parse(raw); }
        catch (JsonException) { return JsonValue.Create(raw); }
    }
}

/// <summary>A key whose value is a <typeparamref name="T"/>: the typed handle for reading a value or overriding it
/// (<see cref="RunConfig.ApplyOverride{T}(JsonObject, ConfigKey{T}, T)"/>).</summary>
public abstract class ConfigKey<T> : ConfigKey
{
    protected ConfigKey(string path, string help) : base(path, help) { }

    public abstract T Get(RunConfig config);
    /// <summary>The value as JSON.</summary>
    public abstract JsonNode? ToJson(T value);
    /// <summary>Throws a <see cref="BertLabException"/> naming the key when <paramref name="value"/> breaks the rule.</summary>
    public abstract void Check(T value, string? path = null);
    public override JsonNode? Write(RunConfig config) => ToJson(Get(config));
    public override void Check(RunConfig config) => Check(Get(config));
}

/// <summary>A JSON type of configuration values: its name, how a JSON value is read (an error naming the key
/// otherwise) and written. The types: <see cref="ConfigTypes"/>.</summary>
public sealed class ConfigType<T>
{
    public string Name { get; }
    readonly Func<JsonNode, string, T> _read;
    readonly Func<T, JsonNode?> _write;

    internal ConfigType(string name, Func<JsonNode, string, T> read, Func<T, JsonNode?> write)
    {
        Name = name;
        _read = read;
        _write = write;
    }

    public T Read(JsonNode node, string path) => _read(node, path);
    public JsonNode? Write(T value) => _write(value);

    /// <summary>True for the string types, whose <c>--set</c> value is taken as text unless it is a JSON string or null.</summary>
    internal bool IsText => typeof(T) == typeof(string) || typeof(T) == typeof(List<string>);
}

/// <summary>The JSON types of configuration keys.</summary>
public static class ConfigTypes
{
    static BertLabException Wrong(string path, string expected, JsonNode n) =>
        new($"config: {path} must be {expected}, got {n.ToJsonString()}");

    public static readonly ConfigType<int> Integer = new("integer", (n, path) =>
    {
        if (!JsonNumbers.TryGetDouble(n, out var d) || d != Math.Floor(d) || Math.Abs(d) > int.MaxValue) throw Wrong(path, "an integer", n);
        return (int)d;
    }, v => JsonValue.Create(v));

    /// <summary>A 64-bit integer (the seed): read exactly, not through a double.</summary>
    public static readonly ConfigType<long> Long = new("integer", (n, path) =>
    {
        if (n is JsonValue v && v.GetValueKind() == JsonValueKind.Number)
        {
            if (long.TryParse(v.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return l;
            // 42.0 or 4.2e1: integral and small enough to be exact in a double
            if (JsonNumbers.TryGetDouble(n, out var d) && d == Math.Floor(d) && Math.Abs(d) <= (1L << 53)) return (long)d;
        }
        throw Wrong(path, "an integer", n);
    }, v => JsonValue.Create(v));

    /// <summary>A finite double: 1e400 (infinity) is an error naming the key, not a run with an infinite value.</summary>
    public static readonly ConfigType<double> Number = new("number", (n, path) =>
    {
        if (!JsonNumbers.TryGetDouble(n, out var d)) throw Wrong(path, "a number", n);
        if (!double.IsFinite(d)) throw Wrong(path, "a finite number", n);
        return d;
    }, v => JsonValue.Create(v));

    public static readonly ConfigType<bool> Boolean = new("boolean", (n, path) =>
        n is JsonValue v && v.TryGetValue<bool>(out var b) ? b : throw Wrong(path, "true or false", n), v => JsonValue.Create(v));

    public static readonly ConfigType<string> String = new("string", ReadString, v => JsonValue.Create(v));

    /// <summary>A string that may be null (a path whose default is chosen at run time).</summary>
    public static readonly ConfigType<string?> OptionalString = new("string", (n, path) => ReadString(n, path), v => JsonValue.Create(v));

    /// <summary>An array of strings; a single string is a list of one.</summary>
    public static readonly ConfigType<List<string>> StringList = new("list of strings",
        (n, path) => n is JsonArray a ? a.Select(x => x is null ? throw Wrong(path, "an array of strings", n) : ReadString(x, path)).ToList()
                                      : new List<string> { ReadString(n, path) },
        v => new JsonArray(v.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()));

    static string ReadString(JsonNode n, string path) =>
        n is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw Wrong(path, "a string", n);
}

/// <summary>The allowed values of a key: a predicate and its description, used in messages and the documentation.</summary>
public sealed class ConfigRule<T>
{
    public string Text { get; }
    readonly Func<T, bool> _ok;
    readonly Func<string, T, string> _message;

    internal ConfigRule(string text, Func<T, bool> ok, Func<string, T, string> message)
    {
        Text = text;
        _ok = ok;
        _message = message;
    }

    public static readonly ConfigRule<T> Any = new("", _ => true, (_, _) => "");

    /// <summary>Throws a <see cref="BertLabException"/> naming <paramref name="path"/> when <paramref name="value"/> is not allowed.</summary>
    public void Check(string path, T value)
    {
        if (!_ok(value)) throw new BertLabException(_message(path, value));
    }
}

/// <summary>The rules of configuration keys.</summary>
public static class ConfigRules
{
    /// <summary>A numeric rule written as in mathematics: "&gt; 0", "≥ 1", "(0, 1)", "[0, 1)", "[0, 1]".</summary>
    public static ConfigRule<T> Range<T>(string text)
    {
        Func<double, bool> ok;
        string t = text.Trim();
        if (t.StartsWith('>') || t.StartsWith('≥'))
        {
            double lo = ParseBound(t[1..]);
            ok = t[0] == '>' ? d => d > lo : d => d >= lo;
        }
        else
        {
            var parts = t[1..^1].Split(',');
            if (parts.Length != 2 || t[0] is not ('(' or '[') || t[^1] is not (')' or ']')) throw new ArgumentException($"not a range: {text}");
            double lo = ParseBound(parts[0]), hi = ParseBound(parts[1]);
            bool loOpen = t[0] == '(', hiOpen = t[^1] == ')';
            ok = d => (loOpen ? d > lo : d >= lo) && (hiOpen ? d < hi : d <= hi);
            t = "in " + t;
        }
        if (typeof(T) == typeof(int) && t == "≥ 1") t = "a positive integer";
        return new ConfigRule<T>(text, v => ok(Convert.ToDouble(v, CultureInfo.InvariantCulture)),
            (path, v) => string.Create(CultureInfo.InvariantCulture, $"config: {path} must be {t}, got {v}"));
    }

    static double ParseBound(string s) => double.Parse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>null, or a synthetic task spec that <see cref="BertLab.Data.Synthetic.SyntheticTask.Parse"/> accepts.</summary>
    public static readonly ConfigRule<string?> SyntheticTaskSpec = new("null or kind[:name=value,…]",
        v => { if (v is not null) BertLab.Data.Synthetic.SyntheticTask.Parse(v); return true; }, (_, _) => "");

    /// <summary>One of <paramref name="names"/> (or, when <paramref name="accepts"/> is given, what it accepts, e.g. aliases).</summary>
    public static ConfigRule<string> OneOf(IReadOnlyCollection<string> names, Func<string, bool>? accepts = null) =>
        new ConfigRule<string>(string.Join(", ", names), accepts ?? names.Contains,
            (path, v) => $"config: {path} '{v}' is not allowed; allowed: {string.Join(", ", names)}");
}

/// <summary>A key of a settings section (<see cref="DataSettings"/>, <see cref="OptimizerSettings"/>, <see cref="ScheduleSettings"/>,
/// <see cref="RunSettings"/>) bound to one property of it.</summary>
sealed class SectionKey<TSection, T> : ConfigKey<T>, ISectionKey<TSection>
{
    readonly Func<RunConfig, TSection> _section;
    readonly Func<TSection, T> _get;
    readonly Action<TSection, T> _set;
    readonly ConfigType<T> _type;
    readonly ConfigRule<T> _rule;

    public SectionKey(string path, Func<RunConfig, TSection> section, Func<TSection, T> get, Action<TSection, T> set,
        ConfigType<T> type, ConfigRule<T> rule, string help) : base(path, help)
    {
        _section = section;
        _get = get;
        _set = set;
        _type = type;
        _rule = rule;
    }

    public override string TypeName => _type.Name;
    public override string Allowed => _rule.Text;
    public override T Get(RunConfig config) => _get(_section(config));
    public override JsonNode? ToJson(T value) => _type.Write(value);
    public override void Read(RunConfig config, JsonNode node) => _set(_section(config), _type.Read(node, Path));

    public override void Check(T value, string? path = null)
    {
        path ??= Path;
        if (value is double d && !double.IsFinite(d))
            throw new BertLabException(string.Create(CultureInfo.InvariantCulture, $"config: {path} must be a finite number, got {d}"));
        _rule.Check(path, value);
    }

    public void Check(TSection section, string sectionPath) => Check(_get(section), sectionPath + "." + Name);

    public override JsonNode? ParseText(string raw)
    {
        var node = ParseJsonOrString(raw);
        // a string key takes the text as it is ("--set run.init_from=2024"), unless it is written as JSON ("\"x\"", null)
        if (_type.IsText && node is not null && node.GetValueKind() is not (JsonValueKind.String or JsonValueKind.Array)) return JsonValue.Create(raw);
        return node;
    }
}

/// <summary>Validation of a settings object on its own (an <see cref="OptimizerSettings"/> built by fine-tuning).</summary>
interface ISectionKey<in TSection>
{
    void Check(TSection section, string sectionPath);
}
