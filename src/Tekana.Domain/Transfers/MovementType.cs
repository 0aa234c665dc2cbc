namespace Tekana.Domain.Transfers;

public enum MovementType
{
    /// <summary>Top-up from a payment provider: funding house wallet to customer wallet.</summary>
    Deposit = 1,
    /// <summary>Payout: customer wallet to payout house wallet.</summary>
    Withdrawal = 2,
    /// <summary>Wallet to wallet, same currency.</summary>
    Transfer = 3,
}

public enum MovementStatus
{
    Completed = 1,
    /// <summary>Refused by a business rule; no money moved. Kept so that a replay returns the same refusal.</summary>
    Failed = 2,
}
