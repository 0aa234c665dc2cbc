namespace Tekana.Domain.Money;

/// <summary>An ISO 4217 currency with its minor-unit exponent (RWF 0: amounts are whole francs; USD 2: amounts are cents).</summary>
public sealed record Currency(string Code, int Exponent, string Name);

/// <summary>The currencies the ledger accepts. Codes are upper-case ISO 4217 alphabetic codes.</summary>
public static class Currencies
{
    private static readonly Dictionary<string, Currency> ByCode = new Currency[]
    {
        new("RWF", 0, "Rwandan franc"),
        new("USD", 2, "US dollar"),
        new("EUR", 2, "Euro"),
        new("GBP", 2, "Pound sterling"),
        new("KES", 2, "Kenyan shilling"),
        new("UGX", 0, "Ugandan shilling"),
        new("TZS", 2, "Tanzanian shilling"),
        new("BIF", 0, "Burundian franc"),
        new("CDF", 2, "Congolese franc"),
        new("ZAR", 2, "South African rand"),
        new("NGN", 2, "Nigerian naira"),
        new("GHS", 2, "Ghanaian cedi"),
        new("XOF", 0, "West African CFA franc"),
        new("XAF", 0, "Central African CFA franc"),
        new("ETB", 2, "Ethiopian birr"),
        new("ZMW", 2, "Zambian kwacha"),
        new("MWK", 2, "Malawian kwacha"),
        new("CAD", 2, "Canadian dollar"),
        new("CHF", 2, "Swiss franc"),
        new("JPY", 0, "Japanese yen"),
        new("CNY", 2, "Chinese yuan"),
        new("INR", 2, "Indian rupee"),
        new("AED", 2, "UAE dirham"),
        new("BHD", 3, "Bahraini dinar"),
        new("KWD", 3, "Kuwaiti dinar"),
    }.ToDictionary(c => c.Code, StringComparer.Ordinal);

    public static IReadOnlyCollection<Currency> All => ByCode.Values;

    /// <summary>Finds a currency by code; the lookup is case-sensitive on purpose (codes are canonical upper case).</summary>
    public static bool TryGet(string? code, out Currency currency)
    {
        if (code is not null && ByCode.TryGetValue(code, out var found))
        {
            currency = found;
            return true;
        }
        currency = null!;
        return false;
    }

    public static bool IsSupported(string? code) => code is not null && ByCode.ContainsKey(code);
}
