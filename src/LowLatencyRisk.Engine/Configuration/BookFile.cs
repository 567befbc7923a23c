using System.Globalization;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Engine.Margin;

namespace LowLatencyRisk.Engine.Configuration;

/// <summary>Where the engine's starting book comes from (the seam between the engine and what builds its book).</summary>
public interface IBookSource
{
    /// <summary>Builds the book with <paramref name="config"/>'s parameters; throws <see cref="ConfigException"/> naming every problem of its input.</summary>
    RiskBook Build(LlrConfig config);
}

/// <summary>The book of <c>book.file</c> (<see cref="BookFile"/>).</summary>
public sealed class FileBookSource : IBookSource
{
    /// <inheritdoc/>
    public RiskBook Build(LlrConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return BookFile.Load(config.Book.File ?? throw new ConfigException("config", ["book.file: is not set"]), config);
    }
}

/// <summary>
/// The engine's starting book from a file (<c>book.file</c>): a venue's own underlyings,
/// instruments, collateral assets and accounts with their modes, collateral and positions, in the
/// format <c>llr margin</c> reads, so one file can be checked with <c>llr margin</c> and then served
/// by <c>llr engine</c>. Ids on the wire are the entries' positions in the file: the first
/// underlying is 0, the first instrument 0, the first asset 0, the first account 0.
/// </summary>
/// <remarks>
/// Everything is checked before anything is built, and every problem is reported at once with its
/// JSON path (<see cref="ConfigException"/>); the grid and margin parameters are the configuration's
/// (a file that sets them is refused). Isolated accounts name their parent. Capacity: the file's
/// underlyings, assets and accounts, its instruments plus <c>book.spareInstruments</c> for
/// definitions that arrive on the feed, and <c>book.maxPositionsPerAccount</c>.
/// </remarks>
public static class BookFile
{
    /// <summary>Loads and builds the book of <paramref name="path"/> with <paramref name="config"/>'s parameters; throws <see cref="ConfigException"/> naming every problem.</summary>
    public static RiskBook Load(string path, LlrConfig config)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(config);
        if (PortfolioMargin.ReadFile(path, out string json) is { } problem)
        {
            throw new ConfigException(path, [$"$: {problem}"], "book");
        }

        return Build(json, config, path);
    }

    /// <summary>Builds the book from the file's text (<paramref name="source"/> names it in errors).</summary>
    public static RiskBook Build(string json, LlrConfig config, string source = "book")
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(config);
        return Build(PortfolioMargin.Parse(json, source, "book"), config, source, adjust: null, nullWhenTooLarge: false)!;
    }

    /// <summary>
    /// As <see cref="Build(string, LlrConfig, string)"/>, for a file already parsed; <paramref name="adjust"/>
    /// may change the book's parameters (the backtest lifts the jump band); with
    /// <paramref name="nullWhenTooLarge"/> a book beyond half the machine's memory is null instead of a
    /// problem (the backtest then uses a book per account).
    /// </summary>
    internal static RiskBook? Build(PortfolioFile file, LlrConfig config, string source, Func<RiskConfig, RiskConfig>? adjust, bool nullWhenTooLarge)
    {
        var errors = new List<string>();
        var plan = PortfolioMargin.Validate(file, errors, config);
        if (plan is null || errors.Count > 0)
        {
            throw new ConfigException(source, errors, "book");
        }

        var b = config.Book;
        int maxPositions = Math.Max(b.MaxPositionsPerAccount, file.Accounts!.Max(a => a.Positions?.Length ?? 0));
        var shape = config.Apply(new RiskConfig
        {
            MaxUnderlyings = file.Underlyings!.Length,
            MaxInstruments = file.Instruments!.Length + b.SpareInstruments,
            MaxAssets = file.Assets.Length,
            MaxAccounts = file.Accounts!.Length,
            MaxPositionsPerAccount = maxPositions,
        }, [.. file.Underlyings!.Select(u => u.Name!)]);

        // The book is preallocated (no allocation on the hot paths), so its size is known before it
        // is built: a file within every per-field bound can still describe a book larger than the
        // machine (each underlying keeps a row per instrument slot, each account a row per
        // underlying). Refused with the numbers, not left to fail as an out-of-memory crash.
        if (adjust is not null)
        {
            shape = adjust(shape);
        }

        long estimate = EstimatedBytes(shape);
        long limit = MemoryLimit();
        if (estimate > limit)
        {
            if (nullWhenTooLarge)
            {
                return null;
            }

            throw new ConfigException(source, [string.Create(CultureInfo.InvariantCulture,
                $"$: the book would need about {estimate / (1 << 20):N0} MiB ({shape.MaxUnderlyings:N0} underlyings × {shape.MaxInstruments:N0} instrument slots, {shape.MaxAccounts:N0} accounts × {shape.MaxPositionsPerAccount:N0} positions); half of this machine's memory is {limit / (1 << 20):N0} MiB — fewer underlyings or instruments, or a smaller book.spareInstruments or book.maxPositionsPerAccount")], "book");
        }

        var book = new RiskBook(shape);

        for (int u = 0; u < file.Underlyings.Length; u++)
        {
            var x = file.Underlyings[u];
            book.DefineUnderlying(u, x.Carry);
            if (book.UpdateIndex(u, x.Index!.Value, plan.Now) is var mark && mark != MarkResult.Accepted)
            {
                errors.Add($"underlyings[{u}].index: refused by the book ({mark})");
            }
        }

        for (int i = 0; i < file.Instruments.Length; i++)
        {
            var x = file.Instruments[i];
            var spec = new InstrumentSpec(x.Kind!.Value, plan.Underlyings[x.Underlying!], x.Strike ?? 0, plan.Expiries[i], x.Multiplier, x.TickSize, x.LotSize) { Settlement = x.Settlement };
            var defined = book.TryDefineInstrument(i, spec);
            if (defined != DefinitionResult.Defined)
            {
                errors.Add($"instruments[{i}]: {book.Describe(defined)}");
            }
            else
            {
                if (x.Volatility is { } vol)
                {
                    book.SetInitialVolatility(i, vol);
                }

                if (x.FundingRate is { } rate)
                {
                    book.SetFundingRate(i, rate);
                }
            }
        }

        for (int k = 0; k < file.Assets.Length; k++)
        {
            var x = file.Assets[k];
            book.DefineAsset(k, x.Underlying is null ? -1 : plan.Underlyings[x.Underlying], x.Price ?? 0, [.. x.Haircuts.Select(t => new HaircutTier(t.UpTo, t.Haircut))], x.InScenarios ?? book.Config.CollateralInScenarios);
        }

        if (errors.Count > 0)
        {
            throw new ConfigException(source, errors, "book");
        }

        book.Revalue(); // marks and Greeks before any position: the positions below value against the file's market

        // Modes first, while every account is flat (an account becomes isolated only while flat);
        // parents before their isolated accounts need nothing: a parent is never isolated.
        for (int a = 0; a < file.Accounts.Length; a++)
        {
            var x = file.Accounts[a];
            var mode = x.Mode ?? config.Margin.DefaultMode;
            int instrument = mode == MarginMode.Isolated ? plan.Instruments[x.Instrument ?? x.Positions![0].Instrument!] : -1;
            int parent = x.Parent is null ? -1 : plan.Accounts[x.Parent];
            var result = book.SetMarginMode(a, mode, parent, instrument);
            if (result is not (ModeChangeResult.Changed or ModeChangeResult.Unchanged))
            {
                errors.Add($"accounts[{a}].mode: refused by the book ({result})");
            }
        }

        for (int a = 0; a < file.Accounts.Length; a++)
        {
            var x = file.Accounts[a];
            var collateral = x.Collateral ?? [];
            for (int c = 0; c < collateral.Length; c++)
            {
                if (!book.SetCollateral(a, plan.Assets[collateral[c].Asset!], collateral[c].Balance!.Value))
                {
                    errors.Add(string.Create(CultureInfo.InvariantCulture,
                        $"accounts[{a}].collateral[{c}].balance: {collateral[c].Balance} is beyond margin.maxCollateralUnits or its value beyond margin.maxCollateralValue"));
                }
            }

            var positions = x.Positions ?? [];
            for (int p = 0; p < positions.Length; p++)
            {
                var e = positions[p];
                double quantity = e.Side == PositionSide.Sell ? -e.Quantity!.Value : e.Quantity!.Value;
                var r = book.ApplyFill(a, plan.Instruments[e.Instrument!], quantity, e.Price!.Value);
                if (r != FillResult.Applied)
                {
                    errors.Add($"accounts[{a}].positions[{p}]: refused by the book ({r})");
                }
            }
        }

        if (errors.Count > 0)
        {
            throw new ConfigException(source, errors, "book");
        }

        book.Revalue();
        while (book.TryDequeueTransition(out _))
        {
            // The starting ladder is the state, not a change: recovery and the first breaches announce it.
        }

        return book;
    }

    /// <summary>
    /// A lower estimate of the preallocated book's bytes: per underlying two instrument groups of
    /// about 20 values and a scenario row per instrument slot; per account its positions, a risk
    /// array and sums per underlying, and a balance per asset; per instrument slot its definition,
    /// value and scenario row.
    /// </summary>
    public static long EstimatedBytes(RiskConfig shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long u = shape.MaxUnderlyings, i = shape.MaxInstruments, a = shape.MaxAccounts, scenarios = shape.Grid.Count;
        long perSlot = 160 + (8 * scenarios);
        return (u * i * 2 * perSlot)
            + (a * ((long)shape.MaxPositionsPerAccount * 48 + u * ((8 * scenarios) + 96) + (shape.MaxAssets * 8L) + 128))
            + (i * (perSlot + 64))
            + (u * a / 4);
    }

    private static long MemoryLimit()
    {
        long total = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return total > 0 ? total / 2 : long.MaxValue;
    }
}
