using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using BertLab.Runtime;

namespace BertLab.Model;

public sealed class SequenceClassifierOutput
{
    /// <summary>(B, num_labels).</summary>
    public required Tensor Logits { get; init; }
    public Tensor? Loss { get; init; }
    public required BertModelOutput Encoder { get; init; }
}

/// <summary>Hugging Face's BertForSequenceClassification: pooled output → dropout → classifier; cross-entropy, or MSE when num_labels = 1.</summary>
public sealed class BertForSequenceClassification : nn.Module
{
    private readonly BertModel bert;
    private readonly FastDropout dropout;
    private readonly Linear classifier;

    public BertForSequenceClassification(BertConfig config) : base(nameof(BertForSequenceClassification))
    {
        bert = new BertModel(config, addPoolingLayer: true);
        var classifierDropout = config.Extra("classifier_dropout") is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<double>(out var d) ? d : config.HiddenDropoutProb;
        dropout = new FastDropout(classifierDropout);
        classifier = nn.Linear(config.HiddenSize, config.NumLabels);
        RegisterComponents();
        BertInit.Apply(this, config);
    }

    public BertModel Bert => bert;
    public BertConfig Config => bert.Config;
    public bool IsRegression => Config.ProblemType == "regression" || (Config.ProblemType is null && Config.NumLabels == 1);

    /// <param name="labels">(B) class ids (int64), or (B) float targets for regression.</param>
    public SequenceClassifierOutput Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null, Tensor? labels = null,
        ForwardOptions? options = null)
    {
        var enc = bert.Forward(inputIds, attentionMask, tokenTypeIds, options);
        var logits = MixedPrecision.Float(MixedPrecision.Linear(classifier, dropout.forward(enc.PooledOutput!)));
        Tensor? loss = null;
        if (labels is not null)
        {
            if (IsRegression)
                loss = nn.functional.mse_loss(logits.squeeze(-1), labels.to_type(logits.dtype).reshape(-1), nn.Reduction.Mean);
            else
                loss = nn.functional.cross_entropy(logits.reshape(-1, Config.NumLabels), labels.reshape(-1));
            loss = TrainingObjective.WithPenalty(loss, enc.OutputPenalty, Config.Attention.OutputPenalty);
        }
        return new SequenceClassifierOutput { Logits = logits, Loss = loss, Encoder = enc };
    }
}
