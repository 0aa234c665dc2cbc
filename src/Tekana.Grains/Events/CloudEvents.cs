using System.Text.Json;
using Tekana.Abstractions.Events;


namespace Tekana.Grains.Events;

/// <summary>Events as CloudEvents 1.0 structured JSON, the format on Kafka. See docs/events.md.</summary>
public static class CloudEvents
{
    public const string Source = "/tekana/ledger";

    public static byte[] ToJson(LedgerEvent e)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("specversion", "1.0");
            json.WriteString("id", e.Id);
            json.WriteString("source", Source);
            json.WriteString("type", e.Type);
            json.WriteString("subject", e.Subject);
            json.WriteString("time", e.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("datacontenttype", "application/json");
            json.WriteNumber("tekanasequence", e.Number);
            json.WritePropertyName("data");
            WriteData(json, e);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static void WriteData(Utf8JsonWriter json, LedgerEvent e)
    {
        json.WriteStartObject();
        if (e.Movement is { } m)
        {
            json.WriteString("transactionId", m.TransactionId);
            json.WriteString("movementType", m.Type.ToString().ToLowerInvariant());
            json.WriteString("walletId", m.WalletId);
            json.WriteString("direction", m.Amount < 0 ? "debit" : "credit");
            json.WriteNumber("amount", m.Amount);
            json.WriteString("currency", m.Currency);
            json.WriteNumber("sequence", m.Sequence);
            json.WriteNumber("balanceAfter", m.BalanceAfter);
            json.WriteString("counterpartyWalletId", m.CounterpartyWalletId);
            json.WriteString("idempotencyKey", m.IdempotencyKey);
            WriteOptional(json, "externalReference", m.ExternalReference);
            WriteOptional(json, "description", m.Description);
            WriteOptional(json, "initiatedBy", m.InitiatedBy);
            json.WriteStartObject("metadata");
            foreach (var (key, value) in m.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                json.WriteString(key, value);
            }
            json.WriteEndObject();
            json.WriteString("createdAt", m.CreatedAt.UtcDateTime);
        }
        else if (e.Customer is { } c)
        {
            json.WriteString("customerId", c.Id);
            json.WriteString("fullName", c.FullName);
            json.WriteString("email", c.Email);
            json.WriteString("phoneNumber", c.PhoneNumber);
            json.WriteString("country", c.Country);
            json.WriteString("defaultCurrency", c.DefaultCurrency);
            json.WriteString("status", c.Status.ToString().ToLowerInvariant());
            json.WriteStartArray("wallets");
            foreach (var w in c.Wallets)
            {
                json.WriteStartObject();
                json.WriteString("walletId", w.WalletId);
                json.WriteString("currency", w.Currency);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        else if (e.Wallet is { } w)
        {
            json.WriteString("walletId", w.Id);
            WriteOptional(json, "customerId", w.OwnerId);
            json.WriteString("currency", w.Currency);
            json.WriteString("status", w.Status.ToString().ToLowerInvariant());
            json.WriteNumber("balance", w.Balance);
            json.WriteNumber("sequence", w.Sequence);
        }
        json.WriteEndObject();
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

}
