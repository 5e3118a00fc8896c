namespace BertLab.Training;

/// <summary>
/// Learning rate rising linearly from 0 to the peak over the warm-up steps, then falling linearly to 0 at the
/// last step (BERT's schedule; Hugging Face's get_linear_schedule_with_warmup: step s gets
/// s / warmup while s &lt; warmup, else (total − s) / (total − warmup)).
/// </summary>
public sealed class LinearWarmupSchedule
{
    public double PeakLearningRate { get; }
    public int TotalSteps { get; }
    public int WarmupSteps { get; }

    public LinearWarmupSchedule(double peakLearningRate, int totalSteps, int warmupSteps)
    {
        if (totalSteps < 1) throw new ArgumentOutOfRangeException(nameof(totalSteps), "at least one step");
        if (warmupSteps < 0 || warmupSteps > totalSteps) throw new ArgumentOutOfRangeException(nameof(warmupSteps));
        PeakLearningRate = peakLearningRate; TotalSteps = totalSteps; WarmupSteps = warmupSteps;
    }

    /// <summary>The learning rate of 0-based step <paramref name="step"/>.</summary>
    public double LearningRate(int step)
    {
        double factor = step < WarmupSteps
            ? (double)step / WarmupSteps
            : Math.Max(0, (double)(TotalSteps - step) / Math.Max(1, TotalSteps - WarmupSteps));
        return PeakLearningRate * factor;
    }
}
