using TorchSharp;

namespace BertLab.Runtime;

/// <summary>Process-wide libtorch setup: device selection and thread count.</summary>
public static class TorchRuntime
{
    public static torch.Device Device(string name)
    {
        switch (name.ToLowerInvariant())
        {
            case "cpu": return torch.CPU;
            case "cuda":
                if (!torch.cuda.is_available())
                    throw new BertLabException("--device cuda: no CUDA device is available (is a CUDA libtorch installed? see README)");
                return torch.CUDA;
            default:
                throw new BertLabException($"unknown device '{name}' (allowed: cpu, cuda)");
        }
    }
}
