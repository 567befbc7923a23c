using System.Reflection;
using System.Runtime.InteropServices;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc.Layout;
using LowLatencyRisk.Testing;
using F = LowLatencyRisk.Engine.Wire.FeedMessageDescriptor;
using B = LowLatencyRisk.Engine.Wire.BreachMessageDescriptor;
using Q = LowLatencyRisk.Engine.Gate.OrderCheckRequestDescriptor;
using R = LowLatencyRisk.Engine.Gate.OrderCheckResponseDescriptor;

namespace LowLatencyRisk.Engine.Tests.Interop;

/// <summary>The C# layouts rebuilt as "Struct.Field offset size" lines must equal native-interop/layout.golden, which the C header prints.</summary>
public class LayoutGoldenTests
{
    private static int FieldSize(string name) =>
        Marshal.SizeOf(typeof(RingHeader).GetField(name, BindingFlags.Public | BindingFlags.Instance)!.FieldType);

    private static string Ring(string cName, string csName) =>
        $"RingHeader.{cName} {Marshal.OffsetOf<RingHeader>(csName)} {FieldSize(csName)}";

    internal static IEnumerable<string> CSharpLines()
    {
        yield return Ring("magic", nameof(RingHeader.Magic));
        yield return Ring("layout_version", nameof(RingHeader.LayoutVersion));
        yield return Ring("header_length", nameof(RingHeader.HeaderLength));
        yield return Ring("slot_size", nameof(RingHeader.SlotSize));
        yield return Ring("capacity", nameof(RingHeader.Capacity));
        yield return Ring("producer_mode", nameof(RingHeader.ProducerMode));
        yield return Ring("consumer_count", nameof(RingHeader.ConsumerCount));
        yield return Ring("file_length", nameof(RingHeader.FileLength));
        yield return Ring("creator_pid", nameof(RingHeader.CreatorPid));
        yield return Ring("ready", nameof(RingHeader.Ready));
        yield return Ring("created_unix_nanos", nameof(RingHeader.CreatedUnixNanos));
        yield return Ring("claim_sequence", nameof(RingHeader.ClaimSequence));
        for (int i = 0; i < RingHeaderDescriptor.MaxConsumers; i++)
        {
            yield return $"RingHeader.consumer{i}_sequence {RingHeaderDescriptor.ConsumerLineOffset(i) + RingHeaderDescriptor.ConsumerSequenceOffsetInLine} 8";
            yield return $"RingHeader.consumer{i}_abandoned_slots {RingHeaderDescriptor.ConsumerLineOffset(i) + RingHeaderDescriptor.ConsumerAbandonedOffsetInLine} 8";
        }

        yield return $"RingHeader.slots {RingHeaderDescriptor.SlotsOffset} 0";
        yield return $"FeedHeader.type {F.TypeOffset} 1";
        yield return $"FeedHeader.version {F.VersionOffset} 1";
        yield return $"FeedHeader.producer_id {F.ProducerIdOffset} 2";
        yield return $"FeedHeader.producer_epoch {F.ProducerEpochOffset} 4";
        yield return $"FeedHeader.producer_sequence {F.ProducerSequenceOffset} 8";
        yield return $"FeedHeader.timestamp_nanos {F.TimestampOffset} 8";
        yield return $"FeedHeader.publish_ticks {F.PublishTicksOffset} 8";
        yield return $"IndexPrice.underlying {F.Int0} 4";
        yield return $"IndexPrice.price {F.Double0} 8";
        yield return $"OptionMark.instrument {F.Int0} 4";
        yield return $"OptionMark.volatility {F.Double0} 8";
        yield return $"OptionMark.price {F.Double1} 8";
        yield return $"Fill.account {F.Int0} 4";
        yield return $"Fill.instrument {F.Int1} 4";
        yield return $"Fill.quantity {F.Double0} 8";
        yield return $"Fill.price {F.Double1} 8";
        yield return $"Fill.trade_id {F.Long2} 8";
        yield return $"OrderLifecycle.account {F.LifecycleAccount} 4";
        yield return $"OrderLifecycle.event {F.LifecycleEvent} 1";
        yield return $"OrderLifecycle.client_order_id {F.LifecycleClientOrderId} 8";
        yield return $"OrderLifecycle.filled_quantity {F.LifecycleFilledQuantity} 8";
        yield return $"Collateral.account {F.Int0} 4";
        yield return $"Collateral.asset {F.Int1} 4";
        yield return $"Collateral.balance {F.Double0} 8";
        yield return $"KillSwitch.scope {F.KillSwitchScope} 1";
        yield return $"KillSwitch.on {F.KillSwitchOn} 1";
        yield return $"KillSwitch.id {F.KillSwitchId} 4";
        yield return $"InstrumentDefinition.instrument {F.Int0} 4";
        yield return $"InstrumentDefinition.underlying {F.Int1} 4";
        yield return $"InstrumentDefinition.strike {F.DefinitionStrike} 8";
        yield return $"InstrumentDefinition.expiry_nanos {F.DefinitionExpiry} 8";
        yield return $"InstrumentDefinition.multiplier {F.DefinitionMultiplier} 8";
        yield return $"InstrumentDefinition.tick_size {F.DefinitionTickSize} 8";
        yield return $"InstrumentDefinition.lot_size {F.DefinitionLotSize} 8";
        yield return $"InstrumentDefinition.kind {F.DefinitionKind} 1";
        yield return $"LimitChange.scope {F.Byte0} 1";
        yield return $"LimitChange.field {F.Byte1} 1";
        yield return $"LimitChange.id {F.Int1} 4";
        yield return $"LimitChange.value {F.Double0} 8";
        yield return $"MarginMode.account {F.ModeAccount} 4";
        yield return $"MarginMode.parent {F.ModeParent} 4";
        yield return $"MarginMode.instrument {F.ModeInstrument} 4";
        yield return $"MarginMode.mode {F.ModeValue} 1";
        yield return $"CollateralTransfer.from_account {F.TransferFrom} 4";
        yield return $"CollateralTransfer.to_account {F.TransferTo} 4";
        yield return $"CollateralTransfer.amount {F.TransferAmount} 8";
        yield return $"CollateralTransfer.asset {F.TransferAsset} 4";
        yield return $"Breach.type {B.TypeOffset} 1";
        yield return $"Breach.version {B.VersionOffset} 1";
        yield return $"Breach.from_state {B.FromOffset} 1";
        yield return $"Breach.to_state {B.ToOffset} 1";
        yield return $"Breach.account {B.AccountOffset} 4";
        yield return $"Breach.breach_sequence {B.SequenceOffset} 8";
        yield return $"Breach.timestamp_nanos {B.TimestampOffset} 8";
        yield return $"Breach.source_publish_ticks {B.SourcePublishTicksOffset} 8";
        yield return $"Breach.equity {B.EquityOffset} 8";
        yield return $"Breach.initial_margin {B.InitialOffset} 8";
        yield return $"Breach.maintenance_margin {B.MaintenanceOffset} 8";
        yield return $"Breach.candidate_count {B.CandidateCountOffset} 1";
        yield return $"Breach.cause {B.CauseOffset} 1";
        yield return $"Breach.margin_mode {B.ModeOffset} 1";
        yield return $"Breach.replaced {B.ReplacedOffset} 4";
        yield return $"Breach.candidates {B.CandidatesOffset} {B.MaxCandidates * B.CandidateSize}";
        yield return $"Breach.publish_ticks {B.PublishTicksOffset} 8";
        yield return $"OrderCheckRequest.message_type {Q.MessageTypeOffset} 2";
        yield return $"OrderCheckRequest.version {Q.VersionOffset} 1";
        yield return $"OrderCheckRequest.side {Q.SideOffset} 1";
        yield return $"OrderCheckRequest.order_type {Q.OrderTypeOffset} 1";
        yield return $"OrderCheckRequest.time_in_force {Q.TimeInForceOffset} 1";
        yield return $"OrderCheckRequest.flags {Q.FlagsOffset} 1";
        yield return $"OrderCheckRequest.correlation_id {Q.CorrelationIdOffset} 8";
        yield return $"OrderCheckRequest.account {Q.AccountOffset} 4";
        yield return $"OrderCheckRequest.instrument {Q.InstrumentOffset} 4";
        yield return $"OrderCheckRequest.quantity {Q.QuantityOffset} 8";
        yield return $"OrderCheckRequest.limit_price {Q.LimitPriceOffset} 8";
        yield return $"OrderCheckRequest.client_order_id {Q.ClientOrderIdOffset} 8";
        yield return $"OrderCheckRequest.timestamp_nanos {Q.TimestampOffset} 8";
        yield return $"OrderCheckResponse.message_type {R.MessageTypeOffset} 2";
        yield return $"OrderCheckResponse.version {R.VersionOffset} 1";
        yield return $"OrderCheckResponse.reason {R.ReasonOffset} 1";
        yield return $"OrderCheckResponse.correlation_id {R.CorrelationIdOffset} 8";
        yield return $"OrderCheckResponse.limit {R.LimitOffset} 8";
        yield return $"OrderCheckResponse.actual {R.ActualOffset} 8";
        yield return $"OrderCheckResponse.request_timestamp {R.RequestTimestampOffset} 8";
    }

    [Fact]
    public void CSharpLayout_EqualsTheGoldenFilePrintedByC()
    {
        var differences = Differences(Golden(), CSharpLines().ToArray());
        Assert.True(differences.Count == 0, string.Join("\n", differences));
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

    /// <summary>Feed message types (bodies) that have no line in <paramref name="golden"/>.</summary>
    internal static List<FeedMessageType> TypesWithoutALayout(IEnumerable<string> golden)
    {
        var structs = golden.Select(l => l.Split('.')[0]).ToHashSet(StringComparer.Ordinal);
        return [.. Enum.GetValues<FeedMessageType>().Where(t => t != FeedMessageType.Heartbeat && !structs.Contains(t.ToString()))];
    }

    private static string[] Golden() =>
        [.. File.ReadAllLines(Path.Combine(NativePeers.RepoRoot, "native-interop", "layout.golden")).Where(l => l.Length > 0)];

    [Fact]
    public void AMovedField_IsReportedAsThatLine()
    {
        // Negative control of the comparison: a field moved on the C# side is found, and only it.
        var lines = CSharpLines().ToArray();
        int at = Array.FindIndex(lines, l => l.StartsWith("Fill.quantity ", StringComparison.Ordinal));
        lines[at] = "Fill.quantity 44 8";
        var differences = Differences(Golden(), lines);
        Assert.Equal([$"line {at + 1}: golden 'Fill.quantity 40 8', C# 'Fill.quantity 44 8'"], differences);
        Assert.Empty(Differences(Golden(), CSharpLines().ToArray()));
    }

    [Fact]
    public void EveryFeedMessageType_HasItsLayoutInC()
    {
        // OrderLifecycle and KillSwitch once had no C struct and no golden line, and nothing noticed.
        Assert.Empty(TypesWithoutALayout(Golden()));
        var withoutKillSwitch = Golden().Where(l => !l.StartsWith("KillSwitch.", StringComparison.Ordinal));
        Assert.Equal([FeedMessageType.KillSwitch], TypesWithoutALayout(withoutKillSwitch)); // the check can fail
    }
}
