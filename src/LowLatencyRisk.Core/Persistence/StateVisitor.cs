using System.Runtime.InteropServices;

namespace LowLatencyRisk.Core.Persistence;

/// <summary>
/// Walks the mutable state of a book, a gate or an engine in one fixed order. The same walk
/// measures it, copies it out (a snapshot) and copies it back in (recovery), so what is saved and
/// what is restored cannot drift apart: a field added to the walk is saved and restored alike.
/// </summary>
public abstract class StateVisitor
{
    /// <summary>Visits raw bytes (copied out, copied in, or counted).</summary>
    public abstract void Bytes(Span<byte> data);

    /// <summary>Visits a whole array of an unmanaged type.</summary>
    public void Array<T>(T[] array) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(array);
        Bytes(MemoryMarshal.AsBytes(array.AsSpan()));
    }

    /// <summary>Visits one value.</summary>
    public void Value<T>(ref T value) where T : unmanaged => Bytes(MemoryMarshal.AsBytes(new Span<T>(ref value)));
}

/// <summary>Counts the bytes of a walk and fingerprints its shape (the sequence of lengths): two walks with the same fingerprint can restore each other.</summary>
public sealed class StateMeasure : StateVisitor
{
    /// <summary>Total bytes.</summary>
    public long Length { get; private set; }

    /// <summary>FNV-1a over the lengths of the visited pieces, in order.</summary>
    public ulong Fingerprint { get; private set; } = 14695981039346656037;

    /// <inheritdoc/>
    public override void Bytes(Span<byte> data)
    {
        Length += data.Length;
        Fingerprint = (Fingerprint ^ (ulong)data.Length) * 1099511628211;
    }
}

/// <summary>Copies a walk out into a preallocated buffer (allocation-free).</summary>
public sealed class StateCapture(byte[] buffer) : StateVisitor
{
    /// <summary>Bytes written.</summary>
    public int Position { get; private set; }

    /// <summary>Starts over at the beginning of the buffer.</summary>
    public void Reset() => Position = 0;

    /// <inheritdoc/>
    public override void Bytes(Span<byte> data)
    {
        data.CopyTo(buffer.AsSpan(Position));
        Position += data.Length;
    }
}

/// <summary>Copies a walk back in from a snapshot's bytes.</summary>
public sealed class StateRestore(ReadOnlyMemory<byte> source) : StateVisitor
{
    /// <summary>Bytes read.</summary>
    public int Position { get; private set; }

    /// <inheritdoc/>
    public override void Bytes(Span<byte> data)
    {
        source.Span.Slice(Position, data.Length).CopyTo(data);
        Position += data.Length;
    }
}
