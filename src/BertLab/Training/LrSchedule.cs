namespace BertLab.Training;

/// <summary>
/// Learning-rate factor for the optimiser step with 0-based index <c>step</c> (the lr used by that step is
/// peak × Factor(step)). Warmup is linear, (step + 1) / warmup, so the first step never has lr 0.
/// </summary>
public sealed class LrSchedule
{
    readonly ScheduleSettings _s;
    readonly int _total;

    public LrSchedule(ScheduleSettings settings, int totalSteps)
    {
        _s = settings;
        _total = Math.Max(1, totalSteps);
    }

    public double Factor(long step)
    {
        int w = _s.WarmupSteps;
        if (step < w) return (step + 1.0) / w;
        switch (_s.Name)
        {
            case "constant": return 1.0;
            case "linear": return Math.Max(0.0, (_total - step) / (double)Math.Max(1, _total - w));
            case "cosine":
            {
                double progress = Math.Min(1.0, (step - w) / (double)Math.Max(1, _total - w));
                return _s.MinRatio + (1 - _s.MinRatio) * 0.5 * (1 + Math.Cos(Math.PI * progress));
            }
            case "inverse_sqrt": return Math.Sqrt(Math.Max(1, w)) / Math.Sqrt(step + 1.0);
            default: throw new BertLabException($"unknown schedule '{_s.Name}'");
        }
    }
}
