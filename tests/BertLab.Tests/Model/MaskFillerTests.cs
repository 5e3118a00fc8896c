using BertLab.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Model;

public class MaskFillerTests
{
    /// <summary>The tiny fixture model has 1,024 tokens: give it the first 1,024 lines of the bert-base vocabulary.</summary>
    static string TinyModelWithVocab()
    {
        var dir = Directory.CreateTempSubdirectory("bertlab-fill-").FullName;
        foreach (var f in new[] { "config.json", "model.safetensors" }) File.Copy(Path.Combine(Fixtures.HfModel("tiny-bert-mlm"), f), Path.Combine(dir, f));
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), File.ReadLines(DataPaths.Find("vocab/bert-base-uncased-vocab.txt")).Take(1024));
        return dir;
    }

    [Fact]
    public void TopK_AreTheSoftmaxOfTheModelLogitsAtTheMask()
    {
        using var scope = NewDisposeScope();
        var dir = TinyModelWithVocab();
        try
        {
            using var filler = new MaskFiller(dir);
            var predictions = filler.Predict("( [MASK] )", topK: 4);
            Assert.Equal(4, predictions.Count);
            // reference: the model's logits (checked against Hugging Face elsewhere) for [CLS] ( [MASK] ) [SEP]
            var model = BertCheckpoint.LoadMaskedLM(dir);
            model.eval();
            var ids = tensor(new long[] { 101, 1006, 103, 1007, 102 }, new long[] { 1, 5 });
            var probs = model.Forward(ids).Logits[0, 2].softmax(-1);
            var (values, indices) = probs.topk(4);
            for (int k = 0; k < 4; k++)
            {
                Assert.Equal(indices[k].item<long>(), predictions[k].TokenId);
                Assert.Equal(values[k].item<float>(), predictions[k].Probability, 6);
            }
            Assert.True(predictions.Zip(predictions.Skip(1)).All(p => p.First.Probability >= p.Second.Probability));
            Assert.Throws<BertLabException>(() => filler.Predict("no mask here"));
        }
        finally { Directory.Delete(dir, true); }
    }
}
