using System.CommandLine.Parsing;
using System.Text.RegularExpressions;

namespace BertLab.Cli;

/// <summary>System.CommandLine's parse errors in a user's words: "--steps: 'abc' is not an integer", never a .NET type name.</summary>
public static class ParseErrors
{
    static readonly Regex CannotParse = new(@"^Cannot parse argument '(?<value>.*)' for (?:option|argument|command) '(?<name>.*)' as expected type '(?<type>.*)'\.?$", RegexOptions.Singleline);

    public static string Rewrite(ParseError error) => Rewrite(error.Message);

    public static string Rewrite(string message)
    {
        var m = CannotParse.Match(message);
        if (m.Success) return $"{m.Groups["name"].Value}: '{m.Groups["value"].Value}' is not {Expected(m.Groups["type"].Value)}";
        // any other message that names a .NET type: drop the type
        return Regex.Replace(message, @"\s*(?:as expected type\s*)?'?System\.[\w.`\[\], ]+'?", "").Trim();
    }

    /// <summary>"an integer", "a number", "true or false", … for a .NET type name such as System.Nullable`1[System.Int32].</summary>
    public static string Expected(string typeName)
    {
        var inner = Regex.Match(typeName, @"^System\.Nullable`1\[(.*)\]$") is { Success: true } n ? n.Groups[1].Value : typeName;
        return inner switch
        {
            "System.Int32" or "System.Int64" or "System.Int16" or "System.SByte" => "an integer",
            "System.UInt32" or "System.UInt64" or "System.UInt16" or "System.Byte" => "a whole number (0 or more)",
            "System.Double" or "System.Single" or "System.Decimal" => "a number",
            "System.Boolean" => "true or false",
            _ => "a valid value",
        };
    }
}
