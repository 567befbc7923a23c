namespace LowLatencyRisk.Ipc;

/// <summary>A ring file does not have the layout this build expects; the message names expected and actual values.</summary>
public sealed class RingLayoutException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RingLayoutException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public RingLayoutException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public RingLayoutException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
