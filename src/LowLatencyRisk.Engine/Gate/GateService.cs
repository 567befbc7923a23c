using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Engine.Gate;

/// <summary>
/// The out-of-process entry to the pre-trade gate: consumes order-check requests from a request
/// ring, answers each with the same <see cref="PreTradeGate{TMargin}.Check"/> the in-process path calls, and
/// publishes the decision with the request's correlation id on a response ring.
/// </summary>
/// <remarks>
/// Runs on the thread that owns the risk book (single writer): <c>llr engine</c> polls it between feed
/// batches. Every request gets exactly one response: a request that is not a valid order-check
/// message is answered <see cref="RejectReason.InvalidOrder"/> and counted in
/// <see cref="MalformedRequests"/>. A request is taken only once its response has a slot: when the
/// response ring is full the request stays in the request ring (counted in
/// <see cref="WaitedForRoom"/>) and is answered on a later poll, so a slow or absent reader holds up
/// order checks — back-pressure on the clients — and never the engine thread or the feed.
/// </remarks>
public sealed class GateService : IAgent
{
    private readonly RingConsumer _requests;
    private Handler _handler;

    /// <summary>Creates the service over a request consumer and a response producer.</summary>
    public GateService(PreTradeGate gate, RingConsumer requests, IRingProducer responses)
    {
        ArgumentNullException.ThrowIfNull(gate);
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(responses);
        _requests = requests;
        _handler = new Handler(gate, responses);
    }

    /// <summary>Requests answered.</summary>
    public long Answered => _handler.Answered;

    /// <summary>Requests that were not valid order-check messages (answered with a reject).</summary>
    public long MalformedRequests => _handler.Malformed;

    /// <summary>Polls that found a request but no room for its response (the request waited in its ring).</summary>
    public long WaitedForRoom => _handler.Waited;

    /// <summary>Answers every request available now that has room for its response, as one batch; returns how many.</summary>
    public int Poll(int maxBatch = 1024) => _requests.PollWhile(ref _handler, maxBatch);

    /// <summary>"gate".</summary>
    public string RoleName => "gate";

    /// <summary>One <see cref="Poll"/>.</summary>
    public int DoWork() => Poll();

    /// <summary>Never: the service answers until stopped.</summary>
    public bool IsDone => false;

    private struct Handler(PreTradeGate gate, IRingProducer responses) : IRingHandlerWhile
    {
        public long Answered;
        public long Malformed;
        public long Waited;

        public bool OnMessage(long sequence, ReadOnlySpan<byte> payload)
        {
            if (!responses.TryClaim(1, out long slot))
            {
                Waited++;
                return false; // not taken: it stays in the request ring until its answer has room
            }

            Decision decision;
            long timestamp = 0;
            if (OrderCheckRequestDescriptor.TryRead(payload, out long correlationId, out var order, out timestamp))
            {
                decision = gate.Check(order, timestamp);
            }
            else
            {
                Malformed++;
                decision = new Decision(RejectReason.InvalidOrder);
            }

            OrderCheckResponseDescriptor.Write(responses.Payload(slot), correlationId, decision, timestamp);
            responses.Publish(slot);
            Answered++;
            return true;
        }
    }
}

/// <summary>The client side of the out-of-process gate, for a .NET matching engine in another process.</summary>
/// <remarks>One thread. Correlation ids are the caller's; responses come back in request order on a single-service topology.</remarks>
public sealed class GateClient
{
    private readonly IRingProducer _requests;
    private readonly RingConsumer _responses;
    private ResponseHandler _handler;

    /// <summary>Creates the client over a request producer and a response consumer.</summary>
    public GateClient(IRingProducer requests, RingConsumer responses)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(responses);
        _requests = requests;
        _responses = responses;
    }

    /// <summary>Sends one request, waiting while the request ring is full.</summary>
    public void Send(long correlationId, in OrderRequest order, long timestampNanos)
    {
        int spins = 0;
        long slot;
        while (!_requests.TryClaim(1, out slot))
        {
            new BusySpinWait().Idle(spins++);
        }

        OrderCheckRequestDescriptor.Write(_requests.Payload(slot), correlationId, order, timestampNanos);
        _requests.Publish(slot);
    }

    /// <summary>Takes one response if available.</summary>
    public bool TryReceive(out long correlationId, out Decision decision)
    {
        _handler.Has = false;
        if (_responses.Poll(ref _handler, maxBatch: 1) == 1 && _handler.Has)
        {
            correlationId = _handler.CorrelationId;
            decision = _handler.Decision;
            return true;
        }

        correlationId = 0;
        decision = default;
        return false;
    }

    private struct ResponseHandler : IRingHandler
    {
        public bool Has;
        public long CorrelationId;
        public Decision Decision;

        public void OnMessage(long sequence, ReadOnlySpan<byte> payload) =>
            Has = OrderCheckResponseDescriptor.TryRead(payload, out CorrelationId, out Decision);
    }
}
