using Tekana.Domain.Errors;

namespace Tekana.Domain.Money;

/// <summary>
/// Arithmetic on amounts in minor units. Amounts are <see cref="long"/> and every operation is overflow-checked:
/// an overflow is a refused operation, never a wrapped balance.
/// </summary>
public static class Amounts
{
    /// <summary>
    /// The largest amount a single movement may carry: 10^15 minor units (10 trillion of a 2-decimal currency).
    /// It keeps every sum of a realistic number of movements far from <see cref="long.MaxValue"/>.
    /// </summary>
    public const long MaxMovement = 1_000_000_000_000_000;

    public static DomainError? ValidateMovement(long amount, string field = "amount") => amount switch
    {
        <= 0 => DomainError.Invalid(field, "The amount must be a positive integer in the currency's minor unit."),
        > MaxMovement => DomainError.Invalid(field, $"The amount must not exceed {MaxMovement} minor units."),
        _ => null,
    };

    public static bool TryAdd(long balance, long amount, out long result)
    {
        try
        {
            result = checked(balance + amount);
            return true;
        }
        catch (OverflowException)
        {
            result = 0;
            return false;
        }
    }

    public static bool TrySubtract(long balance, long amount, out long result)
    {
        try
        {
            result = checked(balance - amount);
            return true;
        }
        catch (OverflowException)
        {
            result = 0;
            return false;
        }
    }
}
