namespace Tekana.Cli.Events;

public sealed record TailOptions(string Bootstrap, IReadOnlyList<string> Topics, bool FromBeginning, bool Summary, long? Max)
{
    public static readonly string[] DefaultTopics = ["tekana.customers", "tekana.wallets", "tekana.transactions"];

    public static TailOptions Parse(IReadOnlyList<string> args)
    {
        var bootstrap = Environment.GetEnvironmentVariable("Kafka__BootstrapServers") ?? "localhost:9092";
        var topics = new List<string>();
        bool fromBeginning = false, summary = false;
        long? max = null;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--bootstrap": bootstrap = Value(args, ++i); break;
                case "--topic": topics.Add(Value(args, ++i)); break;
                case "--from-beginning": fromBeginning = true; break;
                case "--summary": summary = true; break;
                case "--max": max = long.Parse(Value(args, ++i), System.Globalization.CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        return new TailOptions(bootstrap, topics.Count > 0 ? topics : DefaultTopics, fromBeginning, summary, max);
    }

    private static string Value(IReadOnlyList<string> args, int i) =>
        i < args.Count ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value");
}
