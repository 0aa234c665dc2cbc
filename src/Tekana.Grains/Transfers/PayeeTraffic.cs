using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Tekana.Domain.Wallets;

namespace Tekana.Grains.Transfers;

/// <summary>
/// How many movements to each payee this silo is running now. A payee that already has
/// <see cref="BatchFrom"/> or more is busy enough for its movements to go through its batch
/// (<see cref="PayeeBatchGrain"/>): alone, each would wait for the ones ahead of it on the payee's lock. With batching
/// off (<see cref="PayeeBatchingOptions"/>), and for house wallets, whose shards spread their load instead, no payee is
/// ever busy and nothing is counted.
/// </summary>
public sealed class PayeeTraffic(IOptions<PayeeBatchingOptions> options)
{
    public const int BatchFrom = 3;

    private readonly ConcurrentDictionary<string, int> _inFlight = new(StringComparer.Ordinal);

    /// <summary>Counts a movement to <paramref name="payee"/> until the returned handle is disposed.</summary>
    public Entered Enter(string payee)
    {
        if (!options.Value.Enabled || WalletIds.TryParseHouse(payee, out _, out _))
        {
            return default;
        }
        var ahead = _inFlight.AddOrUpdate(payee, 1, (_, n) => n + 1) - 1;
        return new Entered(this, payee, ahead >= BatchFrom);
    }

    private void Leave(string payee)
    {
        while (true)
        {
            var n = _inFlight[payee];
            if (n == 1 ? _inFlight.TryRemove(KeyValuePair.Create(payee, 1)) : _inFlight.TryUpdate(payee, n - 1, n))
            {
                return;
            }
        }
    }

    public readonly struct Entered(PayeeTraffic? traffic, string payee, bool busy) : IDisposable
    {
        /// <summary>True when the payee was busy as this movement arrived.</summary>
        public bool Busy => busy;

        public void Dispose() => traffic?.Leave(payee);
    }
}
