using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Book;

/// <summary>
/// Portfolio components beyond the scan risk: SPAN's intra-commodity (calendar) spread charge and
/// inter-commodity credits, pinned by CME's published worked examples to the cent, and the size
/// add-on; each on the fill, tick and what-if paths, exact against the from-scratch verifier, and
/// allocation-free.
/// </summary>
/// <remarks>
/// How the examples become books: every future here has no carry, so its forward is the index, and
/// the grid's price scan range is 10 % (CME's 16 scenarios: the worst loss of a long future is the
/// full range, 10 % × price × multiplier; the extreme moves, 3 × 10 % × 0.33 cover = 9.9 %, lose less).
/// A contract's outright margin is therefore 10 % of its price × multiplier, and a published
/// outright is reproduced by choosing the price (or, for a different outright in the same
/// underlying, the multiplier: one M4 contract is 1.5 units of delta).
/// </remarks>
public sealed class PortfolioComponentsTests
{
    private static readonly long Now = 1_795_000_000L * 1_000_000_000;
    private const long Day = 86_400L * 1_000_000_000;

    private static RiskBook Book(int underlyings, PortfolioComponentsConfig components, double[] indices, double scanRange = 0.10, int accounts = 8)
    {
        var book = new RiskBook(new RiskConfig
        {
            MaxUnderlyings = underlyings, MaxInstruments = 16, MaxAccounts = accounts, MaxPositionsPerAccount = 8, MaxAssets = 1, IndexBand = 10,
            Grid = ScenarioGrid.CmeSpan16(scanRange, 0.25), Components = components,
        });
        for (int u = 0; u < underlyings; u++)
        {
            book.DefineUnderlying(u);
            Assert.Equal(MarkResult.Accepted, book.UpdateIndex(u, indices[u], Now));
        }

        book.DefineAsset(0, -1, 1, [new HaircutTier(1e15, 0)]);
        return book;
    }

    // ---- Intra-commodity (calendar) spread charge: CME's tier example ----------------------------

    private const int M2 = 0, M3 = 1, M4 = 2;

    /// <summary>
    /// CME's example: outright margins per contract M2 $500, M3 $500, M4 $750; spread charges
    /// M2/M3 $200, M2/M4 $50, M3/M4 $0 (in that priority). Index 5,000 with a 10 % scan range gives
    /// $500 per contract of multiplier 1 (M2, M3) and $750 for multiplier 1.5 (M4). Each month is a tier.
    /// </summary>
    private static RiskBook CalendarBook(params TierSpread[] spreads)
    {
        var intra = new IntraCommodityConfig { Underlying = 0, TierEndsNanos = [Now + (30 * Day), Now + (60 * Day)], Spreads = spreads };
        var book = Book(1, new PortfolioComponentsConfig { IntraCommodity = [intra] }, [5_000]);
        book.DefineInstrument(M2, new InstrumentSpec(InstrumentKind.Future, 0, 0, Now + (30 * Day), 1, 0.25, 1));
        book.DefineInstrument(M3, new InstrumentSpec(InstrumentKind.Future, 0, 0, Now + (60 * Day), 1, 0.25, 1));
        book.DefineInstrument(M4, new InstrumentSpec(InstrumentKind.Future, 0, 0, Now + (90 * Day), 1.5, 0.25, 1));
        book.Revalue();
        return book;
    }

    private static readonly TierSpread[] CmePriority = [new(0, 1, 200), new(0, 2, 50), new(1, 2, 0)];

    [Fact]
    public void IntraCommodity_CmeTierExample_ToTheCent_OnFillTickAndWhatIf()
    {
        var book = CalendarBook(CmePriority);
        Fill(book, 0, (M2, 1), (M3, -1));
        Fill(book, 1, (M2, 1), (M4, -1));
        Fill(book, 2, (M3, 1), (M4, -1));

        // +1 M2 −1 M3: the legs' scenario losses cancel (scan 0); one M2/M3 spread at $200.
        Assert.Equal(200, book.InitialMargin(0), 6);
        // +1 M2 −1 M4: scan risk 750 − 500 = 250 (the up move: M2 gains 500, M4 loses 750); one M2/M4 spread at $50 → 300.
        Assert.Equal(300, book.InitialMargin(1), 6);
        var b = book.MarginBreakdown(1, 0);
        Assert.Equal(250, b.ScanRisk, 6);
        Assert.Equal(50, b.IntraCommodityCharge, 6);
        Assert.Equal(300, b.Requirement, 6);
        // +1 M3 −1 M4: scan 250, the M3/M4 spread charged $0 → 250.
        Assert.Equal(250, book.InitialMargin(2), 6);

        // What-if on account 0: −1 M4 more → tier deltas (+1, −1, −1.5). Priority takes M2/M3 first ($200);
        // M2 is then used up, and M3/M4 are both short: no other spread. Scan: (1 − 1 − 1.5) × the
        // long unit's loss → 1.5 × 500 = 750. 950 in all.
        Assert.Equal(950, book.WhatIf(0, M4, -1).InitialMarginAfter, 6);
        Assert.Equal(200, book.InitialMargin(0), 6); // the what-if changed nothing

        // Tick to 5,100: the recompute path. Deltas do not move (futures), the scans do: 0.5 × 510 = 255 for account 1.
        Assert.Equal(MarkResult.Accepted, book.UpdateIndex(0, 5_100, Now + 1_000_000_000));
        book.Revalue();
        Assert.Equal(200, book.InitialMargin(0), 6);
        Assert.Equal(255 + 50, book.InitialMargin(1), 6);
        for (int a = 0; a < 3; a++)
        {
            RiskBookExactnessTests.AssertMatches(book, a);
        }
    }

    [Fact]
    public void IntraCommodity_TierPriority_AndPartialSpreads()
    {
        // +1 M2 −1 M3 −1 M4 filled: M2/M3 first takes the one long unit ($200), scan 750 → 950 (as the what-if said).
        var book = CalendarBook(CmePriority);
        Fill(book, 0, (M2, 1), (M3, -1), (M4, -1));
        Assert.Equal(750 + 200, book.InitialMargin(0), 6);

        // The same position with M2/M4 first: that spread takes the long unit ($50) → 800.
        var reversed = CalendarBook(new(0, 2, 50), new(0, 1, 200), new(1, 2, 0));
        Fill(reversed, 0, (M2, 1), (M3, -1), (M4, -1));
        Assert.Equal(750 + 50, reversed.InitialMargin(0), 6);

        // Partial: +2 M2 −1 M3 → one spread ($200), one M2 unit left outright; scan (2 − 1) × 500 = 500 → 700.
        Fill(book, 1, (M2, 2), (M3, -1));
        Assert.Equal(500 + 200, book.InitialMargin(1), 6);

        // Same side in both tiers is no spread: +1 M2 +1 M3 → scan 1,000, charge 0.
        Fill(book, 2, (M2, 1), (M3, 1));
        Assert.Equal(1_000, book.InitialMargin(2), 6);
        Assert.Equal(0, book.MarginBreakdown(2, 0).IntraCommodityCharge);

        // Negative control: without the charge the calendar spread margins at its scan risk alone (0).
        var plain = Book(1, PortfolioComponentsConfig.None, [5_000]);
        plain.DefineInstrument(M2, book.Instrument(M2));
        plain.DefineInstrument(M3, book.Instrument(M3));
        plain.Revalue();
        Fill(plain, 0, (M2, 1), (M3, -1));
        Assert.Equal(0, plain.InitialMargin(0), 6);
    }

    // ---- Inter-commodity spread credits: CME's corn / soybeans example ---------------------------

    /// <summary>
    /// Corn and soybeans, 2 : 1 at 55 %; outrights $1,750 and $2,500 (index 17,500 and 25,000 at a 10 % range).
    /// The legs are signed: long corn against short soybeans (or the reverse), as SPAN forms spreads of
    /// positively correlated products on opposite sides.
    /// </summary>
    [Fact]
    public void InterCommodity_CmeCornSoybeans_ToTheCent_AndItsRules()
    {
        var spread = new InterCommoditySpreadConfig { Legs = [new SpreadLeg(0, 2), new SpreadLeg(1, -1)], Credit = 0.55 };
        var book = Book(2, new PortfolioComponentsConfig { InterCommodity = [spread] }, [17_500, 25_000]);
        const int Corn = 0, Soy = 1;
        book.DefineInstrument(Corn, new InstrumentSpec(InstrumentKind.Future, 0, 0, Now + (30 * Day), 1, 0.25, 1));
        book.DefineInstrument(Soy, new InstrumentSpec(InstrumentKind.Future, 1, 0, Now + (30 * Day), 1, 0.25, 1));
        book.Revalue();

        // 2 corn + 1 soybeans (opposite sides): outrights 2 × 1,750 + 2,500 = 6,000; one spread uses
        // all of both legs; credit 55 % × 6,000 = 3,300 → 2,700.
        Fill(book, 0, (Corn, 2), (Soy, -1));
        Assert.Equal(2_700, book.InitialMargin(0), 6);
        Assert.Equal(0.55 * 3_500, book.MarginBreakdown(0, 0).InterCommodityCredit, 6);
        Assert.Equal(0.55 * 2_500, book.MarginBreakdown(0, 1).InterCommodityCredit, 6);

        // The mirror image spreads the same.
        Fill(book, 1, (Corn, -2), (Soy, 1));
        Assert.Equal(2_700, book.InitialMargin(1), 6);

        // Both long is not this spread: no credit.
        Fill(book, 2, (Corn, 2), (Soy, 1));
        Assert.Equal(6_000, book.InitialMargin(2), 6);

        // Partial: 4 corn against 1 soybeans → one spread (2 corn of the 4): corn credited 55 % × 2 × 1,750 = 1,925,
        // soybeans 55 % × 2,500 = 1,375; 7,000 + 2,500 − 3,300 = 6,200.
        Fill(book, 3, (Corn, 4), (Soy, -1));
        Assert.Equal(6_200, book.InitialMargin(3), 6);

        // The what-if sees the credit: account 4 long 2 corn (3,500) asks for −1 soybeans → 2,700.
        Fill(book, 4, (Corn, 2));
        Assert.Equal(3_500, book.InitialMargin(4), 6);
        Assert.Equal(2_700, book.WhatIf(4, Soy, -1).InitialMarginAfter, 6);

        // Tick: corn to 18,000 → corn outright 1,800: 55 % off 3,600 + 2,500 → 0.45 × 6,100 = 2,745.
        Assert.Equal(MarkResult.Accepted, book.UpdateIndex(0, 18_000, Now + 1_000_000_000));
        book.Revalue();
        Assert.Equal(2_745, book.InitialMargin(0), 6);
        for (int a = 0; a < 5; a++)
        {
            RiskBookExactnessTests.AssertMatches(book, a);
        }
    }

    /// <summary>
    /// CME's scanning-spread example: +2 30-year bonds (outright $3,100: index 31,000 at a 10 % range)
    /// against −3 10-year notes ($1,600: index 16,000), 70 % of one leg's gains credited against the
    /// other's loss in the same scenario → scan risk $2,840.
    /// </summary>
    [Fact]
    public void InterCommodity_CmeScanningSpread_BondsAgainstNotes_ToTheCent()
    {
        var spread = new InterCommoditySpreadConfig { Form = InterCommodityForm.Scanning, Legs = [new SpreadLeg(0, 1), new SpreadLeg(1, 1)], Credit = 0.70 };
        var book = Book(2, new PortfolioComponentsConfig { InterCommodity = [spread] }, [31_000, 16_000]);
        const int Bond = 0, Note = 1;
        book.DefineInstrument(Bond, new InstrumentSpec(InstrumentKind.Future, 0, 0, Now + (30 * Day), 1, 0.25, 1));
        book.DefineInstrument(Note, new InstrumentSpec(InstrumentKind.Future, 1, 0, Now + (30 * Day), 1, 0.25, 1));
        book.Revalue();

        // Down 10 %: the bonds lose 2 × 3,100 = 6,200 and the notes gain 3 × 1,600 = 4,800 → 6,200 − 0.7 × 4,800 = 2,840.
        // Up 10 %: 4,800 − 0.7 × 6,200 = 460. The extreme moves (3 × 10 % × 0.33 = 9.9 %): 6,138 − 0.7 × 4,752 = 2,811.6. Worst: 2,840.
        Fill(book, 0, (Bond, 2), (Note, -3));
        Assert.Equal(2_840, book.InitialMargin(0), 6);
        // The credit, 6,200 + 4,800 − 2,840 = 8,160, is shared by the legs' scan risks.
        Assert.Equal(8_160 * 6_200 / 11_000.0, book.MarginBreakdown(0, 0).InterCommodityCredit, 6);
        Assert.Equal(8_160 * 4_800 / 11_000.0, book.MarginBreakdown(0, 1).InterCommodityCredit, 6);

        // The what-if sees it: long 2 bonds (6,200) asking to sell 3 notes → 2,840.
        Fill(book, 1, (Bond, 2));
        Assert.Equal(6_200, book.InitialMargin(1), 6);
        Assert.Equal(2_840, book.WhatIf(1, Note, -3).InitialMarginAfter, 6);

        // Tick: bonds to 31,500 → 2 × 3,150 = 6,300 − 3,360 = 2,940.
        Assert.Equal(MarkResult.Accepted, book.UpdateIndex(0, 31_500, Now + 1_000_000_000));
        book.Revalue();
        Assert.Equal(2_940, book.InitialMargin(0), 6);
        RiskBookExactnessTests.AssertMatches(book, 0);
        RiskBookExactnessTests.AssertMatches(book, 1);
    }

    [Fact]
    public void InterCommodity_ThreeLeggedGroup_AndACreditCannotExceedTheLegsMargin()
    {
        // A crack-like group: +3 A against −2 B and −1 C at 75 %. Index 800, 1,200, 1,500 → outrights 80, 120, 150.
        var group = new InterCommoditySpreadConfig { Legs = [new SpreadLeg(0, 3), new SpreadLeg(1, -2), new SpreadLeg(2, -1)], Credit = 0.75 };
        var book = Book(3, new PortfolioComponentsConfig { InterCommodity = [group] }, [800, 1_200, 1_500]);
        for (int u = 0; u < 3; u++)
        {
            book.DefineInstrument(u, new InstrumentSpec(InstrumentKind.Future, u, 0, Now + (30 * Day), 1, 0.25, 1));
        }

        book.Revalue();

        // Whole group: 240 + 240 + 150 = 630, credit 75 % → 157.5.
        Fill(book, 0, (0, 3), (1, -2), (2, -1));
        Assert.Equal(630 * 0.25, book.InitialMargin(0), 6);

        // Twice the A leg: one group; A is credited on 3 of its 6 units: 480 + 240 + 150 − 0.75 × (240 + 240 + 150) = 397.5.
        Fill(book, 1, (0, 6), (1, -2), (2, -1));
        Assert.Equal(870 - 472.5, book.InitialMargin(1), 6);

        // A missing leg forms no group: 240 + 240 = 480.
        Fill(book, 2, (0, 3), (1, -2));
        Assert.Equal(480, book.InitialMargin(2), 6);

        // At a 100 % rate the group's requirement is 0, never below: a credit takes at most the legs' margin.
        var full = Book(3, new PortfolioComponentsConfig { InterCommodity = [group with { Credit = 1.0 }] }, [800, 1_200, 1_500]);
        for (int u = 0; u < 3; u++)
        {
            full.DefineInstrument(u, book.Instrument(u));
        }

        full.Revalue();
        Fill(full, 0, (0, 3), (1, -2), (2, -1));
        Assert.Equal(0, full.InitialMargin(0), 6);
        Assert.True(full.InitialMargin(0) >= 0);
        for (int u = 0; u < 3; u++)
        {
            var b = full.MarginBreakdown(0, u);
            Assert.True(b.InterCommodityCredit <= b.ScanRisk + 1e-9, $"leg {u}: credit {b.InterCommodityCredit} > scan {b.ScanRisk}");
        }

        // The credit is applied before the short option minimum: a floor the credit cannot take away.
        var components = new PortfolioComponents(new PortfolioComponentsConfig { InterCommodity = [group] }, 3);
        Assert.Equal(100, components.Requirement(0, scanPlusIntra: 240, credit: 180, shortOptionMinimum: 100, addOn: 0));
        Assert.Equal(60, components.Requirement(0, scanPlusIntra: 240, credit: 180, shortOptionMinimum: 10, addOn: 0));
    }

    // ---- Size add-on -----------------------------------------------------------------------------

    private const int Perp = 0, Fut = 1, Call = 2;

    private static RiskBook AddOnBook(SizeAddOnConfig addOn)
    {
        var book = Book(1, new PortfolioComponentsConfig { SizeAddOns = [addOn] }, [50_000], scanRange: 0.15);
        book.DefineInstrument(Perp, new InstrumentSpec(InstrumentKind.Perpetual, 0, 0, 0, 1, 0.5, 0.001));
        book.DefineInstrument(Fut, new InstrumentSpec(InstrumentKind.Future, 0, 0, Now + (30 * Day), 1, 0.5, 0.001));
        book.DefineInstrument(Call, new InstrumentSpec(InstrumentKind.Call, 0, 55_000, Now + (30 * Day), 1, 0.5, 0.001));
        book.SetInitialVolatility(Call, 0.5);
        book.Revalue();
        return book;
    }

    private static readonly AddOnBand[] Bands = [new(1_000_000, 1), new(2_000_000, 2), new(4_000_000, 4), new(1e18, 6)];

    [Fact]
    public void SizeAddOn_CrossesEachBand_GrowingFasterThanTheScanRisk()
    {
        // Base rate 1 % of |net delta| notional, multipliers ×1 to 1,000,000, ×2 to 2,000,000, ×4 to
        // 4,000,000, ×6 beyond, marginal by band. Perpetuals at 50,000; scan risk 15 % of notional.
        var book = AddOnBook(new SizeAddOnConfig { Underlying = 0, BaseRate = 0.01, Bands = Bands });
        (double Contracts, double AddOn)[] steps =
        [
            (10, 5_000),                                   // 500,000 in band 1: 1 % × 500,000
            (30, 10_000 + 10_000),                         // 1,500,000: 10,000 + 2 % × 500,000
            (60, 10_000 + 20_000 + 40_000),                // 3,000,000: + 4 % × 1,000,000
            (100, 10_000 + 20_000 + 80_000 + 60_000),      // 5,000,000: + 6 % × 1,000,000
        ];
        double held = 0;
        foreach (var (contracts, addOn) in steps)
        {
            Fill(book, 0, (Perp, contracts - held));
            held = contracts;
            double notional = contracts * 50_000;
            Assert.Equal(addOn, book.MarginBreakdown(0, 0).SizeAddOn, 6);
            Assert.Equal((0.15 * notional) + addOn, book.InitialMargin(0), 6);
        }

        // Continuous across each boundary: one contract either side of 1,000,000 (20 contracts) moves it by about a contract's worth.
        var c = book.Components!;
        Assert.Equal(10_000, c.AddOn(0, 20, 0, 50_000), 6);
        Assert.Equal(10_000 + 1_000, c.AddOn(0, 21, 0, 50_000), 6);
        Assert.Equal(10_000 - 500, c.AddOn(0, 19, 0, 50_000), 6);
        RiskBookExactnessTests.AssertMatches(book, 0);
    }

    [Fact]
    public void SizeAddOn_DeltaShockAboveAThreshold_OnNetNotGrossDelta_AndVegaAndTheMaxRule()
    {
        // The published form: 10 % above 20,000,000, at once (fullAt = threshold), on the notional above it.
        var step = AddOnBook(new SizeAddOnConfig { Underlying = 0, ShockThreshold = 20_000_000, ShockFullAt = 20_000_000, MaxShock = 0.10 });
        Fill(step, 0, (Perp, 300));                                         // 15,000,000: below
        Assert.Equal(0, step.MarginBreakdown(0, 0).SizeAddOn);
        Fill(step, 0, (Perp, 200));                                         // 25,000,000: 10 % × 5,000,000
        Assert.Equal(500_000, step.MarginBreakdown(0, 0).SizeAddOn, 6);

        // Ramped: from 0 at 20,000,000 to 10 % at 30,000,000.
        var ramp = new PortfolioComponents(new PortfolioComponentsConfig { SizeAddOns = [new SizeAddOnConfig { Underlying = 0, ShockThreshold = 20e6, ShockFullAt = 30e6, MaxShock = 0.10 }] }, 1);
        Assert.Equal(0.05 * 5e6, ramp.AddOn(0, 500, 0, 50_000), 6);         // 25,000,000: half way, 5 %
        Assert.Equal(0.10 * 15e6, ramp.AddOn(0, 700, 0, 50_000), 6);        // 35,000,000: full 10 %

        // A hedged book: 500 perpetuals long against 500 futures short (no carry: the same delta) —
        // net delta 0, so no add-on, though the gross is 50,000,000.
        Fill(step, 1, (Perp, 500), (Fut, -500));
        Assert.Equal(0, step.NetDelta(1, 0), 9);
        Assert.Equal(0, step.MarginBreakdown(1, 0).SizeAddOn);

        // Vega: 0.5 per unit of gross vega, on top of the delta part; a short call's vega counts by its size.
        var vega = AddOnBook(new SizeAddOnConfig { Underlying = 0, VegaRate = 0.5 });
        Fill(vega, 0, (Call, -10));
        double grossVega = Math.Abs(vega.NetVega(0, 0));
        Assert.True(grossVega > 0);
        Assert.Equal(0.5 * grossVega, vega.MarginBreakdown(0, 0).SizeAddOn, 6);
        Fill(vega, 0, (Call, 20));                                          // now long 10: the same gross
        Assert.Equal(0.5 * grossVega, vega.MarginBreakdown(0, 0).SizeAddOn, 6);

        // Max rule: 10 % base rate (band ×1): 10 perpetuals → add-on 50,000 < scan 75,000 → 75,000 (sum would be 125,000).
        var max = AddOnBook(new SizeAddOnConfig { Underlying = 0, BaseRate = 0.10, Combine = AddOnCombine.Max });
        Fill(max, 0, (Perp, 10));
        Assert.Equal(75_000, max.InitialMargin(0), 6);
        Fill(max, 0, (Perp, 0.001)); // still the scan
        Assert.Equal(0.15 * 10.001 * 50_000, max.InitialMargin(0), 6);
        foreach (var b in new[] { step, vega, max })
        {
            RiskBookExactnessTests.AssertMatches(b, 0);
        }
    }

    [Fact]
    public void SizeAddOn_RecalibratedOnTheFeed_RemarginsHolders_AndRefusesWhatItMust()
    {
        var book = AddOnBook(new SizeAddOnConfig { Underlying = 0, BaseRate = 0.01, Bands = Bands });
        Fill(book, 0, (Perp, 60));                                          // 3,000,000: add-on 70,000 (above)
        Assert.Equal(70_000, book.MarginBreakdown(0, 0).SizeAddOn, 6);

        // Base rate 2 %, band limits doubled (2,000,000 ×1, 4,000,000 ×2, 8,000,000 ×4, then ×6):
        // 3,000,000 = 2,000,000 × 1 + 1,000,000 × 2 = 4,000,000, × 2 % = 80,000.
        Assert.True(book.SetSizeAddOn(0, baseRate: 0.02, bandScale: 2, shockThreshold: 0, shockFullAt: 0, maxShock: 0, vegaRate: 0, AddOnCombine.Sum));
        book.Revalue();                                                     // the engine's end of batch: holders re-margined
        Assert.Equal(80_000, book.MarginBreakdown(0, 0).SizeAddOn, 6);
        Assert.Equal((0.15 * 3_000_000) + 80_000, book.InitialMargin(0), 6);
        RiskBookExactnessTests.AssertMatches(book, 0);

        // Refused, nothing changed: out-of-range values, and an underlying without an add-on.
        Assert.False(book.SetSizeAddOn(0, double.NaN, 1, 0, 0, 0, 0, AddOnCombine.Sum));
        Assert.False(book.SetSizeAddOn(0, 0.01, 0, 0, 0, 0, 0, AddOnCombine.Sum));
        Assert.False(book.SetSizeAddOn(0, 0.01, 1, 10, 5, 0, 0, AddOnCombine.Sum));            // full below the threshold
        Assert.False(book.SetSizeAddOn(0, 0.01, 1, 0, 0, 0, double.PositiveInfinity, AddOnCombine.Sum));
        Assert.False(book.SetSizeAddOn(0, 0.01, 1, 0, 0, 0, 0, (AddOnCombine)7));
        Assert.False(book.SetSizeAddOn(3, 0.01, 1, 0, 0, 0, 0, AddOnCombine.Sum));              // no such underlying
        var none = Book(1, new PortfolioComponentsConfig { IntraCommodity = [new() { Underlying = 0 }] }, [5_000]);
        Assert.False(none.SetSizeAddOn(0, 0.01, 1, 0, 0, 0, 0, AddOnCombine.Sum));              // no add-on configured
        Assert.Equal((0.02, 2.0, 0.0, 0.0, 0.0, 0.0, AddOnCombine.Sum), book.Components!.AddOnParameters(0));
    }

    /// <summary>
    /// The state walk carries the components' inputs, the recalibrated add-on and the working orders:
    /// a book restored from another's walk margins every account the same, orders included.
    /// </summary>
    [Fact]
    public void StateWalk_CarriesComponentInputs_RecalibratedAddOn_AndWorkingOrders()
    {
        BookFixture Make() => new(underlyings: 2, accounts: 6, components: Everything(BookFixture.Start));
        var f = Make();
        var book = f.Book;
        Fill(book, 0, (f.Perp(0), -1), (f.Future(0, 0), 2), (f.Future(1, 0), 30), (f.Option(0, 1, 2, true), -3));
        Fill(book, 1, (f.Future(0, 1), 1.5), (f.Option(1, 2, 1, false), 4));
        Assert.True(book.AddWorkingOrder(1, f.Perp(0), 2));
        Assert.True(book.AddWorkingOrder(1, f.Option(0, 0, 3, false), -1));
        Assert.True(book.SetSizeAddOn(1, 0.03, 0.5, 1_000, 2_000, 0.02, 0.05, AddOnCombine.Sum));
        book.Revalue();

        var bytes = new Copy();
        book.VisitState(bytes);
        var restored = Make().Book;
        bytes.Reading = true;
        restored.VisitState(bytes);

        Assert.Equal(book.Components!.AddOnParameters(1), restored.Components!.AddOnParameters(1));
        for (int a = 0; a < 6; a++)
        {
            Assert.Equal(book.InitialMargin(a), restored.InitialMargin(a));
            Assert.Equal(book.OpenOrderMargin(a), restored.OpenOrderMargin(a));
            for (int u = 0; u < 2; u++)
            {
                Assert.Equal(book.MarginBreakdown(a, u), restored.MarginBreakdown(a, u));
            }
        }

        Assert.True(restored.OpenOrderMargin(1) > 0 && restored.MarginBreakdown(0, 0).IntraCommodityCharge > 0, "not vacuous");
        RiskBookExactnessTests.AssertMatches(restored, 1);
    }

    /// <summary>Writes a state walk to memory, then reads it back in the same order.</summary>
    private sealed class Copy : LowLatencyRisk.Core.Persistence.StateVisitor
    {
        private readonly List<byte[]> _chunks = [];
        private int _next;

        public bool Reading { get; set; }

        public override void Bytes(Span<byte> data)
        {
            if (Reading)
            {
                _chunks[_next++].CopyTo(data);
            }
            else
            {
                _chunks.Add(data.ToArray());
            }
        }
    }

    /// <summary>Every parameter is bounded so a bounded book's margin stays finite; each problem names its field.</summary>
    [Fact]
    public void Configuration_RefusesParametersThatCouldMakeMarginInfinite_NamingEach()
    {
        var bad = new PortfolioComponentsConfig
        {
            IntraCommodity = [new() { Underlying = 0, TierEndsNanos = [Now], Spreads = [new(0, 1, 1e300)] }],
            InterCommodity = [new() { Legs = [new SpreadLeg(0, 1e300), new SpreadLeg(1, -1)], Credit = 0.5 }, new() { Legs = [new SpreadLeg(0, 1), new SpreadLeg(1, -1)], Credit = double.NaN }],
            SizeAddOns = [new() { Underlying = 1, BaseRate = 0.01, Bands = [new(1e6, 1), new(1e18, 1e300)], VegaRate = 1e300, ShockThreshold = 1, ShockFullAt = double.PositiveInfinity, MaxShock = 0.1 }],
        };
        var problems = bad.Problems(2);
        Assert.Contains(problems, p => p.StartsWith("intraCommodity[0].spreads[0]", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("interCommodity[0].legs", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("interCommodity[1].credit", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("sizeAddOns[0].bands", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("sizeAddOns[0]: baseRate", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("sizeAddOns[0]: need 0 ≤ shockThreshold", StringComparison.Ordinal));
        Assert.Equal(6, problems.Count);
        Assert.Throws<ArgumentException>(() => new RiskBook(new RiskConfig { MaxUnderlyings = 2, Components = bad }));
        Assert.Empty(Everything(Now).Problems(2)); // negative control: the random test's configuration passes

        // The book's own working-order entry refuses what the gate would never send.
        var book = CalendarBook(CmePriority);
        Assert.False(book.AddWorkingOrder(0, M2, double.NaN));
        Assert.False(book.AddWorkingOrder(0, M2, 1e300));
        Assert.False(book.AddWorkingOrder(0, 99, 1));
        Assert.False(book.RemoveWorkingOrder(0, M2, 1)); // nothing rests there
        Assert.Equal(0, book.WorkingInstrumentCount(0));
    }

    // ---- Exactness and allocation with every component on -----------------------------------------

    /// <summary>Every component on, on the exactness fixture's two underlyings (index 30,000 and 2,000; expiries 7, 30, 37, 67, 90 days).</summary>
    internal static PortfolioComponentsConfig Everything(long start) => new()
    {
        IntraCommodity =
        [
            new() { Underlying = 0, TierEndsNanos = [start + (10 * Day), start + (40 * Day), start + (70 * Day)], Spreads = [new(0, 1, 300), new(1, 2, 200), new(0, 2, 400), new(2, 3, 150), new(0, 3, 500)] },
            new() { Underlying = 1, TierEndsNanos = [start + (10 * Day), start + (40 * Day), start + (70 * Day)], Spreads = [new(0, 1, 20), new(1, 3, 10)] },
        ],
        InterCommodity = [new() { Legs = [new SpreadLeg(0, 1), new SpreadLeg(1, -15)], Credit = 0.5 }, new() { Form = InterCommodityForm.Scanning, Legs = [new SpreadLeg(0, 1), new SpreadLeg(1, 1)], Credit = 0.3 }],
        SizeAddOns =
        [
            new() { Underlying = 0, BaseRate = 0.01, Bands = [new(50_000, 1), new(200_000, 2), new(1e18, 4)], ShockThreshold = 100_000, ShockFullAt = 400_000, MaxShock = 0.05, VegaRate = 0.02 },
            new() { Underlying = 1, BaseRate = 0.02, Bands = [new(10_000, 1), new(1e18, 3)], VegaRate = 0.01, Combine = AddOnCombine.Max },
        ],
    };

    [Fact]
    public void EveryComponentOn_100kRandomEvents_IncrementalEqualsFromScratch()
    {
        var f = new BookFixture(underlyings: 2, accounts: 200, components: Everything(BookFixture.Start));
        var book = f.Book;
        var rng = new Random(1919);
        double[] index = [30_000, 2_000];
        long now = BookFixture.Start;
        for (int a = 0; a < 200; a++)
        {
            Assert.True(book.SetCollateral(a, BookFixture.Usd, 50_000 + rng.Next(200_000)));
        }

        int applied = 0;
        for (int e = 0; e < 100_000; e++)
        {
            int kind = rng.Next(100);
            int account = rng.Next(200);
            if (kind < 40)
            {
                int instrument = f.Instruments[rng.Next(f.Instruments.Count)];
                double quantity = (rng.Next(2) == 0 ? -1 : 1) * (1 + rng.Next(5)) * (book.Instrument(instrument).IsOption ? 0.5 : 0.1);
                double price = book.MarkPrice(instrument) * (1 + ((rng.NextDouble() - 0.5) * 0.02));
                applied += book.ApplyFill(account, instrument, quantity, Math.Max(price, 0.01)) == FillResult.Applied ? 1 : 0;
            }
            else if (kind < 65)
            {
                int u = rng.Next(2);
                index[u] *= 1 + ((rng.NextDouble() - 0.5) * 0.01);
                now += 1_000_000_000;
                Assert.Equal(MarkResult.Accepted, book.UpdateIndex(u, index[u], now));
            }
            else if (kind < 90)
            {
                int option = f.ByUnderlying[rng.Next(2)][3 + rng.Next(30)];
                double vol = Math.Clamp(book.MarkVolatility(option) * (1 + ((rng.NextDouble() - 0.5) * 0.1)), 0.2, 2.0);
                Assert.Equal(MarkResult.Accepted, book.UpdateVolatility(option, vol));
            }
            else if (kind < 96)
            {
                Assert.True(book.SetCollateral(account, BookFixture.Usd, rng.NextDouble() * 300_000));
            }
            else
            {
                book.SetMarginMode(account, book.Mode(account) == MarginMode.Portfolio ? MarginMode.Standard : MarginMode.Portfolio);
            }

            if (e % 500 == 0)
            {
                book.Revalue();
            }

            while (book.TryDequeueTransition(out _))
            {
            }
        }

        book.Revalue();
        Assert.True(applied > 30_000, $"only {applied} fills applied");
        AllMatch(book, 200);

        // Fills alone, no revaluation to re-base them: the incremental component paths on their own.
        for (int e = 0; e < 20_000; e++)
        {
            int account = rng.Next(200);
            int instrument = f.Instruments[rng.Next(f.Instruments.Count)];
            book.ApplyFill(account, instrument, (rng.Next(2) == 0 ? -1 : 1) * 0.5, book.MarkPrice(instrument));
        }

        AllMatch(book, 200);
    }

    private static void AllMatch(RiskBook book, int accounts)
    {
        int intra = 0, credit = 0, addOn = 0;
        for (int a = 0; a < accounts; a++)
        {
            RiskBookExactnessTests.AssertMatches(book, a);
            for (int u = 0; u < 2; u++)
            {
                var b = book.MarginBreakdown(a, u);
                intra += b.IntraCommodityCharge > 0 ? 1 : 0;
                credit += b.InterCommodityCredit > 0 ? 1 : 0;
                addOn += b.SizeAddOn > 0 ? 1 : 0;
            }
        }

        // Not vacuous: every component is in force on many of the accounts compared.
        Assert.True(intra > 50 && credit > 20 && addOn > 100, $"aggregates with an intra charge {intra}, a credit {credit}, an add-on {addOn}");
    }

    [Fact]
    public void EveryComponentOn_FillTickAndWhatIf_DoNotAllocate()
    {
        var f = new BookFixture(underlyings: 2, accounts: 4, components: Everything(BookFixture.Start));
        var book = f.Book;
        Assert.True(book.SetCollateral(0, BookFixture.Usd, 10_000_000));
        // U0: tier 0 (the perpetual) −1 against tier 1 (+2 futures − 1.5 of the 37-day call's delta): a calendar spread;
        // U0's net delta is negative and U1's positive: an inter-commodity spread.
        Fill(book, 0, (f.Perp(0), -1), (f.Future(0, 0), 2), (f.Future(0, 1), -1), (f.Future(1, 0), 30), (f.Option(0, 1, 2, true), -3));
        Assert.True(book.MarginBreakdown(0, 0).InterCommodityCredit > 0 && book.MarginBreakdown(0, 0).IntraCommodityCharge > 0, "the components are in force");
        var state = (book, f, flip: new int[1]);
        GcAssert.NoAllocation(state, static s =>
        {
            int k = s.flip[0]++ & 1;
            s.book.ApplyFill(0, s.f.Future(0, 1), k == 0 ? 0.5 : -0.5, 30_000);
            s.book.ApplyFill(0, s.f.Option(1, 0, 1, false), k == 0 ? 1 : -1, s.book.MarkPrice(s.f.Option(1, 0, 1, false)));
            s.book.UpdateIndex(0, k == 0 ? 30_010 : 29_990, BookFixture.Start + (s.flip[0] * 1_000_000L));
            s.book.Revalue();
            s.book.WhatIf(0, s.f.Future(1, 1), 10);
            s.book.WhatIf(0, s.f.Option(0, 2, 3, false), -2);
        });
    }

    private static void Fill(RiskBook book, int account, params (int Instrument, double Quantity)[] legs)
    {
        Assert.True(book.SetCollateral(account, 0, 1e9));
        foreach (var (instrument, quantity) in legs)
        {
            Assert.Equal(FillResult.Applied, book.ApplyFill(account, instrument, quantity, book.MarkPrice(instrument)));
        }
    }
}
