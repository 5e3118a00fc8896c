namespace BertLab;

/// <summary>An error a user can cause (bad path, bad config, corrupt checkpoint): shown as one message, never a stack trace.</summary>
public class BertLabException : Exception
{
    public BertLabException(string message) : base(message) { }
    public BertLabException(string message, Exception inner) : base(message, inner) { }
}
