using System.CommandLine;
using System.Globalization;
using BertLab.Model;
using BertLab.Runtime;
using Spectre.Console;

namespace BertLab.Cli;

/// <summary>bertlab fill-mask: the most likely tokens for each [MASK].</summary>
public sealed class FillMaskVerb : IVerb
{
    public int Order => 61;

    public Command Build()
    {
        var model = new Option<string>("--model") { Description = "Masked-LM model directory (e.g. a run's model/ folder)", Required = true };
        var text = new Argument<string>("text") { Description = "Text with one or more [MASK] tokens" };
        var topK = new Option<int>("--top-k") { Description = "Candidates per mask", DefaultValueFactory = _ => 5 };
        var cmd = new Command("fill-mask", "Predict the tokens behind [MASK] with a masked-LM model");
        cmd.Options.Add(model); cmd.Options.Add(topK); cmd.Arguments.Add(text);
        cmd.SetAction(r =>
        {
            if (r.GetValue(topK) < 1) throw new BertLabException($"--top-k must be at least 1, not {r.GetValue(topK)}");
            TorchRuntime.Initialize();
            using var filler = new MaskFiller(r.GetValue(model)!);
            var predictions = filler.Predict(r.GetValue(text)!, r.GetValue(topK));
            var table = new Table().AddColumn("mask").AddColumn("token").AddColumn(new TableColumn("probability").RightAligned());
            foreach (var p in predictions)
                table.AddRow((p.MaskIndex + 1).ToString(CultureInfo.InvariantCulture), Markup.Escape(p.Token), p.Probability.ToString("F4", CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            return 0;
        });
        return cmd;
    }
}
