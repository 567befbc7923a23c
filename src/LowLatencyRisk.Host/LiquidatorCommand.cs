using System.CommandLine;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Ipc.Native;
using static LowLatencyRisk.Host.CommandSupport;

namespace LowLatencyRisk.Host;

/// <summary><c>llr liquidator</c>: reads the breach ring and reports what it read.</summary>
internal static class LiquidatorCommand
{
    public static Command Create()
    {
        var config = ConfigOption();
        var duration = DurationOption("until SIGINT/SIGTERM");
        var quiet = new Option<bool>("--quiet") { Description = "Do not print each breach." };
        var wait = NonNegative(new Option<double>("--wait-for-rings") { Description = "Seconds to wait for the engine to create the rings.", DefaultValueFactory = _ => 30 });
        var command = new Command("liquidator", "Read margin calls and liquidation triggers from the configured breach ring, from where this reader left off.")
        {
            config, duration, quiet, wait,
        };
        command.SetAction(parse =>
        {
            var c = LoadConfig("liquidator", parse.GetValue(config));
            if (c is null)
            {
                return 2;
            }

            using var ring = AttachWhenReady(c.PathOf(c.Rings.Breach), new RingOptions(BreachMessageDescriptor.SlotSize, c.Rings.BreachCapacity, ProducerMode.Single), parse.GetValue(wait), "liquidator");
            if (ring is null)
            {
                return 3;
            }

            if (c.Liquidator.Cpu >= 0)
            {
                CpuAffinity.TryPinCurrentThread(c.Liquidator.Cpu);
            }

            bool print = !parse.GetValue(quiet);
            var consumer = ring.CreateConsumer(0);
            long resumeAt = consumer.Sequence;
            var liquidator = new Liquidator(consumer, print ? b => Console.WriteLine(string.Create(Inv,
                $"breach {b.Sequence} account {b.Account} {b.From} -> {b.To} equity {b.Equity:F2} IM {b.InitialMargin:F2} MM {b.MaintenanceMargin:F2} close first: instrument {b.TopInstrument}{(b.Replaced > 0 ? string.Create(Inv, $" (folds {b.Replaced} earlier changes)") : "")}")) : null);
            Console.WriteLine(string.Create(Inv, $"llr liquidator: reading {ring.Location} from ring sequence {resumeAt:N0}"));
            using var stop = StopSource(parse.GetValue(duration), out var signals);
            string? fault = null;
            using (signals)
            using (new IntegrityWatch(TimeSpan.FromSeconds(1), f => { fault = f; stop.Cancel(); }, ("breach ring", ring.CheckIntegrity)))
            {
                switch (c.Liquidator.Wait)
                {
                    case WaitKind.BusySpin:
                        AgentRunner.Run(liquidator, new BusySpinWait(), stop.Token);
                        break;
                    case WaitKind.Sleeping:
                        AgentRunner.Run(liquidator, new SleepingWait(), stop.Token);
                        break;
                    default:
                        AgentRunner.Run(liquidator, new YieldingWait(), stop.Token);
                        break;
                }

                if (fault is null)
                {
                    liquidator.Poll();
                }
            }

            var h = liquidator.Latency;
            Console.WriteLine(string.Create(Inv, $"llr liquidator: read {liquidator.Read:N0} breaches ({liquidator.ByState[1]:N0} margin calls, {liquidator.ByState[2]:N0} liquidations, {liquidator.ByState[0]:N0} back to healthy; {liquidator.Coalesced:N0} earlier changes folded in), ring sequence now {consumer.Sequence:N0}"));
            if (h.TotalCount > 0)
            {
                Console.WriteLine(string.Create(Inv, $"llr liquidator: feed publish -> breach read p50 {h.ValueAtPercentile(50):N0} ns, p99 {h.ValueAtPercentile(99):N0} ns"));
            }

            if (fault is not null)
            {
                Console.Error.WriteLine($"llr liquidator: stopped: {fault}.");
                return 4;
            }

            return 0;
        });
        return command;
    }
}
