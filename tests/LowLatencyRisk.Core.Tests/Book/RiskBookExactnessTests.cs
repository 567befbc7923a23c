using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Fixtures;

namespace LowLatencyRisk.Core.Tests.Book;

public class RiskBookExactnessTests
{
    /// <summary>
    /// Incremental vs from-scratch: |incremental − recomputed| ≤ 1e-9 · |recomputed| + 1e-12 · gross,
    /// where gross is the account's gross notional (Σ |q| · multiplier · index): a sum of hedged
    /// legs can be near zero, so a bound purely relative to the net would ask for more than double
    /// precision holds for the legs themselves.
    /// </summary>
    internal static void AssertMatches(RiskBook book, int account)
    {
        var r = RiskBookVerifier.Recompute(book, account);
        double gross = 1;
        for (int k = 0; k < book.PositionCount(account); k++)
        {
            int i = book.PositionInstrumentAt(account, k);
            gross += Math.Abs(book.PositionUnits(account, i)) * (book.Instrument(i).IsInverse ? 1 : book.Instrument(i).Multiplier) * book.IndexPrice(book.Instrument(i).Underlying);
        }

        Close(book.Equity(account), r.Equity, "equity");
        Close(book.InitialMargin(account), r.InitialMargin, "IM");
        Close(book.MaintenanceMargin(account), r.MaintenanceMargin, "MM");
        Close(book.OpenOrderMargin(account), r.OpenOrderMargin, "open-order margin");
        for (int u = 0; u < book.Config.MaxUnderlyings; u++)
        {
            Close(book.NetDelta(account, u), r.NetDelta[u], $"delta[{u}]");
            Close(book.NetGamma(account, u), r.NetGamma[u], $"gamma[{u}]");
            Close(book.NetVega(account, u), r.NetVega[u], $"vega[{u}]");
            Close(book.NetTheta(account, u), r.NetTheta[u], $"theta[{u}]");
            Close(book.UnrealizedPnl(account, u), r.Unrealized[u], $"unrealized[{u}]");
            var array = book.RiskArray(account, u);
            for (int j = 0; j < array.Length; j++)
            {
                Close(array[j], r.RiskArrays[u][j], $"riskArray[{u}][{j}]");
            }
        }

        void Close(double actual, double expected, string what) =>
            Assert.True(Math.Abs(actual - expected) <= (1e-9 * Math.Abs(expected)) + (1e-12 * gross),
                $"account {account} {what}: incremental {actual:R}, recomputed {expected:R}, gross {gross}");
    }

    [Fact]
    public void LongRandomSequence_EveryAccountEqualsFromScratchRecomputation() => RunLongRandomSequence(null);

    /// <summary>The same with a coin-settled perpetual and future per underlying traded among the rest (fills that open, add, reduce, close and flip them), funding paid on the inverse perpetual and a funding provision.</summary>
    [Fact]
    public void LongRandomSequence_WithInverseContracts_EveryAccountEqualsFromScratchRecomputation() => RunLongRandomSequence(null, carry: 0.05, fundingProvision: true, inverse: true);

    /// <summary>120,000 random events (fills, index and vol ticks, perpetual funding, collateral) with a revaluation every 500, then 20,000 fills alone; every account checked against the from-scratch recomputation after each phase.</summary>
    internal static void RunLongRandomSequence(ScenarioGrid? grid, double carry = 0, bool coinInScenarios = false, bool recalibrate = false, bool fundingProvision = false, bool inverse = false, bool checkJoint = false)
    {
        var f = new BookFixture(underlyings: 2, accounts: 300, grid: grid, carry: carry, coinInScenarios: coinInScenarios, fundingProvision: fundingProvision, inverse: inverse);
        var book = f.Book;
        var rng = new Random(2024);
        double[] index = [30_000, 2_000];
        long now = BookFixture.Start;
        int applied = 0;
        for (int account = 0; account < 300; account++)
        {
            Assert.True(book.SetCollateral(account, BookFixture.Usd, 50_000 + rng.Next(200_000)));
        }

        for (int e = 0; e < 120_000; e++)
        {
            int kind = rng.Next(100);
            if (kind < 25)
            {
                int account = rng.Next(300);
                int instrument = f.Instruments[rng.Next(f.Instruments.Count)];
                double quantity = (rng.Next(2) == 0 ? -1 : 1) * (1 + rng.Next(5)) * (book.Instrument(instrument).IsOption ? 0.5 : book.Instrument(instrument).IsInverse ? 10 : 0.1);
                double price = book.MarkPrice(instrument) * (1 + ((rng.NextDouble() - 0.5) * 0.02));
                if (book.ApplyFill(account, instrument, quantity, Math.Max(price, 0.01)) == FillResult.Applied)
                {
                    applied++;
                }
            }
            else if (kind < 60)
            {
                int u = rng.Next(2);
                index[u] *= 1 + ((rng.NextDouble() - 0.5) * 0.01);
                now += 1_000_000_000;
                Assert.Equal(MarkResult.Accepted, book.UpdateIndex(u, index[u], now));
            }
            else if (kind < 95)
            {
                int u = rng.Next(2);
                int option = f.ByUnderlying[u][3 + rng.Next(30)];
                double vol = Math.Clamp(book.MarkVolatility(option) * (1 + ((rng.NextDouble() - 0.5) * 0.1)), 0.2, 2.0);
                Assert.Equal(MarkResult.Accepted, book.UpdateVolatility(option, vol));
            }
            else if (recalibrate && kind == 97 && rng.Next(20) == 0)
            {
                // Now and then an underlying recalibrated (scan range, vol shocks, dampener, basis).
                int u = rng.Next(2);
                var p = book.ScenarioCalibration(u);
                Assert.Null(book.SetScenarioCalibration(u, p with
                {
                    PriceScanRange = 0.08 + (rng.NextDouble() * 0.15),
                    VolUp = 0.3 + (rng.NextDouble() * 0.4),
                    ExtendedDampener = rng.Next(2) * 150_000,
                    BasisAnnualMove = rng.NextDouble() * 0.1,
                }));
            }
            else if (kind < 97)
            {
                // A funding event of a perpetual, its payments settled a few at a time while other events go on.
                int fundingU = rng.Next(2);
                Assert.Equal(FundingResult.Applied, book.BeginFunding(inverse && rng.Next(2) == 0 ? f.Inverse(fundingU, 0) : f.Perp(fundingU), (rng.NextDouble() - 0.5) * 0.002, now + e));
                book.ContinueFunding(16);
            }
            else
            {
                int account = rng.Next(300);
                Assert.True(book.SetCollateral(account, rng.Next(2), rng.Next(2) == 0 ? 0 : rng.NextDouble() * 20));
            }

            book.ContinueFunding(16);

            if (e % 500 == 0)
            {
                book.Revalue(); // the engine's end of batch
            }

            while (book.TryDequeueTransition(out _))
            {
            }
        }

        book.Revalue();
        Assert.True(applied > 25_000, $"only {applied} fills applied");
        if (inverse)
        {
            // Not vacuous: many accounts hold the coin-settled contracts at the check.
            int holding = Enumerable.Range(0, 300).Count(a => book.PositionUnits(a, f.Inverse(0, 0)) != 0 || book.PositionUnits(a, f.Inverse(1, 1)) != 0);
            Assert.True(holding > 100, $"only {holding} accounts hold an inverse contract");
        }

        if (checkJoint)
        {
            // Not vacuous: many accounts hold both underlyings, and for most of them the joint sample
            // requires less than the two underlyings alone (the joint path, not the sum, set their IM).
            int both = 0, offset = 0;
            for (int a = 0; a < 300; a++)
            {
                if (Enumerable.Range(0, book.PositionCount(a)).Select(k => book.Instrument(book.PositionInstrumentAt(a, k)).Underlying).Distinct().Count() == 2)
                {
                    both++;
                    offset += book.InitialMargin(a) < book.ScanRisk(a, 0) + book.ScanRisk(a, 1) + book.FundingProvision(a) - 1e-6 ? 1 : 0;
                }
            }

            Assert.True(both > 100 && offset > both / 2, $"{both} accounts hold both underlyings, {offset} of them offset");
        }

        for (int account = 0; account < 300; account++)
        {
            AssertMatches(book, account);
        }

        // Then fills alone (no revaluation in between): the pure incremental path, still exact.
        for (int e = 0; e < 20_000; e++)
        {
            int account = rng.Next(300);
            int instrument = f.Instruments[rng.Next(f.Instruments.Count)];
            book.ApplyFill(account, instrument, (rng.Next(2) == 0 ? -1 : 1) * (book.Instrument(instrument).IsInverse ? 20 : 0.5), book.MarkPrice(instrument));
        }

        for (int account = 0; account < 300; account++)
        {
            AssertMatches(book, account);
        }
    }

    [Fact]
    public void CryptoGridAndCarry_IncrementalEqualsRecomputation()
    {
        var f = new BookFixture(underlyings: 1, accounts: 20, grid: ScenarioGrid.Crypto(), carry: 0.05);
        var rng = new Random(8);
        for (int e = 0; e < 5_000; e++)
        {
            int instrument = f.Instruments[rng.Next(f.Instruments.Count)];
            f.Book.ApplyFill(rng.Next(20), instrument, (rng.Next(2) == 0 ? -1 : 1) * 0.3, f.Book.MarkPrice(instrument));
            if (e % 100 == 0)
            {
                f.Book.UpdateIndex(0, 30_000 * (1 + ((rng.NextDouble() - 0.5) * 0.05)), BookFixture.Start + (e * 1_000_000_000L));
                f.Book.Revalue();
            }
        }

        f.Book.Revalue();
        for (int a = 0; a < 20; a++)
        {
            AssertMatches(f.Book, a);
        }
    }

    [Fact]
    public void SlicedRevaluation_WithFillsBetweenSlices_EndsExact()
    {
        var f = new BookFixture(underlyings: 2, accounts: 300);
        var book = f.Book;
        var rng = new Random(77);
        for (int a = 0; a < 300; a++)
        {
            book.SetCollateral(a, BookFixture.Usd, 100_000);
            for (int k = 0; k < 4; k++)
            {
                int i = f.ByUnderlying[0][rng.Next(f.ByUnderlying[0].Count)];
                book.ApplyFill(a, i, 0.5, book.MarkPrice(i));
            }
        }

        book.Revalue();
        long t = BookFixture.Start;
        for (int round = 0; round < 20; round++)
        {
            Assert.Equal(MarkResult.Accepted, book.UpdateIndex(0, 30_000 * (1 + ((rng.NextDouble() - 0.5) * 0.02)), t += 1_000_000_000));
            Assert.True(book.BeginRevalue(0));
            Assert.True(book.IsRevaluing);
            Assert.False(book.BeginRevalue(0)); // one at a time
            while (!book.ContinueRevalue(37))
            {
                // Fills between slices: new holders, closed positions, additions.
                int a = rng.Next(300);
                int i = f.ByUnderlying[0][rng.Next(f.ByUnderlying[0].Count)];
                double q = book.PositionQuantity(a, i);
                book.ApplyFill(a, i, q != 0 && rng.Next(3) == 0 ? -q : 0.25, book.MarkPrice(i));
            }

            Assert.False(book.IsRevaluing);
        }

        for (int a = 0; a < 300; a++)
        {
            AssertMatches(book, a);
        }
    }
}
