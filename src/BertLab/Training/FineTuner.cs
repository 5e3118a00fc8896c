using System.Diagnostics;
using System.Text.Json.Nodes;
using BertLab.Data.Tasks;
using BertLab.Model;
using BertLab.Text;
using BertLab.Training.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Training;

/// <summary>
/// Fine-tunes a BERT checkpoint on a sentence(-pair) task: a classification head (cross-entropy) or a regression
/// head (MSE, one output) on the pooled output; AdamW with decoupled weight decay (not on biases/LayerNorm; <see cref="Optimizers"/>),
/// linear warm-up then linear decay (<see cref="LrSchedule"/>), gradient clipping; evaluation on every dev split after each epoch; the best epoch
/// by the task's main score; several seeds, reported as the median (and spread) of the best-epoch metrics.
/// The best model over all seeds and epochs is saved as a Hugging Face folder with the task's label names.
/// </summary>
public sealed class FineTuner
{
    readonly string _modelDirectory;
    readonly ITokenizer _tokenizer;
    readonly FineTuneOptions _options;
    readonly Device _device;
    readonly Action<string> _log;

    /// <summary>Where to write TensorBoard scalars (seed-N/train/loss, lr, grad_norm, examples_per_s at every step;
    /// seed-N/dev/METRIC and seed-N/train/epoch_loss after every epoch); null = none.</summary>
    public TensorBoardWriter? TensorBoard { get; init; }

    public FineTuner(string modelDirectory, ITokenizer tokenizer, FineTuneOptions options, Device? device = null, Action<string>? log = null)
    {
        _modelDirectory = modelDirectory;
        _tokenizer = tokenizer;
        _options = options;
        _device = device ?? CPU;
        _log = log ?? (_ => { });
    }

    /// <summary>Asked after every step: a non-null answer (e.g. "SIGINT") stops fine-tuning with a
    /// <see cref="TrainingStoppedException"/>, the finished seeds' results and the best model so far kept on disk.</summary>
    public Func<string?>? StopRequested { get; init; }

    public FineTuneResult Run(TaskDataset data, string outputDirectory)
    {
        _options.Validate();
        var spec = data.Spec;
        var config = BertCheckpoint.LoadConfig(_modelDirectory);
        if (_options.MaxLength > config.MaxPositionEmbeddings)
            throw new BertLabException($"--max-length {_options.MaxLength} exceeds the model's max_position_embeddings ({config.MaxPositionEmbeddings})");
        Directory.CreateDirectory(outputDirectory);

        var trainExamples = _options.MaxTrainExamples > 0 ? data.Train.Take(_options.MaxTrainExamples).ToList() : data.Train;
        var train = new EncodedExamples(trainExamples, _tokenizer, _options.MaxLength, config.VocabSize);
        var dev = data.Dev.Select(s => (s.Split, Data: new EncodedExamples(s.Examples, _tokenizer, _options.MaxLength, config.VocabSize))).ToList();
        int stepsPerEpoch = (train.Count + _options.BatchSize - 1) / _options.BatchSize;
        int totalSteps = stepsPerEpoch * _options.Epochs;
        int truncated = Enumerable.Range(0, train.Count).Count(i => train.Length(i) == _options.MaxLength);
        _log($"task {spec.Name}: {train.Count} train examples ({truncated} at the {_options.MaxLength}-token limit), " +
             $"{string.Join(", ", dev.Select(d => $"{d.Data.Count} {d.Split.Name}"))}; {stepsPerEpoch} steps/epoch × {_options.Epochs} epochs; " +
             $"score = {spec.ScoreDefinition}");

        var seeds = new List<SeedResult>();
        double bestOverall = double.NegativeInfinity;
        int? savedSeed = null;
        var settings = Settings(spec, train.Count, totalSteps);
        foreach (var seed in _options.Seeds)
        {
            SeedResult seedResult;
            try
            {
                seedResult = RunSeed(seed, spec, train, dev, totalSteps, (score, model) =>
                {
                    if (!_options.SaveModel || !(score > bestOverall)) return;
                    bestOverall = score;
                    savedSeed = seed;
                    SaveModel(model, outputDirectory);
                });
            }
            catch (TrainingStoppedException stop)
            {
                if (seeds.Count > 0) Result(spec, seeds, savedSeed, settings).Save(outputDirectory);
                string kept = seeds.Count > 0
                    ? $"the {seeds.Count} finished seed(s) are in {Path.Combine(outputDirectory, FineTuneResult.FileName)}" + (savedSeed is int sv ? $", the best model so far (seed {sv}) in {outputDirectory}" : "")
                    : savedSeed is int sv2 ? $"no seed finished; the best model so far (seed {sv2}) is in {outputDirectory}" : "no seed finished, nothing was saved";
                throw new TrainingStoppedException($"{stop.Message}: {kept}; fine-tuning does not resume: run the command again to redo it");
            }
            seeds.Add(seedResult);
            Result(spec, seeds, savedSeed, settings).Save(outputDirectory);   // partial results survive an interruption
        }
        var result = Result(spec, seeds, savedSeed, settings);
        result.Save(outputDirectory);
        if (savedSeed is not null)
            ModelFiles.RewriteCard(outputDirectory, new ModelCard { Source = "fine-tuning", BaseModel = _modelDirectory, Task = spec.Name, Results = result.Metrics });
        return result;
    }

    SeedResult RunSeed(int seed, TaskSpec spec, EncodedExamples train, List<(TaskSplit Split, EncodedExamples Data)> dev,
        int totalSteps, Action<double, BertForSequenceClassification> onImproved)
    {
        torch.manual_seed(seed);
        if (_device.type == DeviceType.CUDA) torch.cuda.manual_seed_all(seed);
        var (model, report) = BertCheckpoint.LoadSequenceClassification(_modelDirectory, c => AdjustConfig(c, spec), _device);
        using var _model = model;
        if (report.NewlyInitialized.Count > 0 && seed == _options.Seeds[0])
            _log($"newly initialised (random): {string.Join(", ", report.NewlyInitialized)}");
        var optimizerSettings = new OptimizerSettings
        {
            Name = "adamw", Lr = _options.LearningRate, WeightDecay = _options.WeightDecay, ClipNorm = _options.MaxGradNorm,
        };
        using var optimizer = Optimizers.Create(model, optimizerSettings);
        var schedule = new LrSchedule(new ScheduleSettings { Name = "linear", WarmupSteps = (int)Math.Round(_options.WarmupRatio * totalSteps) }, totalSteps);
        double LearningRate(int s) => _options.LearningRate * schedule.Factor(s);
        var parameters = model.parameters().ToList();
        var rng = new Random(seed);

        var epochs = new List<EpochResult>();
        int step = 0, bestEpoch = 0;
        double bestScore = double.NegativeInfinity;
        IReadOnlyDictionary<string, double>? bestMetrics = null;
        for (int epoch = 1; epoch <= _options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            var order = Enumerable.Range(0, train.Count).ToArray();
            rng.Shuffle(order);
            double lossSum = 0;
            int batches = 0;
            model.train();
            foreach (var indices in order.Chunk(_options.BatchSize))
            {
                using var scope = NewDisposeScope();
                Optimizers.SetLearningRate(optimizer, LearningRate(step));
                using var batch = train.Batch(indices, _device);
                var output = model.Forward(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds, batch.Labels);
                var loss = output.Loss!;
                optimizer.zero_grad();
                loss.backward();
                var gradNorm = Optimizers.ClipGradNorm(parameters, _options.MaxGradNorm);
                optimizer.step();
                double l = loss.item<float>();
                if (!double.IsFinite(l))
                    throw new BertLabException($"seed {seed}, epoch {epoch}, step {step + 1}: the loss is {l}; try a lower --lr (now {_options.LearningRate})");
                lossSum += l; batches++; step++;
                if (TensorBoard is { } tb)
                {
                    tb.Scalar($"seed-{seed}/train/loss", l, step);
                    tb.Scalar($"seed-{seed}/train/lr", LearningRate(step - 1), step);
                    tb.Scalar($"seed-{seed}/train/grad_norm", gradNorm.item<float>(), step);
                    tb.Scalar($"seed-{seed}/train/examples_per_s", batches * (double)_options.BatchSize / Math.Max(clock.Elapsed.TotalSeconds, 1e-9), step);
                }
                if (StopRequested?.Invoke() is string signal)
                    throw new TrainingStoppedException($"fine-tuning stopped by {signal} at seed {seed}, epoch {epoch}, step {step}/{totalSteps}");
                if (_options.LogEvery > 0 && step % _options.LogEvery == 0)
                    _log($"seed {seed} epoch {epoch} step {step}/{totalSteps} loss {lossSum / batches:F4} lr {LearningRate(step - 1):E2} " +
                         $"{batches * (double)_options.BatchSize / clock.Elapsed.TotalSeconds:F1} examples/s");
            }
            var metrics = Evaluate(model, spec, dev);
            clock.Stop();
            epochs.Add(new EpochResult(epoch, lossSum / Math.Max(1, batches), metrics, clock.Elapsed.TotalSeconds));
            if (TensorBoard is { } board)
            {
                board.Scalar($"seed-{seed}/train/epoch_loss", lossSum / Math.Max(1, batches), step);
                foreach (var (name, value) in metrics) board.Scalar($"seed-{seed}/dev/{name}", value, step);
            }
            double score = metrics[TaskScorer.ScoreKey];
            _log($"seed {seed} epoch {epoch}: train loss {lossSum / Math.Max(1, batches):F4}, " +
                 string.Join(", ", metrics.Select(kv => $"{kv.Key} {kv.Value:F4}")) + $" ({clock.Elapsed.TotalSeconds:F1} s)");
            if (score > bestScore)
            {
                bestScore = score; bestEpoch = epoch; bestMetrics = metrics;
                onImproved(score, model);
            }
        }
        return new SeedResult(seed, bestEpoch, bestMetrics!, epochs);
    }

    Dictionary<string, double> Evaluate(BertForSequenceClassification model, TaskSpec spec, List<(TaskSplit Split, EncodedExamples Data)> dev)
    {
        var splits = new List<(TaskSplit, SplitPredictions)>();
        foreach (var (split, data) in dev)
        {
            var p = SequenceClassifierPredictor.Predict(model, data, _device, _options.EvalBatchSize);
            splits.Add((split, spec.IsRegression
                ? SplitPredictions.Scores(p.Scores!, data.Examples.Select(e => e.Score!.Value).ToArray())
                : SplitPredictions.Classes(p.Classes!, data.Examples.Select(e => e.LabelId!.Value).ToArray())));
        }
        return TaskScorer.Evaluate(spec, splits);
    }

    /// <summary>The head the task needs: its label names (id2label/label2id), or one output for regression.</summary>
    public static void AdjustConfig(BertConfig config, TaskSpec spec)
    {
        if (spec.IsRegression)
        {
            config.Id2Label = new SortedDictionary<int, string> { [0] = "LABEL_0" };
            config.ProblemType = "regression";
        }
        else
        {
            var labels = spec.Labels ?? throw new InvalidOperationException($"task '{spec.Name}': classes not known");
            config.Id2Label = new SortedDictionary<int, string>(labels.Select((l, i) => (i, l)).ToDictionary(x => x.i, x => x.l));
            config.ProblemType = "single_label_classification";
        }
    }

    void SaveModel(BertForSequenceClassification model, string outputDirectory)
    {
        var vocab = Path.Combine(_modelDirectory, BertCheckpoint.VocabFile);
        // the casing comes from the source model's tokenizer_config.json (ModelFiles.LowerCase), as _tokenizer's did
        BertCheckpoint.Save(model, model.Config, outputDirectory, File.Exists(vocab) ? vocab : null,
            new ModelCard { Source = "fine-tuning", BaseModel = _modelDirectory });
    }

    JsonObject Settings(TaskSpec spec, int trainCount, int totalSteps) => new()
    {
        ["from"] = Path.GetFullPath(_modelDirectory),
        ["task_description"] = spec.Description,
        ["labels"] = spec.IsRegression ? null : new JsonArray(spec.Labels!.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray()),
        ["regression"] = spec.IsRegression,
        ["train_examples"] = trainCount,
        ["epochs"] = _options.Epochs,
        ["learning_rate"] = _options.LearningRate,
        ["batch_size"] = _options.BatchSize,
        ["max_length"] = _options.MaxLength,
        ["weight_decay"] = _options.WeightDecay,
        ["warmup_ratio"] = _options.WarmupRatio,
        ["max_grad_norm"] = _options.MaxGradNorm,
        ["total_steps"] = totalSteps,
        ["seeds"] = new JsonArray(_options.Seeds.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray()),
        ["device"] = _device.ToString(),
        ["threads"] = torch.get_num_threads(),
    };

    static FineTuneResult Result(TaskSpec spec, List<SeedResult> seeds, int? savedSeed, JsonObject settings)
    {
        var names = seeds[0].Metrics.Keys.ToList();
        var spread = FineTuneResult.Summarize(seeds, names);
        return new FineTuneResult
        {
            Task = spec.Name,
            Metrics = names.ToDictionary(n => n, n => spread[n].Median),
            Spread = spread,
            Seeds = seeds.ToList(),
            ScoreDefinition = spec.ScoreDefinition,
            SavedSeed = savedSeed,
            Settings = settings,
        };
    }
}
