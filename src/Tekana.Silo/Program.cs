using Tekana.Grains.Hosting;
using Tekana.ServiceDefaults;
using Tekana.ServiceDefaults.Health;
using Tekana.ServiceDefaults.Observability;

// A silo: grains on PostgreSQL, plus a small HTTP surface for operations (health, /metrics, the dashboard).
var builder = WebApplication.CreateBuilder(args);
builder.AddTekanaObservability("tekana-silo");
builder.UseOrleans(silo => silo.AddTekana(builder.Configuration).AddTekanaSiloHosting(builder.Configuration));
builder.Services.AddTekanaHealthChecks();

var app = builder.Build();
app.MapTekanaOperations();
app.Run();
