using System.Buffers.Binary;

namespace LowLatencyRisk.Ipc.TestPeer;

/// <summary>
/// The message the ring tests send: producer id, per-producer sequence, filler derived from both,
/// and a checksum over everything before it, so loss, duplication, reordering and torn slots all show.
/// </summary>
public static class TestMessage
{
    /// <summary>Bytes used (fits the 56-byte payload of a 64-byte slot).</summary>
    public const int Size = 56;

    /// <summary>Writes message (<paramref name="producerId"/>, <paramref name="sequence"/>).</summary>
    public static void Write(Span<byte> payload, int producerId, long sequence)
    {
        BinaryPrimitives.WriteInt32LittleEndian(payload, producerId);
        BinaryPrimitives.WriteInt32LittleEndian(payload[4..], ~producerId);
        BinaryPrimitives.WriteInt64LittleEndian(payload[8..], sequence);
        ulong x = Mix(((ulong)(uint)producerId << 40) ^ (ulong)sequence);
        for (int i = 16; i < 48; i += 8)
        {
            x = Mix(x + (ulong)i);
            BinaryPrimitives.WriteUInt64LittleEndian(payload[i..], x);
        }

        BinaryPrimitives.WriteUInt64LittleEndian(payload[48..], Checksum(payload[..48]));
    }

    /// <summary>Reads and checks a message; false if any byte is inconsistent (a torn or corrupted slot).</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out int producerId, out long sequence)
    {
        producerId = BinaryPrimitives.ReadInt32LittleEndian(payload);
        sequence = BinaryPrimitives.ReadInt64LittleEndian(payload[8..]);
        if (BinaryPrimitives.ReadInt32LittleEndian(payload[4..]) != ~producerId)
        {
            return false;
        }

        ulong x = Mix(((ulong)(uint)producerId << 40) ^ (ulong)sequence);
        for (int i = 16; i < 48; i += 8)
        {
            x = Mix(x + (ulong)i);
            if (BinaryPrimitives.ReadUInt64LittleEndian(payload[i..]) != x)
            {
                return false;
            }
        }

        return BinaryPrimitives.ReadUInt64LittleEndian(payload[48..]) == Checksum(payload[..48]);
    }

    private static ulong Checksum(ReadOnlySpan<byte> data)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (byte b in data)
        {
            h = (h ^ b) * 0x100000001B3UL;
        }

        return h;
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
