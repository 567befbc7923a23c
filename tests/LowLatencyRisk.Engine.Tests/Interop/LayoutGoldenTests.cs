using System.Runtime.InteropServices;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Testing;
using LowLatencyRisk.WireGen;

namespace LowLatencyRisk.Engine.Tests.Interop;

/// <summary>
/// The message structs are the one source of every layout: the C header's message structs,
/// layout.golden (which the C compiler must reproduce: <c>make check</c>) and the README's wire
/// table are rendered from them, and must equal what is checked in.
/// </summary>
public class LayoutGoldenTests
{
    [Fact]
    public void EveryConstantOfTheHeader_HasANameAndAValue()
    {
        // A name padded to a fixed width once ran into its value (LLR_LIQUIDATION_ORDER_SLOT_SIZE128:
        // a macro with no value), and C code using the intended name did not compile.
        string[] defines = [.. WireRenderer.Render("native-interop/include/llr/llr_messages.h", NativePeers.RepoRoot).Split('\n').Where(l => l.StartsWith("#define LLR_", StringComparison.Ordinal) && l != "#define LLR_MESSAGES_H")]; // every line but the include guard
        Assert.NotEmpty(defines);
        Assert.All(defines, d => Assert.Matches(@"^#define LLR_[A-Z0-9_]*[A-Z_] +-?\d+( |$)", d));
        Assert.Contains(defines, d => System.Text.RegularExpressions.Regex.IsMatch(d, @"^#define LLR_LIQUIDATION_ORDER_SLOT_SIZE +128$"));
    }

    [Fact]
    public void RenderedFiles_EqualWhatIsCheckedIn()
    {
        var stale = WireRenderer.StaleOutputs(NativePeers.RepoRoot);
        Assert.True(stale.Count == 0, $"stale: {string.Join(", ", stale)}; run: dotnet run --project tools/LowLatencyRisk.WireGen");
    }

    [Fact]
    public void AnEditedCopy_IsReportedStale_AndOnlyIt()
    {
        // Negative control of the check above, on a copy of the rendered files: each edit is seen.
        string root = Path.Combine(TempFiles.Directory, $"llr-wiregen-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            foreach (string output in WireRenderer.Outputs)
            {
                string to = Path.Combine(root, output);
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.Copy(Path.Combine(NativePeers.RepoRoot, output), to);
            }

            Assert.Empty(WireRenderer.StaleOutputs(root));
            string header = Path.Combine(root, "native-interop/include/llr/llr_messages.h");
            File.WriteAllText(header, File.ReadAllText(header).Replace("double quantity;", "float quantity; ", StringComparison.Ordinal));
            Assert.Equal(["native-interop/include/llr/llr_messages.h"], WireRenderer.StaleOutputs(root));
            string readme = Path.Combine(root, "README.md");
            File.WriteAllText(readme, File.ReadAllText(readme).Replace("40 f64 quantity", "44 f64 quantity", StringComparison.Ordinal));
            Assert.Equal(["native-interop/include/llr/llr_messages.h", "README.md"], WireRenderer.StaleOutputs(root));
            File.Delete(Path.Combine(root, "native-interop/layout.golden"));
            Assert.Contains("native-interop/layout.golden", WireRenderer.StaleOutputs(root));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>The golden lines that differ from <paramref name="actual"/> at the same position, and lines missing or extra at the end.</summary>
    internal static List<string> Differences(IReadOnlyList<string> expected, IReadOnlyList<string> actual)
    {
        var differences = new List<string>();
        for (int i = 0; i < Math.Max(expected.Count, actual.Count); i++)
        {
            string e = i < expected.Count ? expected[i] : "(none)";
            string a = i < actual.Count ? actual[i] : "(none)";
            if (e != a)
            {
                differences.Add($"line {i + 1}: golden '{e}', C# '{a}'");
            }
        }

        return differences;
    }

    private static string[] Golden() =>
        [.. File.ReadAllLines(Path.Combine(NativePeers.RepoRoot, "native-interop", "layout.golden")).Where(l => l.Length > 0)];

    [Fact]
    public void AMovedField_IsReportedAsThatLine()
    {
        var lines = WireRenderer.GoldenLines().ToArray();
        Assert.Empty(Differences(Golden(), lines));
        int at = Array.FindIndex(lines, l => l.StartsWith("Fill.quantity ", StringComparison.Ordinal));
        lines[at] = "Fill.quantity 44 8";
        Assert.Equal([$"line {at + 1}: golden 'Fill.quantity 40 8', C# 'Fill.quantity 44 8'"], Differences(Golden(), lines));
    }

    /// <summary>Feed message types with no struct in <paramref name="golden"/>.</summary>
    internal static List<FeedMessageType> TypesWithoutALayout(IEnumerable<string> golden)
    {
        var structs = golden.Select(l => l.Split('.')[0]).ToHashSet(StringComparer.Ordinal);
        return [.. Enum.GetValues<FeedMessageType>().Where(t => !structs.Contains(t.ToString()))];
    }

    [Fact]
    public void EveryFeedMessageType_HasItsStruct_AndItsLayoutInC()
    {
        // OrderLifecycle and KillSwitch once had no C struct and no golden line, and nothing noticed.
        Assert.Equal(Enum.GetValues<FeedMessageType>(), FeedMessageDescriptor.Messages.Select(m => m.Type));
        Assert.All(FeedMessageDescriptor.Messages, m => Assert.Equal(m.Type + "Message", m.Struct.Name));
        Assert.Empty(TypesWithoutALayout(Golden()));
        var withoutKillSwitch = Golden().Where(l => !l.StartsWith("KillSwitch.", StringComparison.Ordinal));
        Assert.Equal([FeedMessageType.KillSwitch], TypesWithoutALayout(withoutKillSwitch)); // the check can fail
    }

    [Fact]
    public void EveryFeedMessage_BeginsWithTheHeader_AndFitsItsSlot()
    {
        Assert.Equal(FeedMessageDescriptor.HeaderSize, Marshal.SizeOf<FeedHeader>());
        foreach (var (type, message) in FeedMessageDescriptor.Messages)
        {
            var first = WireRenderer.Fields(message)[0];
            Assert.Equal((typeof(FeedHeader), 0), (first.Type, first.Offset));
            Assert.InRange(WireRenderer.DeclaredSize(message), FeedMessageDescriptor.HeaderSize, FeedMessageDescriptor.PayloadSize);
        }

        Assert.InRange(WireRenderer.DeclaredSize(typeof(BreachMessage)), 0, BreachMessageDescriptor.SlotSize - 8);
        Assert.Equal(Engine.Gate.OrderCheckRequestDescriptor.Size, WireRenderer.DeclaredSize(typeof(OrderCheckRequestMessage)));
        Assert.Equal(Engine.Gate.OrderCheckResponseDescriptor.Size, WireRenderer.DeclaredSize(typeof(OrderCheckResponseMessage)));
    }
}

/// <summary>Every explicit-layout wire struct checked by reflection: offsets, natural alignment, no overlap, size (after Disruptor-net's ExplicitStructLayoutTests).</summary>
public class ExplicitStructLayoutTests
{
    public static TheoryData<string> WireStructs()
    {
        var data = new TheoryData<string>();
        foreach (var t in WireRenderer.Structs)
        {
            data.Add(t.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(WireStructs))]
    public void WireStruct_HasASoundExplicitLayout(string name)
    {
        var type = WireRenderer.Structs.Single(t => t.Name == name);
        Assert.Empty(WireRenderer.LayoutProblems(type));
    }

    [StructLayout(LayoutKind.Explicit, Size = 16)]
    private struct Misaligned
    {
        [FieldOffset(0)] public int A;
        [FieldOffset(4)] public double B;
    }

    [StructLayout(LayoutKind.Explicit, Size = 16)]
    private struct Overlapping
    {
        [FieldOffset(0)] public long A;
        [FieldOffset(4)] public int B;
    }

    [StructLayout(LayoutKind.Explicit, Size = 12)]
    private struct OddSize
    {
        [FieldOffset(0)] public long A;
    }

    [StructLayout(LayoutKind.Explicit, Size = 8)]
    private struct TooSmall
    {
        [FieldOffset(0)] public long A;
        [FieldOffset(8)] public int B;
    }

    private struct Sequential
    {
#pragma warning disable CS0649 // only its layout is read
        public int A;
#pragma warning restore CS0649
    }

    [Fact]
    public void EachCheck_CanFail()
    {
        Assert.Equal(["Misaligned.B: offset 4 is not a multiple of its alignment 8"], WireRenderer.LayoutProblems(typeof(Misaligned)));
        Assert.Equal(["Overlapping.B: offset 4 overlaps A, which ends at 8"], WireRenderer.LayoutProblems(typeof(Overlapping)));
        Assert.Contains("OddSize: size 12 is not a multiple of its alignment 8 (C would pad it to 16)", WireRenderer.LayoutProblems(typeof(OddSize)));
        var tooSmall = WireRenderer.LayoutProblems(typeof(TooSmall));
        Assert.Contains("TooSmall.B: ends at 12, past the size 8", tooSmall);
        Assert.Contains(tooSmall, p => p.StartsWith("TooSmall: runtime size", StringComparison.Ordinal));
        Assert.Equal(["Sequential: not LayoutKind.Explicit"], WireRenderer.LayoutProblems(typeof(Sequential)));
    }
}
