using LowLatencyRisk.Core.Pricing;

namespace LowLatencyRisk.Core.Risk;

/// <summary>
/// Historical risk measures of a sample of losses (positive = loss) and the Kupiec
/// proportion-of-failures test of a margin's exceedances: the building blocks of the expected-
/// shortfall methodology and of backtesting. Pure functions; the caller supplies the scratch.
/// </summary>
public static class RiskMeasures
{
    /// <summary>
    /// Historical value-at-risk at <paramref name="confidence"/>: the smallest loss L of the sample
    /// such that at least that share of the losses is ≤ L — the k-th smallest, k = ⌈confidence × n⌉.
    /// <paramref name="scratch"/> (length ≥ n) receives the sorted losses.
    /// </summary>
    public static double ValueAtRisk(ReadOnlySpan<double> losses, double confidence, Span<double> scratch)
    {
        int n = Sort(losses, confidence, scratch);
        return scratch[Rank(n, confidence) - 1];
    }

    /// <summary>
    /// Historical expected shortfall at <paramref name="confidence"/>: the mean of the worst
    /// (1 − confidence) share of the sample, the loss at the boundary counted in the fraction that
    /// falls in the tail — (Σ of the n − k losses above the k-th + (k − confidence × n) × the k-th)
    /// ÷ ((1 − confidence) × n), k = ⌈confidence × n⌉. Never below the VaR at the same confidence.
    /// </summary>
    public static double ExpectedShortfall(ReadOnlySpan<double> losses, double confidence, Span<double> scratch)
    {
        int n = Sort(losses, confidence, scratch);
        int k = Rank(n, confidence);
        double tail = (1 - confidence) * n;
        double sum = (k - (confidence * n)) * scratch[k - 1];
        for (int i = k; i < n; i++)
        {
            sum += scratch[i];
        }

        return sum / tail;
    }

    /// <summary>
    /// Kupiec's proportion-of-failures likelihood ratio for <paramref name="exceedances"/> out of
    /// <paramref name="observations"/> when the expected rate is <paramref name="expectedRate"/>:
    /// LR = −2 ln[(1 − p)^(n − x) p^x] + 2 ln[(1 − x/n)^(n − x) (x/n)^x], χ² with one degree of freedom
    /// under the model; the p-value is P(χ²₁ ≥ LR) = 2 Φ(−√LR).
    /// </summary>
    public static (double LikelihoodRatio, double PValue) Kupiec(long observations, long exceedances, double expectedRate)
    {
        if (observations <= 0 || exceedances < 0 || exceedances > observations || !(expectedRate is > 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(observations), "Need n > 0, 0 ≤ x ≤ n and 0 < p < 1.");
        }

        double n = observations, x = exceedances, observed = x / n;
        double model = ((n - x) * Math.Log(1 - expectedRate)) + (x > 0 ? x * Math.Log(expectedRate) : 0);
        double fitted = (x < n ? (n - x) * Math.Log(1 - observed) : 0) + (x > 0 ? x * Math.Log(observed) : 0);
        double lr = Math.Max(-2 * (model - fitted), 0);
        return (lr, 2 * NormalDistribution.Cdf(-Math.Sqrt(lr))); // the upper tail taken directly: no cancellation near 1
    }

    private static int Sort(ReadOnlySpan<double> losses, double confidence, Span<double> scratch)
    {
        if (losses.IsEmpty || scratch.Length < losses.Length)
        {
            throw new ArgumentException("Need a non-empty sample and a scratch span at least as long.", nameof(scratch));
        }

        if (!(confidence is > 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "A confidence is in (0, 1).");
        }

        losses.CopyTo(scratch);
        scratch[..losses.Length].Sort();
        return losses.Length;
    }

    private static int Rank(int n, double confidence) => Math.Clamp((int)Math.Ceiling((confidence * n) - 1e-9), 1, n);
}
