using LowLatencyRisk.Core.Book;

namespace LowLatencyRisk.Engine.Margin;

/// <summary>
/// Where <see cref="PortfolioMargin"/> takes the scratch book it margins one account in, when books are
/// reused between computations (the margin simulation service pools them: building a book is the
/// costly part of a small request). <see cref="Rent"/> must hand out a book as new — nothing defined,
/// no positions, no collateral — built by <c>create</c> for <c>key</c> or one returned under the same key.
/// </summary>
public interface IScratchBooks
{
    /// <summary>A book for <paramref name="key"/> (everything the book is built from), empty; <paramref name="create"/> builds one.</summary>
    RiskBook Rent(string key, Func<RiskBook> create);

    /// <summary>Gives the book back after the account is margined (it is reset before it is handed out again).</summary>
    void Return(string key, RiskBook book);
}
