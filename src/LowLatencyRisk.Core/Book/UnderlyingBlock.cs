using LowLatencyRisk.Core.Pricing;
using LowLatencyRisk.Core.Risk;

namespace LowLatencyRisk.Core.Book;

/// <summary>
/// Everything of one underlying in struct-of-arrays form: its market (index, held jump, clock),
/// its instruments split into an option group (valued by the Vector256 kernels) and a linear group,
/// their cached per-contract values (mark, Greeks, risk-array row), and the accounts that hold them.
/// </summary>
internal sealed class UnderlyingBlock
{
    public readonly Group Options;
    public readonly Group Linear;
    public readonly HolderSet Holders;

    public UnderlyingBlock(int capacity, int scenarios, int maxAccounts)
    {
        Options = new Group(capacity, scenarios);
        Linear = new Group(capacity, scenarios);
        Holders = new HolderSet(maxAccounts);
    }

    public void VisitState(Persistence.StateVisitor v)
    {
        v.Value(ref Defined);
        v.Value(ref Carry);
        v.Value(ref HasIndex);
        v.Value(ref Index);
        v.Value(ref IndexNanos);
        v.Value(ref HasHeld);
        v.Value(ref HeldIndex);
        v.Value(ref Dirty);
        v.Value(ref ValuedAtNanos);
        v.Value(ref Revaluations);
        Options.VisitState(v);
        Linear.VisitState(v);
        Holders.VisitState(v);
    }

    public bool Defined;
    public double Carry;
    public bool HasIndex;
    public double Index;
    public long IndexNanos;
    public bool HasHeld;
    public double HeldIndex;
    public bool Dirty;
    public long ValuedAtNanos;
    public long Revaluations; // counts instrument revaluations: what the working-order arrays were built against

    /// <summary>Instruments of one kind family, SoA, in the layout the kernels take.</summary>
    internal sealed class Group
    {
        public int Count;
        public readonly int Scenarios;
        public readonly int[] Ids;
        public readonly long[] Expiry;
        public readonly byte[] Kind;
        public readonly double[] Omega, Forward, Strike, Time, Volatility, Rate, CarryB, SpotModel, Multiplier;
        public readonly double[] Price, Delta, Gamma, Vega, Theta, Rho;
        public readonly double[] ForwardPerIndex; // ∂F/∂index = e^(carry·T): chain rule from forward to index Greeks
        public readonly double[] Rows;            // Count × Scenarios, loss per contract
        public readonly bool[] HasHeldVol;
        public readonly double[] HeldVol;

        public Group(int capacity, int scenarios)
        {
            Scenarios = scenarios;
            Ids = new int[capacity];
            Expiry = new long[capacity];
            Kind = new byte[capacity];
            Omega = new double[capacity]; Forward = new double[capacity]; Strike = new double[capacity]; Time = new double[capacity];
            Volatility = new double[capacity]; Rate = new double[capacity]; CarryB = new double[capacity]; SpotModel = new double[capacity];
            Multiplier = new double[capacity];
            Price = new double[capacity]; Delta = new double[capacity]; Gamma = new double[capacity]; Vega = new double[capacity];
            Theta = new double[capacity]; Rho = new double[capacity];
            ForwardPerIndex = new double[capacity];
            Rows = new double[capacity * scenarios];
            HasHeldVol = new bool[capacity];
            HeldVol = new double[capacity];
        }

        public Span<double> Row(int slot) => Rows.AsSpan(slot * Scenarios, Scenarios);

        public void VisitState(Persistence.StateVisitor v)
        {
            v.Value(ref Count);
            v.Array(Ids);
            v.Array(Expiry);
            v.Array(Kind);
            foreach (var a in (ReadOnlySpan<double[]>)[Omega, Forward, Strike, Time, Volatility, Rate, CarryB, SpotModel, Multiplier, Price, Delta, Gamma, Vega, Theta, Rho, ForwardPerIndex, Rows, HeldVol])
            {
                v.Array(a);
            }

            v.Array(HasHeldVol);
        }

        public RiskArrayInputs RiskInputs => new(Omega.AsSpan(0, Count), Forward.AsSpan(0, Count), Strike.AsSpan(0, Count), Time.AsSpan(0, Count),
            Volatility.AsSpan(0, Count), Rate.AsSpan(0, Count), CarryB.AsSpan(0, Count), SpotModel.AsSpan(0, Count), Multiplier.AsSpan(0, Count));

        public OptionBatchInputs GreekInputs => new(Omega.AsSpan(0, Count), Forward.AsSpan(0, Count), Strike.AsSpan(0, Count), Time.AsSpan(0, Count),
            Volatility.AsSpan(0, Count), Rate.AsSpan(0, Count), CarryB.AsSpan(0, Count), SpotModel.AsSpan(0, Count));

        public OptionBatchOutputs GreekOutputs => new(Price.AsSpan(0, Count), Delta.AsSpan(0, Count), Gamma.AsSpan(0, Count), Vega.AsSpan(0, Count),
            Theta.AsSpan(0, Count), Rho.AsSpan(0, Count));
    }
}
