namespace BertLab.Data;

/// <summary>
/// Where an <see cref="MlmDataLoader"/> stands: save it in a checkpoint, restore it to continue with exactly the
/// batches and masks an uninterrupted run would have seen. Serialisable as JSON (System.Text.Json, public properties).
/// The generators are counter-based — the shuffle of an epoch is drawn from (Seed, Epoch) and the masks of a sequence
/// from (Seed, Epoch, sequence id) — so these three numbers are the complete random state.
/// </summary>
/// <param name="Seed">The loader's seed.</param>
/// <param name="Epoch">Epochs completed (0 during the first).</param>
/// <param name="Index">Sequences of this epoch already handed out (the next batch starts at this place of the epoch's order).</param>
public readonly record struct DataPosition(ulong Seed, int Epoch, long Index);
