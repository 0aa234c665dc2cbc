using Tekana.Cli.Events;

// tekana events tail [--bootstrap host:port] [--topic NAME]... [--from-beginning] [--summary] [--max N]
return args switch
{
    ["events", "tail", .. var rest] => EventTail.Run(TailOptions.Parse(rest)),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: tekana events tail [--bootstrap HOST:PORT] [--topic NAME]... [--from-beginning] [--summary] [--max N]

          Prints Tekana's CloudEvents from Kafka, one JSON line each, de-duplicated by event id.
          --bootstrap       Kafka bootstrap servers (default: $Kafka__BootstrapServers or localhost:9092)
          --topic           topic to read; repeatable (default: tekana.customers, tekana.wallets, tekana.transactions)
          --from-beginning  start at the oldest retained event instead of the newest
          --summary         print per-type counts and per-currency money moved every 5 s instead of events
          --max N           stop after N distinct events
        """);
    return 2;
}
