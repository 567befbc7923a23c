using LowLatencyRisk.Core.Pricing;

namespace LowLatencyRisk.Core.Tests.Pricing;

[Trait("Category", "Math")]
public class BlackScholesTests
{
    private static Greeks Spot(OptionRight right, double s, double k, double t, double r, double sigma, double q = 0) =>
        BlackScholes.Compute(new OptionInput(right, PricingModel.Spot, s, k, t, sigma, r, q));

    private static Greeks Forward(OptionRight right, double f, double k, double t, double r, double sigma) =>
        BlackScholes.Compute(new OptionInput(right, PricingModel.Forward, f, k, t, sigma, r));

    [Fact]
    public void Hull15_6_CallAndPut()
    {
        // Hull, Options, Futures and Other Derivatives, example 15.6.
        Assert.Equal(4.76, Spot(OptionRight.Call, 42, 40, 0.5, 0.10, 0.20).Price, 2);
        Assert.Equal(0.81, Spot(OptionRight.Put, 42, 40, 0.5, 0.10, 0.20).Price, 2);
    }

    [Fact]
    public void Hull_GreeksChapter_CallGreeks()
    {
        // Hull, the Greek letters chapter: S=49, K=50, r=5%, σ=20%, T=20 weeks.
        var g = Spot(OptionRight.Call, 49, 50, 20.0 / 52, 0.05, 0.20);
        Assert.Equal(0.522, g.Delta, 3);
        Assert.Equal(0.066, g.Gamma, 3);
        Assert.Equal(12.1, g.Vega, 1);
        Assert.Equal(-4.31, g.Theta, 2);
        Assert.Equal(8.91, g.Rho, 2);
        Assert.Equal(-4.31 / 365, g.ThetaPerDay, 4);
    }

    [Fact]
    public void Haug_BlackScholes_Call()
    {
        // Haug (2007) 1.1.1: S=60, X=65, T=0.25, r=8%, σ=30% → call 2.1334.
        Assert.Equal(2.1334, Spot(OptionRight.Call, 60, 65, 0.25, 0.08, 0.30).Price, 4);
    }

    [Fact]
    public void Haug_Merton73_PutWithDividendYield()
    {
        // Haug (2007) 1.1.2: S=100, X=95, T=0.5, r=10%, q=5%, σ=20% → put 2.4648.
        Assert.Equal(2.4648, Spot(OptionRight.Put, 100, 95, 0.5, 0.10, 0.20, q: 0.05).Price, 4);
    }

    [Fact]
    public void Haug_Black76_FuturesOption()
    {
        // Haug (2007) 1.1.3: F=19, X=19, T=0.75, r=10%, σ=28% → call = put = 1.7011.
        Assert.Equal(1.7011, Forward(OptionRight.Call, 19, 19, 0.75, 0.10, 0.28).Price, 4);
        Assert.Equal(1.7011, Forward(OptionRight.Put, 19, 19, 0.75, 0.10, 0.28).Price, 4);
    }

    [Fact]
    public void Haug_GarmanKohlhagen_CurrencyCall()
    {
        // Haug (2007) 1.1.6 (Garman-Kohlhagen): S=1.56, X=1.60, T=0.5, r=6%, rf=8%, σ=12% → call 0.0291.
        Assert.Equal(0.0291, Spot(OptionRight.Call, 1.56, 1.60, 0.5, 0.06, 0.12, q: 0.08).Price, 4);
    }

    [Theory]
    [InlineData(PricingModel.Spot)]
    [InlineData(PricingModel.Forward)]
    public void PutCallParity_HoldsOnRandomInputs(PricingModel model)
    {
        var rng = new Random(5);
        for (int i = 0; i < 5_000; i++)
        {
            double s = 10 + rng.NextDouble() * 190;
            double k = s * (0.5 + rng.NextDouble());
            double t = 0.01 + rng.NextDouble() * 3;
            double sigma = 0.05 + rng.NextDouble();
            double r = rng.NextDouble() * 0.1;
            double q = model == PricingModel.Spot ? rng.NextDouble() * 0.05 : 0;
            var call = BlackScholes.Compute(new OptionInput(OptionRight.Call, model, s, k, t, sigma, r, q));
            var put = BlackScholes.Compute(new OptionInput(OptionRight.Put, model, s, k, t, sigma, r, q));
            double b = model == PricingModel.Spot ? r - q : 0;
            double parity = (s * Math.Exp((b - r) * t)) - (k * Math.Exp(-r * t));
            Assert.True(Math.Abs(call.Price - put.Price - parity) < 1e-11 * s, $"parity off by {call.Price - put.Price - parity}");
            Assert.True(Math.Abs(call.Delta - put.Delta - Math.Exp((b - r) * t)) < 1e-14);
            Assert.Equal(call.Gamma, put.Gamma, 12);
            Assert.Equal(call.Vega, put.Vega, 10);
        }
    }

    [Theory]
    [InlineData(OptionRight.Call, PricingModel.Spot)]
    [InlineData(OptionRight.Put, PricingModel.Spot)]
    [InlineData(OptionRight.Call, PricingModel.Forward)]
    [InlineData(OptionRight.Put, PricingModel.Forward)]
    public void Greeks_MatchFiniteDifferencesOfThePrice(OptionRight right, PricingModel model)
    {
        var rng = new Random(9);
        for (int i = 0; i < 500; i++)
        {
            var o = new OptionInput(right, model, 50 + rng.NextDouble() * 100, 50 + rng.NextDouble() * 100, 0.05 + rng.NextDouble() * 2,
                0.1 + rng.NextDouble() * 0.8, rng.NextDouble() * 0.08, model == PricingModel.Spot ? rng.NextDouble() * 0.04 : 0);
            var g = BlackScholes.Compute(o);
            double hs = o.Underlying * 1e-4;
            double up = BlackScholes.Price(o with { Underlying = o.Underlying + hs });
            double down = BlackScholes.Price(o with { Underlying = o.Underlying - hs });
            Close(g.Delta, (up - down) / (2 * hs), 1e-6, "delta");
            Close(g.Gamma, (up - (2 * g.Price) + down) / (hs * hs), 1e-4, "gamma");
            double hv = 1e-5;
            Close(g.Vega, (BlackScholes.Price(o with { Volatility = o.Volatility + hv }) - BlackScholes.Price(o with { Volatility = o.Volatility - hv })) / (2 * hv), 1e-5, "vega");
            double ht = 1e-5;
            Close(g.Theta, -(BlackScholes.Price(o with { Time = o.Time + ht }) - BlackScholes.Price(o with { Time = o.Time - ht })) / (2 * ht), 1e-4, "theta");
            double hr = 1e-6;
            Close(g.Rho, (BlackScholes.Price(o with { Rate = o.Rate + hr }) - BlackScholes.Price(o with { Rate = o.Rate - hr })) / (2 * hr), 1e-4, "rho");
        }

        static void Close(double analytic, double numeric, double tolerance, string what) =>
            Assert.True(Math.Abs(analytic - numeric) <= tolerance * Math.Max(1, Math.Abs(numeric)), $"{what}: analytic {analytic} vs numeric {numeric}");
    }

    [Fact]
    public void Bounds_AndMonotonicity()
    {
        var rng = new Random(3);
        for (int i = 0; i < 5_000; i++)
        {
            double s = 100, k = 50 + rng.NextDouble() * 100, t = 0.01 + rng.NextDouble() * 2, sigma = 0.05 + rng.NextDouble(), r = rng.NextDouble() * 0.1;
            var c = Spot(OptionRight.Call, s, k, t, r, sigma);
            var p = Spot(OptionRight.Put, s, k, t, r, sigma);
            Assert.InRange(c.Price, Math.Max(0, s - (k * Math.Exp(-r * t))) - 1e-12, s);
            Assert.InRange(p.Price, Math.Max(0, (k * Math.Exp(-r * t)) - s) - 1e-12, k * Math.Exp(-r * t));
            Assert.InRange(c.Delta, 0, 1);
            Assert.InRange(p.Delta, -1, 0);
            Assert.True(c.Gamma >= 0 && c.Vega >= 0);
            Assert.True(Spot(OptionRight.Call, s, k + 1, t, r, sigma).Price <= c.Price);
            Assert.True(Spot(OptionRight.Call, s, k, t, r, sigma + 0.01).Price >= c.Price);
        }
    }

    [Fact]
    public void Expired_ReturnsSettledPayoff()
    {
        var itm = Spot(OptionRight.Call, 110, 100, 0, 0.05, 0.3);
        Assert.Equal(new Greeks(10, 1, 0, 0, 0, 0), itm);
        var otm = Spot(OptionRight.Put, 110, 100, -0.1, 0.05, 0.3);
        Assert.Equal(new Greeks(0, 0, 0, 0, 0, 0), otm);
        var atm = Spot(OptionRight.Put, 100, 100, 0, 0.05, 0.3);
        Assert.Equal(-0.5, atm.Delta);
        Assert.Equal(0, atm.Price);
    }

    [Fact]
    public void ZeroVolatility_IsDiscountedForwardIntrinsic()
    {
        var c = Spot(OptionRight.Call, 100, 90, 1, 0.05, 0);
        Assert.Equal(100 - (90 * Math.Exp(-0.05)), c.Price, 10);
        Assert.Equal(1, c.Delta, 12);
        var p = Forward(OptionRight.Put, 100, 90, 1, 0.05, 1e-20);
        Assert.Equal(0, p.Price, 12);
    }

    [Fact]
    public void DeepInAndOutOfTheMoney_AndLongExpiry_AreFiniteAndBounded()
    {
        var deepOtm = Spot(OptionRight.Call, 100, 1000, 0.1, 0.05, 0.2);
        Assert.True(deepOtm.Price >= 0 && deepOtm.Price < 1e-30);
        var deepItm = Spot(OptionRight.Put, 100, 1000, 0.1, 0.05, 0.2);
        Assert.Equal((1000 * Math.Exp(-0.005)) - 100, deepItm.Price, 9);
        var longDated = Spot(OptionRight.Call, 100, 100, 50, 0.03, 0.8);
        Assert.True(double.IsFinite(longDated.Price) && longDated.Price < 100 && longDated.Price > 90);
    }
}
